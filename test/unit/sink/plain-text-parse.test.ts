/**
 * The plain-text fast path (sink/plain-text-parse.ts) against mailparser:
 * on generated messages, whenever the fast path answers, its text, HTML and
 * subject are mailparser's, and so is the whole analysis built on them; and
 * it does answer for the common single-part shapes (else it would save nothing).
 */
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { analyzeMessage } from '../../../sink/analysis/index.ts';
import {
  MAX_PLAIN_FAST_BYTES,
  type ParsedBodies,
  parsePlainText,
} from '../../../sink/plain-text-parse.ts';

const NOW = () => new Date('2026-01-01T00:00:00Z');
const OPTIONS = { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true };

const SUBJECTS = [
  null,
  'hello',
  '  spaced   out  ',
  'a =?b',
  '=?utf-8?q?caf=C3=A9?=',
  'h\u00e9llo',
  'folded\r\n line',
  '',
];
const TYPES = [
  null,
  'text/plain',
  'text/plain; charset=utf-8',
  'text/plain; charset="UTF-8"',
  'TEXT/PLAIN;charset=us-ascii',
  'text/plain; format=flowed',
  'text/html',
  'text/plain; charset=iso-8859-1',
  'multipart/alternative; boundary=x',
  'multipart/mixed; boundary=x',
];
const ENCODINGS = [null, '7bit', '8BIT', 'quoted-printable', 'base64'];
const BODIES = [
  '',
  'line\r\n',
  'a\r\nb',
  'a\nb\n',
  'a\rb\r\n',
  'h\u00e9llo w\u00f6rld\r\n',
  '\r\n\r\nx\r\n\r\n\r\n',
  '\tindented  \r\ntrailing   \r\n',
  'caf=C3=A9 =\r\nsoft\r\n',
  'nul\u0000byte\r\n',
  `${'long '.repeat(300)}\r\n`,
  '.\r\n..dot\r\nVisit https://example.com/x?a=1 now!!!\r\n',
  'aGVsbG8=\r\n',
  '--x\r\nContent-Type: text/plain\r\n\r\npart\r\n--x--\r\n',
];
const EXTRA = [
  '',
  'MIME-Version: 1.0\r\n',
  'Content-Disposition: attachment; filename=a.txt\r\n',
  'X-Folded: a\r\n b\r\n',
  'Content-Language: en\r\n',
];

function build(c: { s: number; t: number; e: number; b: number; x: number }): Buffer {
  let head =
    'From: a@example.com\r\nTo: b@example.com\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n';
  const subject = SUBJECTS[c.s];
  if (subject !== null) head += `Subject: ${subject}\r\n`;
  const type = TYPES[c.t];
  if (type !== null) head += `Content-Type: ${type}\r\n`;
  const enc = ENCODINGS[c.e];
  if (enc !== null) head += `Content-Transfer-Encoding: ${enc}\r\n`;
  head += EXTRA[c.x];
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(BODIES[c.b], 'utf8')]);
}

/** A deterministic sample of the combinations (mailparser is too slow for all 25,000 in a unit test). */
function* cases(): Generator<{ s: number; t: number; e: number; b: number; x: number }> {
  let seed = 13;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  // Every body and subject with the plain headers, then a random sample of the rest.
  for (let b = 0; b < BODIES.length; b++)
    for (const t of [0, 1, 2])
      for (let s = 0; s < SUBJECTS.length; s++) yield { s, t, e: 0, b, x: 0 };
  for (let i = 0; i < 1500; i++)
    yield {
      s: next(SUBJECTS.length),
      t: next(TYPES.length),
      e: next(ENCODINGS.length),
      b: next(BODIES.length),
      x: next(EXTRA.length),
    };
}

