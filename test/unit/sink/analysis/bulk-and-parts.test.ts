/**
 * analyzeMessage's own decisions, one input at a time: what makes a message look like bulk mail
 * (each list and campaign header, Precedence, an unsubscribe word within the sampled text), which
 * parts a message has when mailparser succeeded and when it failed (then read from the raw
 * bytes, within MAX_RAW_BODY_SCAN_BYTES), and where the subject comes from.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import type { MessageAnalysis } from '../../../../src/protocol.ts';
import { MAX_HEADER_VALUE_CHARS } from '../../../../sink/analysis/headers.ts';
import {
  analyzeMessage,
  MAX_DKIM_SIGNATURES,
  MAX_RAW_BODY_SCAN_BYTES,
  type DkimResolver,
} from '../../../../sink/analysis/index.ts';
import type { ParsedBodies } from '../../../../sink/plain-text-parse.ts';

const NOW = () => new Date('2026-11-28T02:00:00Z');
const NO_DNS: DkimResolver = async () => {
  throw Object.assign(new Error('no DNS in tests'), { code: 'ENOTFOUND' });
};
const BASE = [
  'From: a@example.com',
  'To: b@example.com',
  'Date: Fri, 27 Nov 2026 10:00:00 +0000',
  'Message-ID: <1@example.com>',
];

function message(headers: readonly string[], body: string): Buffer {
  return Buffer.from(`${[...BASE, ...headers].join('\r\n')}\r\n\r\n${body}`);
}

const analyze = (raw: Buffer, parsed: ParsedBodies | null): Promise<MessageAnalysis> =>
  analyzeMessage(raw, parsed, { dkimResolver: NO_DNS, now: NOW });

const codes = (a: MessageAnalysis) => a.reasons.map((r) => r.code);

describe('analysis: what looks like bulk mail', () => {
  const bulky = async (headers: readonly string[], text = 'Hello there.') =>
    codes(
      await analyze(message(['Subject: Hi', ...headers], text), { text, subject: 'Hi' }),
    ).includes('no-list-unsubscribe');

  for (const header of [
    'List-Id: <weekly.example.com>',
    'Feedback-ID: 1:2:3:example',
    'X-Campaign-Id: 77',
    'X-Campaign: spring',
    'X-Mailer-Campaign: 9',
    'Precedence: bulk',
    'Precedence: LIST',
    'Precedence:  junk ',
  ])
    it(`${header.split(':')[0]} (${header}) without List-Unsubscribe is a reason`, async () => {
      assert.equal(await bulky([header]), true);
    });

  for (const header of [
    'Precedence: first-class',
    'Precedence: bulkier',
    'Precedence: not-bulk',
    'X-My-Campaign: 1',
    'X-Mailer: campaign-tool',
    'X-List-Id: 1',
    'X-Note: bulk',
  ])
    it(`${header} alone is not bulk`, async () => {
      assert.equal(await bulky([header]), false);
    });

  it('an unsubscribe word in the text or the HTML is bulk, within the sampled 64 KiB', async () => {
    assert.equal(await bulky([], 'To unsubscribe, reply.'), true);
    assert.equal(await bulky([], 'You are unsubscribed.'), false);
    assert.equal(await bulky([], `${'x '.repeat(40 * 1024)}unsubscribe`), false);
    const html = '<p><a href="https://example.com/u">Unsubscribe</a></p>';
    const a = await analyze(message(['Subject: Hi', 'Content-Type: text/html'], html), {
      html,
      subject: 'Hi',
    });
    assert.ok(codes(a).includes('no-list-unsubscribe'), codes(a).join());
    // The HTML is sampled the same way: a word past its first 64 KiB is not read.
    const late = `<p>${'x '.repeat(40 * 1024)}unsubscribe</p>`;
    const b = await analyze(message(['Subject: Hi', 'Content-Type: text/html'], late), {
      html: late,
      subject: 'Hi',
    });
    assert.ok(!codes(b).includes('no-list-unsubscribe'), codes(b).join());
  });

  it('a List-Unsubscribe header answers the bulk reason', async () => {
    assert.equal(
      await bulky(['List-Id: <w.example.com>', 'List-Unsubscribe: <https://example.com/u>']),
      false,
    );
  });
});

describe('analysis: parts when mailparser succeeded', () => {
  const parts = async (topType: string | null, body: string, parsed: ParsedBodies) => {
    const a = await analyze(
      message(['Subject: Hi', ...(topType === null ? [] : [`Content-Type: ${topType}`])], body),
      { subject: 'Hi', ...parsed },
    );
    return { hasText: a.hasText, hasHtml: a.hasHtml };
  };

  it('no Content-Type, an empty one or text/plain (any case) is a text part', async () => {
    assert.deepEqual(await parts(null, 'Hi', { text: 'Hi' }), { hasText: true, hasHtml: false });
    assert.deepEqual(await parts('', 'Hi', { text: 'Hi' }), { hasText: true, hasHtml: false });
    assert.deepEqual(await parts('TEXT/PLAIN; charset=utf-8', 'Hi', { text: 'Hi' }), {
      hasText: true,
      hasHtml: false,
    });
  });

  it('text that mailparser made from HTML is not a text part (text/html, or multipart without one)', async () => {
    assert.deepEqual(await parts('text/html', '<b>Hi</b>', { text: 'Hi', html: '<b>Hi</b>' }), {
      hasText: false,
      hasHtml: true,
    });
    const onlyHtml = '--b\r\nContent-Type: text/html\r\n\r\n<b>Hi</b>\r\n--b--\r\n';
    assert.deepEqual(
      await parts('multipart/alternative; boundary=b', onlyHtml, { text: 'Hi', html: '<b>Hi</b>' }),
      { hasText: false, hasHtml: true },
    );
  });

  it('a multipart message with a text/plain part header has text', async () => {
    for (const partHeader of ['Content-Type: text/plain', 'content-type:text/plain; charset=x'])
      assert.deepEqual(
        await parts(
          'multipart/alternative; boundary=b',
          `--b\r\n${partHeader}\r\n\r\nHi\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>Hi</b>\r\n--b--\r\n`,
          { text: 'Hi', html: '<b>Hi</b>' },
        ),
        { hasText: true, hasHtml: true },
        partHeader,
      );
    // Not at the start of a line: not a part header.
    assert.deepEqual(
      await parts('multipart/mixed; boundary=b', 'x Content-Type: text/plain\r\n', { text: 'x' }),
      { hasText: false, hasHtml: false },
    );
  });

  it('blank bodies are no part at all', async () => {
    assert.deepEqual(await parts(null, ' ', { text: ' \n', html: ' ' }), {
      hasText: false,
      hasHtml: false,
    });
    assert.deepEqual(await parts(null, '', { text: false, html: false }), {
      hasText: false,
      hasHtml: false,
    });
  });
});

describe('analysis: parts and subject when the MIME parse failed', () => {
  it('reads the top-level type: text/html is HTML only, none is text', async () => {
    const html = await analyze(
      message(['Subject: Hi', 'Content-Type: text/html'], '<b>Hi</b>'),
      null,
    );
    assert.deepEqual([html.hasText, html.hasHtml], [false, true]);
    const plain = await analyze(message(['Subject: Hi'], 'Hi'), null);
    assert.deepEqual([plain.hasText, plain.hasHtml], [true, false]);
  });

  it('finds part headers in the raw body', async () => {
    const body =
      '--b\r\nContent-Type:text/plain\r\n\r\nHi\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>Hi</b>\r\n';
    const a = await analyze(
      message(['Subject: Hi', 'Content-Type: multipart/alternative; boundary=b'], body),
      null,
    );
    assert.deepEqual([a.hasText, a.hasHtml], [true, true]);
    const none = await analyze(
      message(['Subject: Hi', 'Content-Type: multipart/mixed; boundary=b'], '--b\r\n\r\nx\r\n'),
      null,
    );
    assert.deepEqual([none.hasText, none.hasHtml], [false, false]);
  });

  it('scans at most MAX_RAW_BODY_SCAN_BYTES of the body, and says so', async () => {
    const within = 'a'.repeat(MAX_RAW_BODY_SCAN_BYTES);
    const exact = await analyze(message(['Subject: Hi'], within), null);
    assert.ok(!codes(exact).includes('analysis-truncated'), codes(exact).join());
    const over = await analyze(message(['Subject: Hi'], `${within}b`), null);
    assert.ok(codes(over).includes('analysis-truncated'), codes(over).join());
    // A part header past the scanned bytes is not seen.
    const late = await analyze(
      message(
        ['Subject: Hi', 'Content-Type: multipart/mixed; boundary=b'],
        `${within}\r\nContent-Type: text/html\r\n\r\n<b>x</b>`,
      ),
      null,
    );
    assert.equal(late.hasHtml, false);
  });

  it('a message that ends after its headers has empty bodies', async () => {
    const a = await analyze(Buffer.from(`${BASE.join('\r\n')}\r\nSubject: Hi\r\n\r\n`), null);
    assert.deepEqual([a.hasText, a.hasHtml], [false, false]);
    assert.ok(codes(a).includes('empty-body'), codes(a).join());
  });

  it('takes the subject from the raw header when mailparser gave none', async () => {
    const shouting = await analyze(message(['Subject: BUY NOW CHEAP PILLS'], 'Hi'), { text: 'Hi' });
    assert.ok(codes(shouting).includes('all-caps-subject'), codes(shouting).join());
    const none = await analyze(message([], 'Hi'), { text: 'Hi' });
    assert.ok(codes(none).includes('missing-subject'), codes(none).join());
  });
});

describe('analysis: an unexpected failure', () => {
  it('yields the conservative analysis with the error named, never a throw', async () => {
    const hostile = {
      get text(): string {
        throw new TypeError('boom');
      },
    };
    assert.deepEqual(await analyze(message(['Subject: Hi'], 'Hi'), hostile), {
      requiredHeaders: { from: false, date: false, messageId: false },
      listUnsubscribe: { present: false, oneClick: false, urls: [], mailto: [] },
      dkim: { result: 'permerror', signatures: [] },
      links: [],
      hasText: false,
      hasHtml: false,
      spamScore: 0,
      reasons: [{ code: 'analysis-truncated', score: 0, message: 'analysis failed: TypeError' }],
    });
    const notAnError = {
      get text(): string {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a hostile value, on purpose
        throw 'text';
      },
    };
    const a = await analyze(message([], 'Hi'), notAnError);
    assert.deepEqual(a.reasons, [
      { code: 'analysis-truncated', score: 0, message: 'analysis failed: error' },
    ]);
  });
});

describe('analysis: edges of the inputs to the spam signals', () => {
  it(`reads ${MAX_HEADER_VALUE_CHARS} characters of the subject`, async () => {
    const subjectOf = async (subject: string) =>
      codes(await analyze(message([], 'Hi'), { text: 'Hi', subject }));
    assert.ok(
      (await subjectOf(`${'a'.repeat(MAX_HEADER_VALUE_CHARS - 2)}!!`)).includes(
        'excessive-exclamation',
      ),
    );
    assert.ok(
      !(await subjectOf(`${'a'.repeat(MAX_HEADER_VALUE_CHARS)}!!`)).includes(
        'excessive-exclamation',
      ),
    );
  });

  it('reads the first 200 characters of the Date header', async () => {
    const dated = async (date: string) => {
      const raw = Buffer.from(
        `From: a@example.com\r\nDate: ${date}\r\nMessage-ID: <1@example.com>\r\nSubject: Hi\r\n\r\nHi`,
      );
      return codes(await analyze(raw, { text: 'Hi', subject: 'Hi' }));
    };
    const date = 'Fri, 27 Nov 2026 10:00:00 +0000';
    assert.ok((await dated(`${date} xyz`)).includes('invalid-date'));
    // Past the first 200 characters the same word is not read.
    assert.deepEqual(await dated(`${date}${' '.repeat(200)}xyz`), await dated(date));
  });

  it(`more than ${MAX_DKIM_SIGNATURES} DKIM signatures: the rest are not checked, and the analysis says so`, async () => {
    const sig = 'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AA==; b=AA==';
    const withSigs = async (n: number) =>
      codes(
        await analyze(message(['Subject: Hi', ...Array.from({ length: n }, () => sig)], 'Hi'), {
          text: 'Hi',
          subject: 'Hi',
        }),
      );
    assert.ok(!(await withSigs(MAX_DKIM_SIGNATURES)).includes('analysis-truncated'));
    assert.ok((await withSigs(MAX_DKIM_SIGNATURES + 1)).includes('analysis-truncated'));
  });
});

describe('analysis: parts read from the raw bytes, more edges', () => {
  it('a top-level type with parameters, parsed or not', async () => {
    const html = await analyze(
      message(['Subject: Hi', 'Content-Type: text/html; charset=utf-8'], '<b>Hi</b>'),
      null,
    );
    assert.deepEqual([html.hasText, html.hasHtml], [false, true]);
    const plain = await analyze(
      message(['Subject: Hi', 'Content-Type: text/plain; charset=utf-8'], 'Hi'),
      null,
    );
    assert.deepEqual([plain.hasText, plain.hasHtml], [true, false]);
  });

  it('a part header without a blank after the colon', async () => {
    const body = '--b\r\nContent-Type:text/html\r\n\r\n<b>Hi</b>\r\n--b--\r\n';
    const a = await analyze(
      message(['Subject: Hi', 'Content-Type: multipart/mixed; boundary=b'], body),
      null,
    );
    assert.deepEqual([a.hasText, a.hasHtml], [false, true]);
  });

  it('an HTML-only body is not read as text too: its links are the entity-decoded ones', async () => {
    const a = await analyze(
      message(['Subject: Hi', 'Content-Type: text/html'], '<p>https://a.example/?a=1&amp;b=2</p>'),
      null,
    );
    assert.deepEqual(a.links, ['https://a.example/?a=1&b=2']);
  });

  it('a single-part HTML message is not searched for part headers', async () => {
    const html = '<pre>\r\nContent-Type: text/plain\r\n</pre>';
    const a = await analyze(message(['Subject: Hi', 'Content-Type: text/html'], html), {
      text: 'Content-Type: text/plain',
      html,
      subject: 'Hi',
    });
    assert.deepEqual([a.hasText, a.hasHtml], [false, true]);
  });

  it("a text/plain part header past MAX_RAW_BODY_SCAN_BYTES is not seen, with mailparser's result too", async () => {
    const body = `${'a'.repeat(MAX_RAW_BODY_SCAN_BYTES)}\r\nContent-Type: text/plain\r\n\r\nx`;
    const a = await analyze(
      message(['Subject: Hi', 'Content-Type: multipart/mixed; boundary=b'], body),
      { text: 'x', subject: 'Hi' },
    );
    assert.equal(a.hasText, false);
  });
});
