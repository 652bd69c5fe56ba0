import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { headerText, requiredHeaders, splitMessage } from '../../../../sink/analysis/headers.ts';
import {
  decodeEntities,
  extractLinks,
  hostOf,
  MAX_LINK_CHARS,
  stripTags,
} from '../../../../sink/analysis/links.ts';
import {
  REASON_POINTS,
  spamSignals,
  type SignalInput,
} from '../../../../sink/analysis/spam-signals.ts';
import { analyzeListUnsubscribe } from '../../../../sink/analysis/unsubscribe.ts';

function headersOf(text: string) {
  return splitMessage(Buffer.from(`${text}\r\n\r\nbody`)).headers;
}

describe('analysis/headers', () => {
  it('splits fields, keeps folding in raw, unfolds values, finds the body offset', () => {
    const raw = Buffer.from('Subject: a\r\n b\r\nFrom: x@y\r\n\r\nBODY');
    const s = splitMessage(raw);
    assert.deepEqual(
      s.headers.map((h) => [h.key, h.value, h.raw]),
      [
        ['subject', 'a b', 'Subject: a\r\n b'],
        ['from', 'x@y', 'From: x@y'],
      ],
    );
    assert.equal(raw.subarray(s.bodyOffset).toString(), 'BODY');
  });

  it('accepts bare LF and headers without a body', () => {
    const s = splitMessage(Buffer.from('A: 1\nB: 2'));
    assert.equal(s.headers.length, 2);
    assert.equal(s.bodyOffset, 9);
  });

  it('ignores lines that are not fields', () => {
    assert.deepEqual(
      headersOf('garbage line\r\nX: 1\r\n: empty name\r\nbad name: 2').map((h) => h.key),
      ['x'],
    );
  });

  it('required headers must be present and non-empty', () => {
    assert.deepEqual(requiredHeaders(headersOf('From: a@b\r\nDate: \r\nMessage-ID: <x@y>')), {
      from: true,
      date: false,
      messageId: true,
    });
  });

  it('decodes RFC 2047 words and raw UTF-8', () => {
    assert.equal(headerText('=?UTF-8?B?SMOpbGxv?= =?utf-8?Q?_w=C3=B6rld?='), 'Héllo wörld');
    assert.equal(headerText(Buffer.from('Grüße', 'utf8').toString('latin1')), 'Grüße');
    assert.equal(headerText('=?koi8-r?B?abc?='), '=?koi8-r?B?abc?=');
  });
});

describe('analysis/unsubscribe', () => {
  it('reads URLs and mailto, and recognises RFC 8058 one-click', () => {
    const lu = analyzeListUnsubscribe(
      headersOf(
        'List-Unsubscribe: <mailto:u@x.example>,\r\n <https://x.example/u?id=1>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click',
      ),
    );
    assert.deepEqual(lu, {
      present: true,
      oneClick: true,
      urls: ['https://x.example/u?id=1'],
      mailto: ['mailto:u@x.example'],
      postHeader: true,
      postValid: true,
      hasHttps: true,
    });
  });

  it('one-click needs https and the exact Post value', () => {
    assert.equal(
      analyzeListUnsubscribe(
        headersOf(
          'List-Unsubscribe: <http://x.example/u>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click',
        ),
      ).oneClick,
      false,
    );
    const bad = analyzeListUnsubscribe(
      headersOf('List-Unsubscribe: <https://x.example/u>\r\nList-Unsubscribe-Post: yes please'),
    );
    assert.equal(bad.oneClick, false);
    assert.equal(bad.postValid, false);
  });

  it('no header, or no usable URI: not present', () => {
    assert.equal(analyzeListUnsubscribe(headersOf('X: 1')).present, false);
    assert.equal(
      analyzeListUnsubscribe(headersOf('List-Unsubscribe: just text, <javascript:alert(1)>'))
        .present,
      false,
    );
  });

  it('keeps at most 10 URIs', () => {
    const many = Array.from({ length: 50 }, (_v, i) => `<https://x.example/${i}>`).join(', ');
    assert.equal(analyzeListUnsubscribe(headersOf(`List-Unsubscribe: ${many}`)).urls.length, 10);
  });
});