describe("sink: the plain-text fast path gives mailparser's result", function () {
  this.timeout(60_000);

  it('equal text, HTML and subject wherever it answers, and the same analysis', async () => {
    let answered = 0;
    let total = 0;
    for (const c of cases()) {
      total++;
      const raw = build(c);
      const fast = parsePlainText(raw);
      if (fast === null) continue;
      answered++;
      const slow = await simpleParser(raw, OPTIONS);
      const label = JSON.stringify(raw.toString('latin1').slice(0, 300));
      assert.deepEqual(
        { text: fast.text, html: fast.html, subject: fast.subject },
        { text: slow.text, html: slow.html, subject: slow.subject },
        label,
      );
      assert.deepEqual(
        await analyzeMessage(raw, fast, { now: NOW }),
        await analyzeMessage(raw, slow, { now: NOW }),
        label,
      );
    }
    // The common shapes take the fast path: every body without a stray CR, in ASCII or declared UTF-8.
    assert.ok(answered >= 100, `${answered} of ${total} answered`);
  });

  it("nodemailer's text + HTML messages (quoted-printable, base64, 7bit): mailparser's result, and most take the fast path", async () => {
    const transport = nodemailer.createTransport({
      streamTransport: true,
      buffer: true,
      newline: 'windows',
    });
    const TEXTS = [
      'Hello',
      'Hello caf\u00e9\nline two  \n\n',
      'x=y and a very long line '.repeat(20),
      'trailing tab\t\nend',
      '\u65e5\u672c\u8a9e '.repeat(30),
      'dots\n.\n..\n',
    ];
    const HTMLS = [
      undefined,
      '<p>Hello <b>caf\u00e9</b></p>\r\n<p>x=y</p>\n',
      `<table>${'<tr><td>cell</td></tr>'.repeat(40)}</table>`,
      '<p>\u65e5\u672c\u8a9e</p>',
    ];
    let answered = 0;
    let total = 0;
    for (const text of TEXTS)
      for (const html of HTMLS)
        for (const textEncoding of [undefined, 'quoted-printable', 'base64'] as const) {
          const info = await transport.sendMail({
            from: 'a@example.com',
            to: 'b@example.com',
            subject: 'Order 7 shipped',
            text,
            ...(html !== undefined ? { html } : {}),
            ...(textEncoding ? { textEncoding } : {}),
          });
          const raw = info.message as Buffer;
          total++;
          const fast = parsePlainText(raw);
          if (fast === null) continue;
          answered++;
          const slow = await simpleParser(raw, OPTIONS);
          const label = raw.toString('latin1').slice(0, 600);
          assert.deepEqual(
            { text: fast.text, html: fast.html, subject: fast.subject },
            { text: slow.text, html: slow.html, subject: slow.subject },
            label,
          );
          assert.deepEqual(
            await analyzeMessage(raw, fast, { now: NOW }),
            await analyzeMessage(raw, slow, { now: NOW }),
            label,
          );
        }
    assert.ok(answered >= total * 0.9, `${answered} of ${total} answered`);
  });

  it("hand-made multipart edge cases: mailparser's result wherever it answers", async () => {
    const head =
      'From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b1"\r\n\r\n';
    const bodies = [
      'preamble text\r\n--b1\r\nContent-Type: text/plain\r\n\r\nt\r\n--b1--\r\nepilogue\r\n',
      '--b1\r\n\r\nheaderless\r\n--b1--',
      '--b1\r\nContent-Type: text/plain\r\n\r\n\r\n--b1--\r\n',
      '--b1\r\nContent-Type: text/html\r\n\r\n<p>h</p>\r\n--b1\r\nContent-Type: text/plain\r\n\r\nt\r\n--b1--\r\n',
      '--b1 \r\nContent-Type: text/plain\r\n\r\nt\r\n--b1--\r\n',
      '--b1\r\nContent-Type: text/plain\r\n\r\nt\r\n--b1x\r\nmore\r\n--b1--\r\n',
      '--b1\r\nContent-Type: text/plain\r\n\r\nt\r\n',
      '--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=\r\nb =3D c  \r\n=E2=82=AC\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=E2=82=AC</p>=\r\n\r\n--b1--\r\n',
      '--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbad =ZZ\r\n--b1--\r\n',
      '--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nt\r\n--b1--\r\n',
      '--b1\r\nContent-Type: text/plain\r\n\r\nt\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>h</p>\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>2</p>\r\n--b1--\r\n',
    ];
    let answered = 0;
    for (const body of bodies) {
      const raw = Buffer.from(head + body, 'utf8');
      const fast = parsePlainText(raw);
      if (fast === null) continue;
      answered++;
      const slow = await simpleParser(raw, OPTIONS);
      assert.deepEqual(
        { text: fast.text, html: fast.html, subject: fast.subject },
        { text: slow.text, html: slow.html, subject: slow.subject },
        JSON.stringify(body),
      );
    }
    assert.ok(answered >= 3, `${answered} answered`);
  });

  it('answers for the plain shapes and declines the others', () => {
    const plain = build({ s: 1, t: 0, e: 0, b: 1, x: 0 });
    assert.deepEqual(parsePlainText(plain), { text: 'line\n', html: false, subject: 'hello' });
    assert.deepEqual(
      parsePlainText(build({ s: 1, t: 8, e: 0, b: 13, x: 0 })),
      { text: 'part', html: false, subject: 'hello' },
      'multipart/alternative with one text part',
    );
    assert.equal(parsePlainText(build({ s: 1, t: 9, e: 0, b: 13, x: 0 })), null, 'multipart/mixed');
    assert.deepEqual(
      parsePlainText(build({ s: 1, t: 2, e: 3, b: 8, x: 0 })),
      { text: 'caf\u00e9 soft\n', html: false, subject: 'hello' },
      'quoted-printable',
    );
    assert.equal(
      parsePlainText(build({ s: 1, t: 0, e: 0, b: 5, x: 0 })),
      null,
      'UTF-8 without charset',
    );
    assert.equal(parsePlainText(build({ s: 1, t: 0, e: 0, b: 4, x: 0 })), null, 'a lone CR');
    assert.equal(parsePlainText(build({ s: 4, t: 0, e: 0, b: 1, x: 0 })), null, 'encoded word');
    assert.equal(parsePlainText(build({ s: 1, t: 0, e: 0, b: 1, x: 2 })), null, 'disposition');
  });
});

