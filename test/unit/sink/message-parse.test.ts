/**
 * The detail view's parts and the analysis hand-off: headers as written (folding undone,
 * encoded words decoded), bodies and their cut at MAX_DETAIL_BODY_CHARS, attachment metadata,
 * one attachment's content, the snippet, and an analyzer's failure reported in one line.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  analyzeParts,
  MAX_DETAIL_BODY_CHARS,
  MAX_DETAIL_HEADERS,
  parseAttachment,
  parseParts,
  parseSnippet,
} from '../../../sink/message-parse.ts';
import type { MessageAnalysis } from '../../../src/protocol.ts';

const MIXED = Buffer.from(
  [
    'From: =?utf-8?Q?Ren=C3=A9?= <r@example.com>',
    'Subject: a folded',
    '\tsubject',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello there',
    '--b',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename=data.bin',
    'Content-ID: <part1@example.com>',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAw==',
    '--b--',
    '',
  ].join('\r\n'),
);

describe('sink/message-parse', () => {
  it('gives the headers as written, unfolded and decoded, the bodies and the attachment metadata', async () => {
    const p = await parseParts(MIXED);
    assert.equal(p.parseError, null);
    assert.deepEqual(p.headers.slice(0, 2), [
      { name: 'From', value: 'René <r@example.com>' },
      { name: 'Subject', value: 'a folded subject' },
    ]);
    assert.equal(p.text, 'Hello there');
    assert.equal(p.html, null);
    assert.equal(p.truncated, undefined);
    assert.equal(p.attachments.length, 1);
    const a = p.attachments[0];
    assert.deepEqual(
      [a.index, a.filename, a.contentType, a.size, a.contentId, a.disposition],
      [0, 'data.bin', 'application/octet-stream', 4, 'part1@example.com', 'attachment'],
    );
    assert.match(a.checksum ?? '', /^[0-9a-f]{32}$/);
  });

  it('a header name is given without the spaces before its colon; cid: images stay links', async () => {
    const spaced = await parseParts(Buffer.from('Subject : hi\r\n\r\nbody\r\n'));
    assert.deepEqual(spaced.headers, [{ name: 'Subject', value: 'hi' }]);
    const related = await parseParts(
      Buffer.from(
        'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<img src="cid:pic@x">\r\n--b\r\nContent-Type: image/png\r\nContent-ID: <pic@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n',
      ),
    );
    assert.equal(related.html, '<img src="cid:pic@x">', 'not turned into a data: URL');
  });

  it(`unfolds bare-LF and multi-blank folding, and keeps ${MAX_DETAIL_HEADERS} header lines`, async () => {
    const lf = await parseParts(Buffer.from('Subject: a\n  \t folded\nX-A: 1\n\nbody\n'));
    assert.deepEqual(lf.headers, [
      { name: 'Subject', value: 'a folded' },
      { name: 'X-A', value: '1' },
    ]);
    const many = Array.from({ length: MAX_DETAIL_HEADERS + 5 }, (_, i) => `X-H${i}: ${i}`);
    const p = await parseParts(Buffer.from(`${many.join('\r\n')}\r\n\r\nbody\r\n`));
    assert.equal(p.headers.length, MAX_DETAIL_HEADERS);
    assert.deepEqual(p.headers.at(-1), {
      name: `X-H${MAX_DETAIL_HEADERS - 1}`,
      value: String(MAX_DETAIL_HEADERS - 1),
    });
  });

  it('returns one attachment with its bytes, or undefined past the last', async () => {
    const got = await parseAttachment(MIXED, 0);
    assert.deepEqual([...(got?.content ?? [])], [0, 1, 2, 3]);
    assert.equal(got?.meta.filename, 'data.bin');
    assert.equal(await parseAttachment(MIXED, 1), undefined);
    assert.equal(await parseAttachment(Buffer.from('Subject: x\r\n\r\nhi\r\n'), 0), undefined);
  });

  it(`cuts a body at ${MAX_DETAIL_BODY_CHARS} characters and says so; exactly that many is whole`, async () => {
    const body = (n: number) => Buffer.from(`Subject: t\r\n\r\n${'a'.repeat(n)}`);
    const exact = await parseParts(body(MAX_DETAIL_BODY_CHARS));
    assert.deepEqual([exact.text?.length, exact.truncated], [MAX_DETAIL_BODY_CHARS, undefined]);
    const over = await parseParts(body(MAX_DETAIL_BODY_CHARS + 1));
    assert.deepEqual([over.text?.length, over.truncated], [MAX_DETAIL_BODY_CHARS, true]);
  });

  it('the snippet is the text, collapsed', async () => {
    assert.equal(await parseSnippet(MIXED), 'Hello there');
  });

  it('hands the analyzer the parsed bodies (plain text by the fast path), and reports its failure in one line', async () => {
    const seen: unknown[] = [];
    const ok = await analyzeParts(
      Buffer.from('Subject: s\r\n\r\nplain body\r\n'),
      async (_raw, parsed) => {
        seen.push(parsed?.text, parsed?.subject);
        const analysis = { spamScore: 1 };
        return analysis as MessageAnalysis;
      },
    );
    assert.deepEqual([...seen], ['plain body\n', 's']); // a copy: deepEqual would narrow seen to string[]
    assert.deepEqual(ok, { parseError: null, analysis: { spamScore: 1 }, analysisError: null });
    const failed = await analyzeParts(MIXED, async (_raw, parsed) => {
      seen.push(parsed?.text);
      throw new Error('first line\nsecond line');
    });
    assert.deepEqual(failed, { parseError: null, analysis: null, analysisError: 'first line' });
    assert.equal(seen.at(-1), 'Hello there');
    const notError = await analyzeParts(MIXED, async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a hostile analyzer, on purpose
      throw `${'x'.repeat(600)}\ny`;
    });
    assert.equal(notError.analysisError, 'x'.repeat(500));
  });
});
