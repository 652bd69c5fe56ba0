import assert from 'node:assert/strict';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { MessageAnalysis } from '../../../../src/protocol.ts';
import { MAX_HEADER_FIELDS } from '../../../../sink/analysis/headers.ts';
import {
  analyzeMessage,
  MAX_LINKS,
  REASON_POINTS,
  type DkimResolver,
} from '../../../../sink/analysis/index.ts';
import { fixture, keyRecord, mapResolver, rsaKey, sign, type TestKey } from './dkim-helpers.ts';

const NOW = () => new Date('2026-11-28T02:00:00Z');
const NO_DNS: DkimResolver = async () => {
  throw Object.assign(new Error('no DNS in tests'), { code: 'ENOTFOUND' });
};

function codes(a: MessageAnalysis): string[] {
  return a.reasons.map((r) => r.code);
}

async function analyze(
  raw: Buffer,
  resolver: DkimResolver = NO_DNS,
  parse = true,
): Promise<MessageAnalysis> {
  const parsed: ParsedMail | null = parse ? await simpleParser(raw) : null;
  return analyzeMessage(raw, parsed, { dkimResolver: resolver, now: NOW });
}

describe('analysis/analyzeMessage', () => {
  let key: TestKey;
  before(() => {
    key = rsaKey(2048);
  });

  it('newsletter with one-click unsubscribe, DKIM-signed over both list headers: clean', async () => {
    const signed = await sign(fixture('newsletter-one-click.eml'), key, {
      headerList: [
        'from',
        'to',
        'subject',
        'date',
        'message-id',
        'list-id',
        'list-unsubscribe',
        'list-unsubscribe-post',
      ],
    });
    const a = await analyze(signed, mapResolver({ 'test._domainkey.example.com': keyRecord(key) }));
    assert.deepEqual(a.requiredHeaders, { from: true, date: true, messageId: true });
    assert.deepEqual(a.listUnsubscribe, {
      present: true,
      oneClick: true,
      urls: ['https://example.com/unsubscribe?u=42&l=weekly'],
      mailto: ['mailto:unsubscribe@example.com?subject=unsubscribe'],
      oneClickDkimCovered: true,
    });
    assert.equal(a.dkim.result, 'pass');
    assert.deepEqual(a.links, [
      'https://example.com/articles/1',
      'https://example.com/articles/2',
      'https://example.com/articles/3',
      'https://example.com/unsubscribe?u=42&l=weekly',
    ]);
    assert.equal(a.hasText, true);
    assert.equal(a.hasHtml, true);
    assert.deepEqual(a.reasons, []);
    assert.equal(a.spamScore, 0);
  });

  it('the same newsletter unsigned: one-click is noted as not DKIM-covered, and the message as unsigned', async () => {
    const a = await analyze(fixture('newsletter-one-click.eml'));
    assert.equal(a.listUnsubscribe.oneClick, true);
    assert.equal(a.listUnsubscribe.oneClickDkimCovered, false);
    assert.equal(a.dkim.result, 'none');
    assert.deepEqual(codes(a), ['one-click-not-dkim-covered', 'no-dkim']);
    assert.equal(
      a.spamScore,
      REASON_POINTS['one-click-not-dkim-covered'] + REASON_POINTS['no-dkim'],
    );
  });

  it('signed without the List-Unsubscribe-Post header in h=: not DKIM-covered', async () => {
    const signed = await sign(fixture('newsletter-one-click.eml'), key, {
      headerList: ['from', 'subject', 'list-unsubscribe'],
    });
    const a = await analyze(signed, mapResolver({ 'test._domainkey.example.com': keyRecord(key) }));
    assert.equal(a.dkim.result, 'pass');
    assert.equal(a.listUnsubscribe.oneClickDkimCovered, false);
    assert.deepEqual(codes(a), ['one-click-not-dkim-covered']);
  });

  it('missing From, Date and Message-ID are each a reason', async () => {
    const a = await analyze(fixture('missing-headers.eml'));
    assert.deepEqual(a.requiredHeaders, { from: false, date: false, messageId: false });
    assert.deepEqual(codes(a).slice(0, 3), ['missing-from', 'missing-date', 'missing-message-id']);
    assert.deepEqual(a.links, ['http://example.net/path']);
    assert.equal(a.hasText, true);
    assert.equal(a.hasHtml, false);
  });

  it('html-only spammy mail collects the expected reasons and a high score', async () => {
    const a = await analyze(fixture('html-only-spammy.eml'));
    const c = codes(a);
    for (const expected of [
      'html-only',
      'all-caps-subject',
      'excessive-exclamation',
      'suspicious-phrases',
      'url-shortener',
      'ip-address-link',
      'mismatched-link-text',
      'no-list-unsubscribe',
      'no-dkim',
    ]) {
      assert.ok(c.includes(expected), `${expected} in ${c.join(',')}`);
    }
    assert.equal(a.hasText, false);
    assert.equal(a.hasHtml, true);
    assert.ok(a.spamScore >= 8, String(a.spamScore));
    const mismatch = a.reasons.find((r) => r.code === 'mismatched-link-text');
    assert.match(mismatch?.message ?? '', /www\.yourbank\.com.*203\.0\.113\.7/);
    assert.ok(a.links.includes('http://bit.ly/3xYz'));
  });

  it('broken MIME with parsed=null: headers, parts and links are read from the raw bytes', async () => {
    const a = await analyze(fixture('broken-mime.eml'), NO_DNS, false);
    assert.deepEqual(a.requiredHeaders, { from: true, date: true, messageId: true });
    assert.equal(a.hasHtml, true);
    assert.equal(a.hasText, true);
    assert.ok(a.links.includes('https://example.com/raw-link'));
    assert.ok(a.links.includes('https://example.com/in-raw-html'));
    assert.ok(codes(a).includes('mime-parse-error'));
  });

  it('the score is the sum of the reasons, and each reason scores its documented points', async () => {
    for (const name of ['missing-headers.eml', 'html-only-spammy.eml', 'broken-mime.eml']) {
      const a = await analyze(fixture(name));
      const sum = Math.round(a.reasons.reduce((s, r) => s + r.score, 0) * 10) / 10;
      assert.equal(a.spamScore, sum, name);
      for (const r of a.reasons) {
        if (r.code !== 'suspicious-phrases')
          assert.equal(r.score, REASON_POINTS[r.code as keyof typeof REASON_POINTS], r.code);
      }
    }
  });

  it('future and invalid Date headers are flagged against the injected clock', async () => {
    const base = 'From: a@example.com\r\nMessage-ID: <d@example.com>\r\nSubject: date test\r\n';
    const future = await analyze(
      Buffer.from(`${base}Date: Mon, 1 Jan 2029 00:00:00 +0000\r\n\r\nhello\r\n`),
    );
    assert.ok(codes(future).includes('future-date'));
    const invalid = await analyze(Buffer.from(`${base}Date: yesterday-ish\r\n\r\nhello\r\n`));
    assert.ok(codes(invalid).includes('invalid-date'));
  });

  describe('hostile input never throws and stays bounded', function () {
    this.timeout(20_000); // the machines are shared; these inputs are large on purpose
    it(`100,000 links: at most ${MAX_LINKS} kept, marked truncated`, async () => {
      const lines: string[] = [];
      for (let i = 0; i < 100_000; i++)
        lines.push(`<a href="https://example.com/l/${i}">https://example.com/l/${i}</a>`);
      const html = lines.join('\r\n');
      const raw = Buffer.from(
        `From: a@example.com\r\nDate: Sat, 28 Nov 2026 01:00:00 +0000\r\nMessage-ID: <l@example.com>\r\nSubject: links\r\nContent-Type: text/html\r\n\r\n${html}\r\n`,
      );
      // What mailparser returns for this message, without spending seconds in mailparser itself.
      const parsed = {
        html,
        text: html.replace(/<[^>]*>/g, ''),
        subject: 'links',
      } as unknown as ParsedMail;
      const a = await analyzeMessage(raw, parsed, { dkimResolver: NO_DNS, now: NOW });
      assert.equal(a.links.length, MAX_LINKS);
      assert.equal(new Set(a.links).size, MAX_LINKS);
      assert.ok(codes(a).includes('analysis-truncated'));
    });

    it(`${MAX_HEADER_FIELDS + 5000} headers and a 1 MB header value`, async () => {
      const many = Array.from({ length: MAX_HEADER_FIELDS + 5000 }, (_v, i) => `X-H${i}: v`).join(
        '\r\n',
      );
      const raw = Buffer.from(
        `From: a@example.com\r\nSubject: ${'A'.repeat(1_000_000)}\r\n${many}\r\n\r\nbody\r\n`,
      );
      const a = await analyze(raw, NO_DNS, false);
      assert.equal(a.requiredHeaders.from, true);
      assert.ok(codes(a).includes('analysis-truncated'));
      assert.ok(codes(a).includes('all-caps-subject'));
    });

    it('pathological HTML (unterminated tags, nested anchors, tagless runs of <) and a huge bare URL', async () => {
      const html = `${'<a '.repeat(200_000)}${'<'.repeat(500_000)}<a href="${'x'.repeat(100_000)}">t</a> https://e.com/${'y'.repeat(50_000)}`;
      const raw = Buffer.from(`From: a@example.com\r\nContent-Type: text/html\r\n\r\n${html}`);
      const a = await analyze(raw, NO_DNS, false);
      for (const l of a.links) assert.ok(l.length <= 2048);
      assert.equal(
        a.reasons.find((r) => r.message.startsWith('analysis failed')),
        undefined,
      );
      assert.equal(a.hasHtml, true);
    });

    it('garbage bytes, NUL bytes, no header/body separator, empty input', async () => {
      const inputs = [
        Buffer.alloc(0),
        Buffer.from('\r\n\r\n'),
        Buffer.from('no colon here\r\nstill none'),
        Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10, 0, 0]),
        Buffer.from(
          'From: a@example.com\nDKIM-Signature: v=1; a=rsa-sha256; b=; bh=; d=; s=; h=\n\n\0\0\0',
        ),
        Buffer.from('Subject: =?utf-8?B?!!!?= =?x-unknown?Q?abc?=\r\n\r\n'),
      ];
      for (const raw of inputs) {
        const a = await analyzeMessage(raw, null, { dkimResolver: NO_DNS, now: NOW });
        assert.equal(typeof a.spamScore, 'number');
        assert.equal(
          a.reasons.find((r) => r.message.startsWith('analysis failed')),
          undefined,
          'no internal exception',
        );
      }
    });

    it('500 seeded random mutations of the fixtures (signed and unsigned) all yield an analysis', async () => {
      let seed = 0x2f6b1d;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff; // deterministic LCG: failures reproduce
        return seed % n;
      };
      const signed = await sign(fixture('newsletter-one-click.eml'), key);
      const resolver = mapResolver({ 'test._domainkey.example.com': keyRecord(key) });
      const bases = [
        signed,
        fixture('html-only-spammy.eml'),
        fixture('broken-mime.eml'),
        fixture('missing-headers.eml'),
      ];
      const alphabet = Buffer.from('\r\n\0<>="\';:=?!. \tahttps://@\xff');
      for (let i = 0; i < 500; i++) {
        const buf = Buffer.from(bases[i % bases.length]);
        for (let k = rand(20) + 1; k > 0; k--)
          buf[rand(buf.length)] = alphabet[rand(alphabet.length)];
        const cut = rand(4) === 0 ? buf.subarray(0, rand(buf.length)) : buf;
        const parsed = i % 10 === 0 ? await simpleParser(cut).catch(() => null) : null;
        const a = await analyzeMessage(cut, parsed, { dkimResolver: resolver, now: NOW });
        assert.equal(typeof a.spamScore, 'number', `mutation ${i}`);
        assert.equal(
          a.reasons.find((r) => r.message.startsWith('analysis failed')),
          undefined,
          `mutation ${i} hit the fallback`,
        );
        assert.ok(
          ['pass', 'fail', 'neutral', 'none', 'temperror', 'permerror'].includes(a.dkim.result),
        );
      }
    });

    it('a resolver that throws synchronously or returns junk is contained', async () => {
      const signed = await sign(fixture('newsletter-one-click.eml'), key);
      const throwing = (() => {
        throw new Error('boom');
      }) as unknown as DkimResolver;
      const junk = (async () => [[42], null, 'x']) as unknown as DkimResolver;
      for (const resolver of [throwing, junk]) {
        const a = await analyzeMessage(signed, null, { dkimResolver: resolver, now: NOW });
        assert.ok(['temperror', 'permerror'].includes(a.dkim.result), a.dkim.result);
      }
    });
  });
});

describe('analysis/analyzeMessage: what counts from a failing signature', () => {
  it('a signature over both list headers that fails does not DKIM-cover one-click', async () => {
    const signer = rsaKey(2048);
    const other = rsaKey(2048);
    const signed = await sign(fixture('newsletter-one-click.eml'), signer, {
      headerList: ['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post'],
    });
    // Published key is another one: the signature is read (h= and all) but does not verify.
    const a = await analyze(
      signed,
      mapResolver({ 'test._domainkey.example.com': keyRecord(other) }),
    );
    assert.equal(a.dkim.result, 'fail');
    assert.deepEqual([...(a.dkim.signatures[0]?.signedHeaders ?? [])].sort(), [
      'from',
      'list-unsubscribe',
      'list-unsubscribe-post',
      'subject',
    ]);
    assert.equal(a.listUnsubscribe.oneClickDkimCovered, false);
    assert.ok(codes(a).includes('one-click-not-dkim-covered'), codes(a).join());
  });
});
