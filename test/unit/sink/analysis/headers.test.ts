/**
 * Header splitting, header text and List-Unsubscribe at their edges: blank first line, the header
 * block bound, folding with tabs, fields without a name, the field-count bound, encoded-word
 * charsets and encodings, and what List-Unsubscribe URIs are kept.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  headerText,
  MAX_HEADER_BLOCK_BYTES,
  MAX_HEADER_FIELDS,
  MAX_HEADER_VALUE_CHARS,
  splitMessage,
  type RawHeader,
} from '../../../../sink/analysis/headers.ts';
import {
  analyzeListUnsubscribe,
  MAX_UNSUBSCRIBE_URI_CHARS,
} from '../../../../sink/analysis/unsubscribe.ts';

const split = (s: string) => splitMessage(Buffer.from(s, 'latin1'));

describe('sink/analysis/headers: splitMessage edges', () => {
  it('a message starting with a blank line has no headers; the body starts after it', () => {
    assert.deepEqual(split('\r\nA: 1\r\n'), { headers: [], bodyOffset: 2, truncated: false });
    assert.deepEqual(split('\nA: 1\n'), { headers: [], bodyOffset: 1, truncated: false });
  });

  it('folds continuation lines that start with a space or a tab, not a first line', () => {
    const s = split('A: 1\r\n\tmore\r\n  and more\r\nB: 2\r\n\r\nbody');
    assert.deepEqual(
      s.headers.map((h) => [h.name, h.value, h.raw]),
      [
        ['A', '1\tmore  and more', 'A: 1\r\n\tmore\r\n  and more'],
        ['B', '2', 'B: 2'],
      ],
    );
    assert.equal(s.bodyOffset, 'A: 1\r\n\tmore\r\n  and more\r\nB: 2\r\n\r\n'.length);
    // A leading space on the very first line has nothing to fold into: it is a field of its own.
    assert.deepEqual(
      split(' X: 1\r\nY: 2\r\n\r\n').headers.map((h) => h.key),
      ['x', 'y'],
    );
  });

  it('drops lines without a colon, with an empty name or a name holding blanks or controls', () => {
    const s = split(': v\r\nno colon\r\nA B: 1\r\nC\x01: 2\r\n  : 3\r\nOk : 4\r\n\r\n');
    assert.deepEqual(
      s.headers.map((h) => [h.name, h.key, h.value]),
      [['Ok', 'ok', '4']],
    );
    assert.equal(s.truncated, false);
  });

  it(`keeps ${MAX_HEADER_FIELDS} fields and says the rest were dropped`, () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X${i}: ${i}`).join('\r\n');
    const at = split(`${fields(MAX_HEADER_FIELDS)}\r\n\r\nbody`);
    assert.deepEqual([at.headers.length, at.truncated], [MAX_HEADER_FIELDS, false]);
    const over = split(`${fields(MAX_HEADER_FIELDS + 1)}\r\n\r\nbody`);
    assert.deepEqual([over.headers.length, over.truncated], [MAX_HEADER_FIELDS, true]);
  });

  it(`a header block longer than ${MAX_HEADER_BLOCK_BYTES} bytes without an end is cut and marked`, () => {
    const long = `A: ${'x'.repeat(MAX_HEADER_BLOCK_BYTES)}`;
    const s = split(long);
    assert.equal(s.truncated, true);
    assert.equal(s.bodyOffset, long.length);
    assert.equal(s.headers[0].value.length, MAX_HEADER_BLOCK_BYTES - 3);
    // Exactly at the bound, with no body: the whole block, not truncated.
    const exact = split(`A: ${'x'.repeat(MAX_HEADER_BLOCK_BYTES - 3)}`);
    assert.deepEqual(
      [exact.truncated, exact.headers[0].value.length],
      [false, MAX_HEADER_BLOCK_BYTES - 3],
    );
  });
});

describe('sink/analysis/headers: headerText', () => {
  it('decodes each supported charset, B and Q in either case, and leaves others as written', () => {
    assert.equal(headerText('=?us-ascii?Q?a_b?='), 'a b');
    assert.equal(headerText('=?UTF8?b?w6k=?='), 'é');
    assert.equal(headerText('=?iso-8859-1?q?caf=E9?='), 'café');
    assert.equal(headerText('=?LATIN1?B?6Q==?='), 'é');
    assert.equal(headerText('=?windows-1252?Q?=E9t=E9?='), 'été');
    assert.equal(headerText('=?utf-8*fr?Q?=C3=A9?='), 'é'); // RFC 2231 language suffix
    assert.equal(headerText('=?x-unknown?Q?abc?='), '=?x-unknown?Q?abc?=');
  });

  it('joins adjacent encoded-words across blanks and folding, and keeps blanks elsewhere', () => {
    assert.equal(headerText('=?utf-8?Q?a?=  \t=?utf-8?Q?b?='), 'ab');
    assert.equal(headerText('=?utf-8?Q?a?= x =?utf-8?Q?b?='), 'a x b');
    assert.equal(headerText('x  =?utf-8?Q?a?='), 'x  a');
  });

  it(`reads at most ${MAX_HEADER_VALUE_CHARS} characters`, () => {
    assert.equal(
      headerText('a'.repeat(MAX_HEADER_VALUE_CHARS + 10)).length,
      MAX_HEADER_VALUE_CHARS,
    );
    assert.equal(headerText('a'.repeat(MAX_HEADER_VALUE_CHARS)).length, MAX_HEADER_VALUE_CHARS);
  });
});

describe('sink/analysis/unsubscribe: the URIs kept', () => {
  const lu = (value: string, post?: string) => {
    const headers: RawHeader[] = [
      { name: 'List-Unsubscribe', key: 'list-unsubscribe', raw: '', value },
    ];
    if (post !== undefined)
      headers.push({
        name: 'List-Unsubscribe-Post',
        key: 'list-unsubscribe-post',
        raw: '',
        value: post,
      });
    return analyzeListUnsubscribe(headers);
  };

  it('removes blanks inside a URI, sorts mailto and http(s), drops other schemes and duplicates', () => {
    const r = lu(
      '<https://a.example/u ?x=1>, <MAILTO:u@a.example>, <http://b.example/u>, <ftp://c.example>, <https://a.example/u?x=1>, <xmailto:u@a>, <xhttps://a>',
    );
    assert.deepEqual(r.urls, ['https://a.example/u?x=1', 'http://b.example/u']);
    assert.deepEqual(r.mailto, ['MAILTO:u@a.example']);
    assert.equal(r.present, true);
  });

  it('mailto alone is present; one-click needs an https URI among the URLs', () => {
    const mail = lu('<mailto:u@a.example>', 'List-Unsubscribe=One-Click');
    assert.deepEqual(
      [mail.present, mail.hasHttps, mail.oneClick, mail.postValid],
      [true, false, false, true],
    );
    const mixed = lu('<http://a.example/u>, <HTTPS://a.example/v>', ' List-Unsubscribe=One-Click ');
    assert.deepEqual([mixed.hasHttps, mixed.oneClick, mixed.postValid], [true, true, true]);
    const plain = lu('<http://a.example/u>', 'List-Unsubscribe=One-Click');
    assert.deepEqual([plain.hasHttps, plain.oneClick], [false, false]);
    const wrong = lu('<https://a.example/u>', 'List-Unsubscribe=one-click');
    assert.deepEqual([wrong.postHeader, wrong.postValid, wrong.oneClick], [true, false, false]);
  });

  it(`cuts a URI at ${MAX_UNSUBSCRIBE_URI_CHARS} characters and counts mailto toward the URI bound`, () => {
    const long = `https://a.example/${'x'.repeat(MAX_UNSUBSCRIBE_URI_CHARS)}`;
    assert.equal(lu(`<${long}>`).urls[0].length, MAX_UNSUBSCRIBE_URI_CHARS);
    const mixed = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? `<mailto:u${i}@a.example>` : `<https://a.example/${i}>`,
    ).join(', ');
    const r = lu(mixed);
    assert.equal(r.urls.length + r.mailto.length, 10);
    assert.deepEqual([r.urls.length, r.mailto.length], [5, 5]);
  });
});

describe('sink/analysis/headers: fields that are not headers', () => {
  it('drops a word without a colon and a blank first line holding only a colon', () => {
    assert.deepEqual(
      split('From: a@example.com\r\ngarbage\r\n\r\nbody').headers.map((h) => h.key),
      ['from'],
    );
    assert.deepEqual(
      split(' : x\r\nA: 1\r\n\r\n').headers.map((h) => h.key),
      ['a'],
    );
  });
});

describe('sink/analysis/unsubscribe: more edges', () => {
  const lu = (value: string | null) =>
    analyzeListUnsubscribe(
      value === null ? [] : [{ name: 'List-Unsubscribe', key: 'list-unsubscribe', raw: '', value }],
    );

  it('keeps a mailto URI once; https must be the scheme; no Post header is no Post header', () => {
    const r = lu('<mailto:u@a.example>, <mailto:u@a.example>, <http://a.example/?r=https://b>');
    assert.deepEqual(r, {
      present: true,
      oneClick: false,
      urls: ['http://a.example/?r=https://b'],
      mailto: ['mailto:u@a.example'],
      postHeader: false,
      postValid: false,
      hasHttps: false,
    });
    assert.deepEqual(lu(null), {
      present: false,
      oneClick: false,
      urls: [],
      mailto: [],
      postHeader: false,
      postValid: false,
      hasHttps: false,
    });
  });
});