describe('analysis/links', () => {
  it('extracts href targets (quoted, single-quoted, bare, entity-encoded) and bare URLs, de-duplicated in order', () => {
    const html = `<A HREF="https://a.example/1?x=1&amp;y=2">one</A> <a class=x href='https://a.example/2'>two</a>
      <a href=https://a.example/3>three</a> <a href="mailto:x@y">mail</a> <a name="top">anchor</a>
      text https://a.example/4. and (see https://a.example/5) <a href="https://a.example/1?x=1&y=2">dup</a>`;
    const scan = extractLinks('plain https://a.example/6, and https://a.example/4!', html);
    assert.deepEqual(scan.links, [
      'https://a.example/1?x=1&y=2',
      'https://a.example/2',
      'https://a.example/3',
      'https://a.example/4',
      'https://a.example/5',
      'https://a.example/6',
    ]);
    assert.equal(scan.truncated, false);
  });

  it('keeps a bracket that belongs to the URL', () => {
    assert.deepEqual(extractLinks('see https://en.example/wiki/Foo_(bar).', null).links, [
      'https://en.example/wiki/Foo_(bar)',
    ]);
  });

  it('spots anchor text showing another domain than the href', () => {
    const scan = extractLinks(
      null,
      '<a href="https://evil.example/x"><b>https://bank.example</b></a> <a href="https://www.bank.example/y">bank.example</a>',
    );
    assert.deepEqual(scan.mismatched, [
      { href: 'https://evil.example/x', text: 'https://bank.example' },
    ]);
  });

  it('cuts links at the length bound', () => {
    const long = `https://a.example/${'x'.repeat(5000)}`;
    for (const l of extractLinks(long, `<a href="${long}">x</a>`).links)
      assert.ok(l.length <= MAX_LINK_CHARS);
  });

  it('helpers: hostOf, decodeEntities, stripTags', () => {
    assert.equal(hostOf('https://user:pw@WWW.Example.com.:8080/p'), 'www.example.com');
    assert.equal(hostOf('https://[2001:db8::1]/'), '[2001:db8::1]');
    assert.equal(hostOf('ftp://x'), null);
    // As a browser reads them: out of range is U+FFFD, zero padding does not hide a character.
    assert.equal(
      decodeEntities('&lt;&#65;&#x42;&amp;&bogus;&#99999999;&#0000000000065;&#x0000000000043;'),
      '<AB&&bogus;\uFFFDAC',
    );
    assert.equal(stripTags('a<b>c</b>d<unterminated'), 'a c d');
  });
});

describe('analysis/spam-signals', () => {
  const base: SignalInput = {
    required: { from: true, date: true, messageId: true },
    subject: 'Your receipt',
    date: 'Sat, 28 Nov 2026 01:00:00 +0000',
    text: 'Thanks for your order.',
    html: null,
    hasText: true,
    hasHtml: false,
    links: [],
    mismatchedLinks: [],
    listUnsubscribe: {
      present: false,
      oneClick: false,
      urls: [],
      mailto: [],
      postHeader: false,
      postValid: false,
      hasHttps: false,
    },
    bulk: false,
    dkim: 'pass',
    oneClickDkimCovered: false,
    dkimBodyLength: false,
    parseError: false,
    truncated: false,
    now: new Date('2026-11-28T02:00:00Z'),
  };

  it('a plain, signed transactional message scores 0', () => {
    assert.deepEqual(spamSignals(base), { score: 0, reasons: [] });
  });

  it('each heuristic fires on its own', () => {
    const cases: Array<[Partial<SignalInput>, string]> = [
      [{ required: { from: false, date: true, messageId: true } }, 'missing-from'],
      [{ subject: '' }, 'missing-subject'],
      [{ subject: 'FINAL NOTICE ABOUT YOUR ACCOUNT' }, 'all-caps-subject'],
      [{ subject: 'Hello!!' }, 'excessive-exclamation'],
      [{ text: 'Act now, limited time' }, 'suspicious-phrases'],
      [{ links: ['https://bit.ly/abc'] }, 'url-shortener'],
      [{ links: ['http://192.0.2.1/x'] }, 'ip-address-link'],
      [{ bulk: true }, 'no-list-unsubscribe'],
      [{ text: '', html: '<p>x</p>', hasText: false, hasHtml: true }, 'html-only'],
      [{ text: null, hasText: false }, 'empty-body'],
      [{ dkim: 'fail' }, 'dkim-fail'],
      [{ dkim: 'none' }, 'no-dkim'],
      [{ parseError: true }, 'mime-parse-error'],
      [
        {
          listUnsubscribe: {
            ...base.listUnsubscribe,
            present: true,
            urls: ['http://x/u'],
            postHeader: true,
            postValid: true,
          },
        },
        'one-click-not-https',
      ],
      [
        { listUnsubscribe: { ...base.listUnsubscribe, postHeader: true, postValid: false } },
        'one-click-incomplete',
      ],
    ];
    for (const [patch, code] of cases) {
      const codes = spamSignals({ ...base, ...patch }).reasons.map((r) => r.code);
      assert.deepEqual(codes, [code], `${code}: got ${codes.join(',')}`);
    }
  });

  it('mixed-case subjects and short shouting are not all-caps', () => {
    assert.equal(spamSignals({ ...base, subject: 'NEW: your invoice' }).reasons.length, 0);
    assert.equal(spamSignals({ ...base, subject: 'OK 123' }).reasons.length, 0);
  });

  it('phrase points are capped', () => {
    const r = spamSignals({
      ...base,
      text: 'act now limited time click here buy now winner urgent guaranteed miracle',
    });
    assert.equal(r.reasons[0].score, 3);
  });
});

describe('analysis docs', () => {
  it('documents every reason code with its points', () => {
    const readme = readFileSync(new URL('../../../../docs/analysis.md', import.meta.url), 'utf8');
    for (const [code, points] of Object.entries(REASON_POINTS)) {
      const row = new RegExp(`^\\| \`${code}\` \\| ${String(points).replace('.', '\\.')}[ |]`, 'm');
      assert.match(readme, row, code);
    }
  });
});
