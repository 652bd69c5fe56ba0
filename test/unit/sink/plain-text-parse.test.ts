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
import { parsePlainText } from '../../../sink/plain-text-parse.ts';

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
