/**
 * The summary headers at their edges: every kind of blank line ending the header block, folding
 * after an ignored line, the header-bytes bound, encoded words, address lists with escapes and
 * nested comments, the address and value bounds, and control characters removed for display.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  decodeEncodedWords,
  MAX_INGEST_HEADER_BYTES,
  MAX_SUMMARY_ADDRESSES,
  MAX_SUMMARY_VALUE_LENGTH,
  parseHeaderBlock,
  splitAddressList,
  summaryHeaders,
} from '../../../sink/message-headers.ts';

const fields = (s: string) => parseHeaderBlock(Buffer.from(s, 'utf8'));

describe('sink/message-headers: parseHeaderBlock', () => {
  for (const [name, eol] of [
    ['CRLF', '\r\n'],
    ['LF', '\n'],
    ['CR', '\r'],
  ] as const) {
    it(`ends the header block at a blank line with ${name} line ends`, () => {
      assert.deepEqual(fields(`A: 1${eol}B: 2${eol}${eol}C: 3${eol}`), [
        { name: 'a', value: '1' },
        { name: 'b', value: '2' },
      ]);
    });
  }

  it('ends at mixed blank lines too (CRLF then LF, CRLF then CR, LF then CR)', () => {
    for (const block of ['A: 1\r\n\nB: 2', 'A: 1\r\n\rB: 2', 'A: 1\n\rB: 2'])
      assert.deepEqual(fields(block), [{ name: 'a', value: '1' }], JSON.stringify(block));
  });

  it('folds continuation lines (space or tab), not after an ignored line', () => {
    assert.deepEqual(fields('Subject: a\r\n b\r\n\tc\r\nnot a header\r\n d\r\nX: 1\r\n\r\n'), [
      { name: 'subject', value: 'a b c' },
      { name: 'x', value: '1' },
    ]);
    // A blank-led first line has nothing to fold into: it is read as a field; an empty name is not.
    assert.deepEqual(fields(' leading: x\r\n: empty name\r\nOk: 1\r\n'), [
      { name: 'leading', value: 'x' },
      { name: 'ok', value: '1' },
    ]);
  });

  it(`reads only the first ${MAX_INGEST_HEADER_BYTES} bytes`, () => {
    const long = `A: ${'x'.repeat(MAX_INGEST_HEADER_BYTES)}\r\nB: 2\r\n\r\n`;
    const f = fields(long);
    assert.deepEqual(
      f.map((x) => [x.name, x.value.length]),
      [['a', MAX_INGEST_HEADER_BYTES - 3]],
    );
  });
});

describe('sink/message-headers: values', () => {
  it('decodes B and Q words in either case, joins adjacent ones, keeps unknown charsets', () => {
    assert.equal(decodeEncodedWords('=?utf-8?b?w6k=?= =?UTF-8?q?=C3=A9?='), 'éé');
    assert.equal(decodeEncodedWords('=?utf-8?Q?a?= x =?utf-8?Q?b?='), 'a x b');
    assert.equal(decodeEncodedWords('=?utf-8?Q?a?= \t =?utf-8?Q?b?='), 'ab');
    assert.equal(decodeEncodedWords('=?UTF-8*en?Q?hi_there?='), 'hi there');
    assert.equal(decodeEncodedWords('no words =? here'), 'no words =? here');
    assert.equal(decodeEncodedWords('=?bogus-charset?Q?a?='), '=?bogus-charset?Q?a?=');
  });

  it('splits address lists outside quotes (with escapes), nested comments and angle brackets', () => {
    assert.deepEqual(
      splitAddressList('"A \\" , B" <a@x>, b@y (c, (d, e)), <c,d@z>, , "x)" <e@w>, f@v'),
      ['"A \\" , B" <a@x>', 'b@y (c, (d, e))', '<c,d@z>', '"x)" <e@w>', 'f@v'],
    );
    assert.deepEqual(splitAddressList('a@x) , b@y'), ['a@x)', 'b@y']);
  });

  it('a comma after a nested comment closes is still inside the outer comment', () => {
    assert.deepEqual(splitAddressList('x@a (note (inner) more, still comment), y@b'), [
      'x@a (note (inner) more, still comment)',
      'y@b',
    ]);
  });

  it(`keeps ${MAX_SUMMARY_ADDRESSES} addresses of a list, from all To fields together`, () => {
    const list = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => `u${from + i}@x`).join(', ');
    assert.equal(splitAddressList(list(MAX_SUMMARY_ADDRESSES + 5)).length, MAX_SUMMARY_ADDRESSES);
    assert.deepEqual(
      splitAddressList(list(MAX_SUMMARY_ADDRESSES)).at(-1),
      `u${MAX_SUMMARY_ADDRESSES - 1}@x`,
    );
    const s = summaryHeaders([
      { name: 'to', value: list(60) },
      { name: 'to', value: list(60, 60) },
    ]);
    assert.equal(s.to.length, MAX_SUMMARY_ADDRESSES);
    assert.equal(s.to.at(-1), `u${MAX_SUMMARY_ADDRESSES - 1}@x`);
  });

  it('summarises the first From, Subject and Message-ID, decoded, clipped and without controls', () => {
    const s = summaryHeaders([
      { name: 'from', value: '=?utf-8?Q?Ren=C3=A9?= <r@x>' },
      { name: 'from', value: 'second@x' },
      { name: 'subject', value: `a\x00b\x08c\td\ne\x0bf\x0cg\rh\x1fi\x7fj${'k'.repeat(3000)}` },
      { name: 'message-id', value: '<=?utf-8?Q?x?=@y>' },
    ]);
    assert.equal(s.from, 'René <r@x>');
    assert.equal(s.subject?.slice(0, 13), 'abc\td\nefg\rhij');
    assert.equal(s.subject?.length, MAX_SUMMARY_VALUE_LENGTH);
    assert.equal(s.messageId, '<=?utf-8?Q?x?=@y>', 'a Message-ID is not decoded');
    assert.deepEqual(summaryHeaders([]), { from: null, to: [], subject: null, messageId: null });
  });
});