/** A message from a From field, these header lines and a body (CRLF after each line and the blank line). */
function msg(headers: readonly string[], body: string | Buffer): Buffer {
  const lines = ['From: a@example.com', ...headers];
  const head = Buffer.from(lines.map((h) => `${h}\r\n`).join('') + '\r\n', 'latin1');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

const TEXT_PART = 'Content-Type: text/plain\r\n\r\nt';
const HTML_PART = 'Content-Type: text/html\r\n\r\n<p>h</p>';
/** A multipart/alternative body: the parts between `--b` delimiters, closed by `--b--`. */
function alt(boundary: string, ...parts: string[]): string {
  return `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`;
}
/** multipart/alternative with this Content-Type value and a text part delimited by `boundary`. */
function altWith(contentType: string, boundary: string): Buffer {
  return msg([`Content-Type: ${contentType}`], alt(boundary, TEXT_PART));
}
function qp(body: string): Buffer {
  return msg(['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable'], body);
}
function b64(body: string, type = 'text/plain'): Buffer {
  return msg([`Content-Type: ${type}`, 'Content-Transfer-Encoding: base64'], body);
}

describe('sink: the plain-text fast path, shape by shape', function () {
  this.timeout(60_000);

  /** [what, message, the exact result (null: declined, left to mailparser)]. */
  const CASES: [string, Buffer, ParsedBodies | null][] = [
    // Content-Type parameters
    [
      'a space before the ;',
      msg(['Content-Type: text/plain ; charset=utf-8'], 'caf\u00e9'),
      { text: 'caf\u00e9', html: false },
    ],
    ['an empty parameter', msg(['Content-Type: text/plain;'], 'x'), { text: 'x', html: false }],
    [
      'a parameter name in capitals, spaces around =',
      msg(['Content-Type: text/plain; Charset = "UTF-8"'], 'caf\u00e9'),
      { text: 'caf\u00e9', html: false },
    ],
    [
      'charset=us-ascii',
      msg(['Content-Type: text/plain; charset=us-ascii'], 'x'),
      { text: 'x', html: false },
    ],
    ['charset=iso-8859-1', msg(['Content-Type: text/plain; charset=iso-8859-1'], 'x'), null],
    ['an unknown parameter', msg(['Content-Type: text/plain; delsp=utf-8'], 'x'), null],
    [
      'a boundary on text/plain',
      msg(['Content-Type: text/plain; boundary=b'], alt('b', TEXT_PART)),
      null,
    ],
    ['a parameter without =', altWith('multipart/alternative; boundaryb', 'boundaryb'), null],
    [
      'a charset on multipart',
      altWith('multipart/alternative; boundary=b; charset=utf-8', 'b'),
      null,
    ],
    [
      'multipart without boundary',
      msg(['Content-Type: multipart/alternative'], alt('null', TEXT_PART)),
      null,
    ],
    ['an empty boundary', altWith('multipart/alternative; boundary=', ''), null],
    [
      'a boundary with a quote at its end',
      altWith('multipart/alternative; boundary=abc"', 'bc'),
      null,
    ],
    [
      'a boundary with a quote at its start',
      altWith('multipart/alternative; boundary="abc', 'ab'),
      null,
    ],
    [
      'a quoted boundary',
      altWith('multipart/alternative; boundary="a b"', 'a b'),
      { text: 't', html: false },
    ],
    [
      'a boundary of 70 characters',
      altWith(`multipart/alternative; boundary=${'b'.repeat(70)}`, 'b'.repeat(70)),
      { text: 't', html: false },
    ],
    [
      'a boundary of 71 characters',
      altWith(`multipart/alternative; boundary=${'b'.repeat(71)}`, 'b'.repeat(71)),
      null,
    ],
    [
      'a boundary with a space at its start',
      altWith('multipart/alternative; boundary=" b"', ' b'),
      null,
    ],
    [
      'a boundary with a tab inside',
      altWith('multipart/alternative; boundary="a\tb"', 'a\tb'),
      null,
    ],
    ['a boundary with a quote inside', altWith('multipart/alternative; boundary=a"b', 'a"b'), null],
    [
      'an unknown parameter on multipart',
      altWith('multipart/alternative; boundary=b; x=c', 'c'),
      null,
    ],
    // Header fields
    ['no header at all', Buffer.from('\r\nbody\r\n'), null],
    [
      'too many header fields',
      msg(
        Array.from({ length: 20_001 }, (_, i) => `X-H${i}: v`),
        'x',
      ),
      null,
    ],
    ['two Content-Types', msg(['Content-Type: text/plain', 'Content-Type: text/plain'], 'x'), null],
    [
      'two Content-Transfer-Encodings',
      msg(['Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: 7bit'], 'x'),
      null,
    ],
    [
      '8bit',
      msg(
        ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'],
        'caf\u00e9',
      ),
      { text: 'caf\u00e9', html: false },
    ],
    ['two Subjects', msg(['Subject: a', 'Subject: b'], 'x'), null],
    ['a folded Subject', msg(['Subject: a\r\n b'], 'x'), null],
    ['a non-ASCII Subject', msg(['Subject: h\u00e9llo'], 'x'), null],
    ['a Subject with ~', msg(['Subject: a~b'], 'x'), { text: 'x', html: false, subject: 'a~b' }],
    ['no Subject', msg(['From: a@example.com'], 'x'), { text: 'x', html: false }],
    [
      'multipart in quoted-printable',
      msg(
        [
          'Content-Type: multipart/alternative; boundary=b',
          'Content-Transfer-Encoding: quoted-printable',
        ],
        alt('b', TEXT_PART),
      ),
      null,
    ],
    ['a header block ending with CRLF LF', Buffer.from('Subject: s\r\n\nbody'), null],
    ['a tab in the Subject', msg(['Subject: a\tb'], 'x'), null],
    // Line ends
    ['a bare LF in the body', msg([], 'a\nb'), null],
    ['a body starting with a bare LF', msg([], '\nab'), null],
    ['a body in quoted-printable starting with a lone CR', qp('\rabc'), null],
    // Quoted-printable
    ['hex digits in both cases', qp('=3a=3f=3A=3F=30=39=09.'), { text: ':?:?09\t.', html: false }],
    ['=3: (not hex)', qp('a=3:b'), null],
    ['=3g (not hex)', qp('a=3gb'), null],
    ['=G0 (not hex)', qp('a=G0b'), null],
    ['= and one digit at the end of a line', qp('a=4\r\nb'), null],
    ['trailing spaces and tabs', qp('x \t\r\ny\t\r\nz'), { text: 'x\ny\nz', html: false }],
    ['a body starting with CRLF', qp('\r\nx  \r\ny'), { text: '\nx\ny', html: false }],
    [
      'a bad first digit that would make a UTF-8 lead byte',
      msg(
        ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
        '=G0=9F=98=80',
      ),
      null,
    ],
    [
      'a bad second digit that would make a UTF-8 lead byte',
      msg(
        ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
        '=FG=BB=BF',
      ),
      null,
    ],
    // Base64
    ['base64 with a character outside the alphabet', b64('QU!D'), null],
    ['base64 with a bad character first', b64('!UJD'), null],
    ['base64 not a multiple of 4', b64('QUJ'), null],
    ['base64 decoding to a lone CR first', b64('DXg='), null],
    ['base64 decoding to a lone CR inside', b64('eA14'), null],
    // Charsets
    ['DEL in ASCII', msg([], 'a\u007fb'), { text: 'a\u007fb', html: false }],
    [
      'invalid UTF-8',
      msg(['Content-Type: text/plain; charset=utf-8'], Buffer.from([0x61, 0xff])),
      null,
    ],
    // multipart/alternative layouts
    [
      'a preamble with a bare LF',
      msg(
        ['Content-Type: multipart/alternative; boundary=b'],
        `pre\namble\r\n${alt('b', TEXT_PART)}`,
      ),
      null,
    ],
    [
      'a body starting with a blank line',
      msg(['Content-Type: multipart/alternative; boundary=b'], `\r\n${alt('b', TEXT_PART)}`),
      { text: 't', html: false },
    ],
    [
      'a line that only looks like a delimiter',
      msg(['Content-Type: multipart/alternative; boundary=b'], `--bX\r\n${TEXT_PART}\r\n--b--\r\n`),
      null,
    ],
    [
      'a part whose first line is folded',
      msg(
        ['Content-Type: multipart/alternative; boundary=b'],
        alt('b', ' Content-Type: text/html\r\n\r\n<p>h</p>'),
      ),
      null,
    ],
    ['no part', msg(['Content-Type: multipart/alternative; boundary=b'], '--b--\r\n'), null],
    [
      'one HTML part',
      msg(['Content-Type: multipart/alternative; boundary=b'], alt('b', HTML_PART)),
      null,
    ],
    [
      'text, then HTML',
      msg(['Content-Type: multipart/alternative; boundary=b'], alt('b', TEXT_PART, HTML_PART)),
      { text: 't', html: '<p>h</p>' },
    ],
    [
      'an HTML part with a field that would not do as a top-level one',
      msg(
        ['Content-Type: multipart/alternative; boundary=b'],
        alt('b', TEXT_PART, `Content-Type: text/html\r\nSubject: a\r\n b\r\n\r\n<p>h</p>`),
      ),
      { text: 't', html: '<p>h</p>' },
    ],
    [
      'two text parts',
      msg(['Content-Type: multipart/alternative; boundary=b'], alt('b', TEXT_PART, TEXT_PART)),
      null,
    ],
    ['top-level HTML', msg(['Content-Type: text/html'], alt('null', TEXT_PART)), null],
  ];

  for (const [what, raw, expected] of CASES)
    it(`${what}: ${expected === null ? 'declined' : 'answered'}`, async () => {
      const fast = parsePlainText(raw);
      assert.deepEqual(fast, expected);
      if (fast !== null) {
        const slow = await simpleParser(raw, OPTIONS);
        assert.deepEqual(
          { text: fast.text, html: fast.html, subject: fast.subject },
          { text: slow.text, html: slow.html, subject: slow.subject },
          "mailparser's result",
        );
      }
    });

  it(`a message of up to ${MAX_PLAIN_FAST_BYTES} bytes is taken, a longer one is not`, () => {
    const head = msg([], '');
    const fill = (n: number) => Buffer.concat([head, Buffer.alloc(n - head.length, 0x61)]);
    assert.equal(
      parsePlainText(fill(MAX_PLAIN_FAST_BYTES))?.text?.length,
      MAX_PLAIN_FAST_BYTES - head.length,
    );
    assert.equal(parsePlainText(fill(MAX_PLAIN_FAST_BYTES + 1)), null);
  });
});
