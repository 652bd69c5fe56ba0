/**
 * DKIM-Signature tags, one rule at a time: each malformed or unsupported signature is refused
 * with its own reason (`info`), and each accepted variation reaches the body-hash check (so the
 * parse let it through). The key is never fetched for a refused signature.
 */
import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createHash, sign as cryptoSign } from 'node:crypto';
import { splitMessage } from '../../../../sink/analysis/headers.ts';
import {
  cachingResolver,
  canonicalizeBody,
  canonicalizeHeader,
  DKIM_KEY_CACHE_TTL_MS,
  DKIM_KEY_FAILURE_TTL_MS,
  MAX_DKIM_BODY_BYTES,
  MAX_DKIM_KEY_CACHE,
  MAX_DKIM_KEY_RECORD_CHARS,
  MAX_DKIM_SIGNATURE_CHARS,
  parseTagList,
  summarizeDkim,
  verifyDkim,
  type DkimResolver,
} from '../../../../sink/analysis/dkim.ts';
import { ed25519Key, rsaKey, type TestKey } from './dkim-helpers.ts';

const MESSAGE = Buffer.from(
  [
    'From: Alice <alice@example.com>',
    'To: bob@example.org',
    'Subject: Hi',
    'Date: Sat, 28 Nov 2026 01:00:00 +0000',
    'Message-ID: <m1@example.com>',
    '',
    'Hello',
    '',
  ].join('\r\n'),
);
const BASE = 'v=1; a=rsa-sha256; d=example.com; s=test; h=from; bh=AAAA; b=AAAA';
const label63 = 'a'.repeat(63);
const name = (lastLabel: number) => `${label63}.${label63}.${label63}.${'b'.repeat(lastLabel)}`;

async function first(tags: string, record = 'v=DKIM1; p=') {
  const raw = Buffer.concat([Buffer.from(`DKIM-Signature: ${tags}\r\n`), MESSAGE]);
  const split = splitMessage(raw);
  const asked: string[] = [];
  const v = await verifyDkim(raw, split.headers, split.bodyOffset, {
    resolver: async (n) => {
      asked.push(n);
      return [[record]];
    },
    now: () => new Date('2026-11-28T02:00:00Z'),
  });
  return { sig: v.signatures[0], asked };
}

describe('sink/analysis/dkim: signature tags', () => {
  const refused: readonly (readonly [string, string])[] = [
    ['garbage', 'malformed tag "garbage"'],
    ['=x', 'malformed tag name ""'],
    [`1a=x; ${BASE}`, 'malformed tag name "1a"'],
    [`a b=x; ${BASE}`, 'malformed tag name "a b"'],
    [`${BASE}; d=example.org`, 'duplicate tag d='],
    [BASE.replace('v=1; ', ''), 'missing required tag v='],
    [BASE.replace('a=rsa-sha256; ', ''), 'missing required tag a='],
    [BASE.replace('; b=AAAA', ''), 'missing required tag b='],
    [BASE.replace('bh=AAAA; ', ''), 'missing required tag bh='],
    [BASE.replace('d=example.com; ', ''), 'missing required tag d='],
    [BASE.replace('h=from; ', ''), 'missing required tag h='],
    [BASE.replace('s=test; ', ''), 'missing required tag s='],
    [BASE.replace('v=1', 'v=2'), 'unsupported version v=2'],
    [BASE.replace('rsa-sha256', 'RSA-SHA1'), 'rsa-sha1 is not accepted (RFC 8301)'],
    [BASE.replace('rsa-sha256', 'hmac-md5'), 'unsupported algorithm a=hmac-md5'],
    [`${BASE}; c=relaxed/relaxed/x`, 'unsupported canonicalization c=relaxed/relaxed/x'],
    [`${BASE}; c=weird/simple`, 'unsupported canonicalization c=weird/simple'],
    [`${BASE}; c=simple/weird`, 'unsupported canonicalization c=simple/weird'],
    [BASE.replace('d=example.com', `d=${name(62)}`), 'invalid d= domain'],
    [BASE.replace('d=example.com', 'd=-bad.com'), 'invalid d= domain'],
    [BASE.replace('d=example.com', 'd=bad-.com'), 'invalid d= domain'],
    [BASE.replace('d=example.com', 'd=a..com'), 'invalid d= domain'],
    [BASE.replace('d=example.com', 'd=../../etc'), 'invalid d= domain'],
    [BASE.replace('s=test', `s=${name(62)}`), 'invalid s= selector'],
    [BASE.replace('s=test', 's=bad-'), 'invalid s= selector'],
    [BASE.replace('s=test', 's=a/b'), 'invalid s= selector'],
    [
      BASE.replace('h=from', `h=${Array.from({ length: 200 }, () => 'x').join(':')}:from`),
      'h= lists more than 200 headers',
    ],
    [BASE.replace('h=from', 'h=subject'), 'h= does not include From (RFC 6376 section 5.4)'],
    [`${BASE}; l=abc`, 'invalid l= value'],
    [`${BASE}; l=${'1'.repeat(77)}`, 'invalid l= value'],
    [`${BASE}; l=-1`, 'invalid l= value'],
    [`${BASE}; i=@evil.example`, 'i= is not within d= (RFC 6376 section 3.5)'],
    [`${BASE}; i=@notexample.com`, 'i= is not within d= (RFC 6376 section 3.5)'],
    [`${BASE}; i=noat`, 'i= is not within d= (RFC 6376 section 3.5)'],
    [`${BASE}; i=example.com`, 'i= is not within d= (RFC 6376 section 3.5)'],
    [BASE.replace('v=1', `v=${'2'.repeat(20)}`), `unsupported version v=${'2'.repeat(10)}`],
    [BASE.replace('rsa-sha256', 'x'.repeat(40)), `unsupported algorithm a=${'x'.repeat(30)}`],
    [`${BASE}; c=${'Q'.repeat(40)}`, `unsupported canonicalization c=${'Q'.repeat(30)}`],
    [BASE.replace('bh=AAAA', 'bh=!!!'), 'bh= is not base64'],
    [BASE.replace('b=AAAA', 'b=AA=A'), 'b= is not base64'],
    [`${BASE}; x=abc`, 'invalid x= value'],
    [`${BASE}; x=1`, 'signature expired (x=)'],
  ];
  for (const [tags, info] of refused) {
    it(`refuses ${JSON.stringify(tags.slice(0, 60))}: ${info}`, async () => {
      const { sig, asked } = await first(tags);
      assert.equal(sig.info, info);
      assert.equal(sig.result, info.startsWith('signature expired') ? 'fail' : 'permerror');
      assert.deepEqual(asked, []);
    });
  }

  const accepted: readonly (readonly [string, string])[] = [
    [` ;; ${BASE}`, 'empty tags are skipped'],
    [`x_1=y; ${BASE}`, 'an unknown tag with an underscore'],
    [BASE.replace('rsa-sha256', 'ED25519-SHA256'), 'ed25519, any case'],
    [`${BASE}; c=relaxed`, 'relaxed header, simple body by default'],
    [`${BASE}; c=Relaxed/Simple`, 'canonicalization in any case'],
    [BASE.replace('d=example.com', `d=${name(61)}`), 'a 253-character d='],
    [BASE.replace('d=example.com', 'd=ex_ample.com'), 'an underscore in d='],
    [BASE.replace('d=example.com', 'd=a.b'), 'one-character labels in d='],
    [BASE.replace('s=test', 's=Sel.2026'), 'a dotted selector, any case'],
    [BASE.replace('s=test', `s=${name(61)}`), 'a 253-character selector'],
    [
      BASE.replace('h=from', `h=${Array.from({ length: 199 }, () => 'x').join(':')}:from`),
      '200 headers',
    ],
    [BASE.replace('h=from', 'h= To : FROM '), 'header names trimmed and lower-cased'],
    [`${BASE}; l=${'0'.repeat(75)}5`, 'a 76-digit l='],
    [`${BASE}; i=user@sub.example.com`, 'i= in a subdomain of d='],
    [`${BASE}; i=@EXAMPLE.COM`, 'i= equal to d= in another case'],
    [BASE.replace('b=AAAA', 'b=A A\tA A'), 'blanks inside base64'],
    [`${BASE}; x=${'9'.repeat(12)}`, 'an x= far in the future'],
  ];
  for (const [tags, why] of accepted) {
    it(`accepts ${why}: the body hash is checked`, async () => {
      const { sig } = await first(tags);
      assert.deepEqual([sig.result, sig.info], ['fail', 'body hash did not verify']);
    });
  }

  it('describes an accepted signature: lower-cased d= and s=, algorithm, h=, l=', async () => {
    const { sig } = await first(
      'v=1; a=RSA-SHA256; d=Example.COM; s=Sel; h=From:To; bh=AAAA; b=AAAA; l=5',
    );
    assert.deepEqual(sig, {
      domain: 'example.com',
      selector: 'sel',
      algorithm: 'rsa-sha256',
      signedHeaders: ['from', 'to'],
      bodyLength: 5,
      result: 'fail',
      info: 'body hash did not verify',
    });
  });

  it('a refused signature still names its d= and s= when the tags parse', async () => {
    const { sig } = await first(BASE.replace('v=1', 'v=2'));
    assert.deepEqual([sig.domain, sig.selector], ['example.com', 'test']);
    const garbage = await first('garbage');
    assert.deepEqual([garbage.sig.domain, garbage.sig.selector], ['', '']);
  });

  it('parseTagList trims names and values and keeps = inside values', () => {
    assert.deepEqual(
      [...parseTagList(' a = 1 ;b=x=y; ;c= ')],
      [
        ['a', '1'],
        ['b', 'x=y'],
        ['c', ''],
      ],
    );
  });
});

const NOW_MS = Date.parse('2026-11-28T02:00:00Z');
const HEAD = 'From: Alice <alice@example.com>\r\nSubject: Hi\r\n';
const BODY = 'Hello\r\n';

/** A simple/simple rsa-sha256 signature over From and Subject with extra tags (i=, x=, l=). */
function signed(key: TestKey, extra = ''): Buffer {
  const bh = createHash('sha256').update(BODY).digest('base64');
  const field = `DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=k; h=from:subject;${extra} bh=${bh}; b=`;
  const b = cryptoSign('sha256', Buffer.from(`${HEAD}${field}`), key.privatePem).toString('base64');
  return Buffer.from(`${field}${b}\r\n${HEAD}\r\n${BODY}`);
}

async function verifyWith(raw: Buffer, records: string[][] | Error) {
  const split = splitMessage(raw);
  const resolver: DkimResolver = async () => {
    if (records instanceof Error) throw records;
    return records;
  };
  const v = await verifyDkim(raw, split.headers, split.bodyOffset, {
    resolver,
    now: () => new Date(NOW_MS),
  });
  return [v.signatures[0].result, v.signatures[0].info];
}

describe('sink/analysis/dkim: key records and verification bounds', () => {
  let key: TestKey;
  let other: TestKey;
  before(() => {
    key = rsaKey(2048);
    other = rsaKey(1024);
  });

  it('passes with the right key, in one string or split, with blanks around p=', async () => {
    const raw = signed(key);
    assert.deepEqual(await verifyWith(raw, [[`v=DKIM1; k=rsa; p=${key.p}`]]), ['pass', undefined]);
    assert.deepEqual(await verifyWith(raw, [[`p=${key.p.slice(0, 100)}`, key.p.slice(100)]]), [
      'pass',
      undefined,
    ]);
    assert.deepEqual(await verifyWith(raw, [[`v=DKIM1; p =  ${key.p}`]]), ['pass', undefined]);
    assert.deepEqual(await verifyWith(raw, [[`v=DKIM1;p=${key.p}`]]), ['pass', undefined]);
    assert.deepEqual(await verifyWith(raw, [[`h=SHA1 : sha256; t=y; p=${key.p}`]]), [
      'pass',
      undefined,
    ]);
  });

  it('refuses each bad key record with its reason', async () => {
    const raw = signed(key);
    const name = 'k._domainkey.example.com';
    const cases: readonly (readonly [string[][], string, string])[] = [
      [[[`v=DKIM2; p=${key.p}`]], 'permerror', 'key record version is not DKIM1'],
      [[[`k=ed25519; p=${key.p}`]], 'permerror', 'key type k=ed25519 does not match a=rsa-sha256'],
      [[[`h=sha1; p=${key.p}`]], 'permerror', 'key record h= does not allow sha256'],
      [[['v=DKIM1; k=rsa']], 'permerror', `no key record at ${name}`],
      [[['v=DKIM1; xp=AAAA']], 'permerror', `no key record at ${name}`],
      [[], 'permerror', `no key record at ${name}`],
      [[['v=DKIM1; p=']], 'permerror', 'key revoked (empty p=)'],
      [[['v=DKIM1; p=!!']], 'permerror', 'p= is not base64'],
      [[['v=DKIM1; p=AAAA']], 'permerror', 'p= is not a valid public key'],
      [[[`v=DKIM1; p=${other.p}`]], 'fail', 'signature did not verify'],
      [[[`v=DKIM1; n=${'x'.repeat(8 * 1024)}; p=${key.p}`]], 'permerror', 'key record too long'],
    ];
    for (const [records, result, info] of cases)
      assert.deepEqual(await verifyWith(raw, records), [result, info], info);
  });

  it('uses the first of several key records that parses', async () => {
    const raw = signed(key);
    assert.deepEqual(await verifyWith(raw, [['v=DKIM1; p=AAAA'], [`v=DKIM1; p=${key.p}`]]), [
      'pass',
      undefined,
    ]);
    assert.deepEqual(await verifyWith(raw, [['v=DKIM1; p='], ['v=DKIM2; p=AAAA']]), [
      'permerror',
      'key record version is not DKIM1',
    ]);
  });

  it('names the failed look-up: no record is permanent, a server failure temporary', async () => {
    const raw = signed(key);
    const err = (code: string) => Object.assign(new Error(code), { code });
    const name = 'k._domainkey.example.com';
    for (const code of ['ENOTFOUND', 'ENODATA', 'NXDOMAIN'])
      assert.deepEqual(await verifyWith(raw, err(code)), ['permerror', `no key record at ${name}`]);
    assert.deepEqual(await verifyWith(raw, err('ESERVFAIL')), [
      'temperror',
      `key lookup failed for ${name}: ESERVFAIL`,
    ]);
    assert.deepEqual(await verifyWith(raw, new Error('no code')), [
      'temperror',
      `key lookup failed for ${name}: error`,
    ]);
  });

  it('t=s forbids an i= in a subdomain, not an i= equal to d=', async () => {
    const record = [[`t=s; p=${key.p}`]];
    assert.deepEqual(await verifyWith(signed(key, ' i=a@sub.example.com;'), record), [
      'permerror',
      'key t=s forbids an i= subdomain',
    ]);
    assert.deepEqual(await verifyWith(signed(key, ' i=a@example.com;'), record), [
      'pass',
      undefined,
    ]);
    assert.deepEqual(
      await verifyWith(signed(key, ' i=a@sub.example.com;'), [[`t=y; p=${key.p}`]]),
      ['pass', undefined],
    );
  });

  it('x= expires after its second, not at it', async () => {
    const record = [[`p=${key.p}`]];
    const at = NOW_MS / 1000;
    assert.deepEqual(await verifyWith(signed(key, ` x=${at};`), record), ['pass', undefined]);
    assert.deepEqual(await verifyWith(signed(key, ` x=${at - 1};`), record), [
      'fail',
      'signature expired (x=)',
    ]);
    assert.deepEqual(await verifyWith(signed(key, ` x=${'1'.repeat(13)};`), record), [
      'permerror',
      'invalid x= value',
    ]);
  });

  it('l= may equal the canonical body length, not exceed it', async () => {
    const record = [[`p=${key.p}`]];
    assert.deepEqual(await verifyWith(signed(key, ` l=${BODY.length};`), record), [
      'pass',
      undefined,
    ]);
    assert.deepEqual(await verifyWith(signed(key, ` l=${BODY.length + 1};`), record), [
      'fail',
      'l= is longer than the body',
    ]);
  });
});

describe('sink/analysis/dkim: cachingResolver bounds', () => {
  it('an answer expires at its TTL exactly', async () => {
    let t = 1000;
    let calls = 0;
    const r = cachingResolver(
      async () => {
        calls++;
        return [['v=DKIM1; p=AAAA']];
      },
      () => t,
    );
    await r('a._domainkey.example.com', 'TXT');
    t += DKIM_KEY_CACHE_TTL_MS - 1;
    await r('a._domainkey.example.com', 'TXT');
    assert.equal(calls, 1);
    t += 1;
    await r('a._domainkey.example.com', 'TXT');
    assert.equal(calls, 2);
  });

  it(`remembers ${MAX_DKIM_KEY_CACHE} names, dropping the oldest for a new one`, async () => {
    const asked: string[] = [];
    const r = cachingResolver(
      async (name) => {
        asked.push(name);
        return [['p=AAAA']];
      },
      () => 0,
    );
    for (let i = 0; i < MAX_DKIM_KEY_CACHE; i++) await r(`s${i}._domainkey.example.com`, 'TXT');
    await r('s0._domainkey.example.com', 'TXT');
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE, 'all still cached');
    await r('new._domainkey.example.com', 'TXT');
    await r('s1._domainkey.example.com', 'TXT');
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE + 1, 's1 is still there');
    await r('s0._domainkey.example.com', 'TXT');
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE + 2, 's0, the oldest entry, was dropped');
  });

  it('a hung look-up rejects with the name and ETIMEOUT', async () => {
    const r = cachingResolver(
      () => new Promise<string[][]>(() => undefined),
      () => 0,
      20,
    );
    await assert.rejects(r('hung._domainkey.example.com', 'TXT'), {
      code: 'ETIMEOUT',
      message: 'DNS lookup of hung._domainkey.example.com timed out',
    });
  });
});

describe('sink/analysis/dkim: helpers at their edges', () => {
  it('parseTagList names a malformed tag by its first 20 characters', () => {
    assert.throws(() => parseTagList('abcdefghijklmnopqrstuvwxyz'), {
      message: 'malformed tag "abcdefghijklmnopqrst"',
    });
    assert.throws(() => parseTagList('1abcdefghijklmnopqrstuvwxyz=x'), {
      message: 'malformed tag name "1abcdefghijklmnopqrs"',
    });
  });

  it('summarizeDkim: the best result wins, whatever the order', () => {
    assert.equal(summarizeDkim(['pass', 'fail']), 'pass');
    assert.equal(summarizeDkim(['fail', 'pass', 'none']), 'pass');
    assert.equal(summarizeDkim([]), 'none');
  });

  it('canonicalizeBody: a last line ending in a blank (relaxed), and a lone CR is no line end', () => {
    assert.equal(canonicalizeBody('a ', 'relaxed'), 'a\r\n');
    assert.equal(canonicalizeBody('ab ', 'relaxed'), 'ab\r\n');
    assert.equal(canonicalizeBody('x\r\r', 'simple'), 'x\r\r\r\n');
  });

  it('canonicalizeHeader (relaxed) unfolds a bare LF too', () => {
    const h = { name: 'A', key: 'a', raw: 'A: 1\n 2', value: '' };
    assert.equal(canonicalizeHeader(h, 'relaxed'), 'a:1 2');
  });
});

describe('sink/analysis/dkim: more bounds and key records', () => {
  it(`a signature field of ${MAX_DKIM_SIGNATURE_CHARS} characters is read, one more is refused`, async () => {
    const tags = (fieldLength: number) =>
      `${BASE}; z=${'y'.repeat(fieldLength - 'DKIM-Signature: '.length - BASE.length - '; z='.length)}`;
    assert.equal(
      (await first(tags(MAX_DKIM_SIGNATURE_CHARS))).sig.info,
      'body hash did not verify',
    );
    assert.equal(
      (await first(tags(MAX_DKIM_SIGNATURE_CHARS + 1))).sig.info,
      'signature header too long',
    );
  });

  it('empty names in h= are dropped', async () => {
    const { sig } = await first(BASE.replace('h=from', 'h=From::To:'));
    assert.deepEqual(sig.signedHeaders, ['from', 'to']);
  });

  it(`key records: ${MAX_DKIM_KEY_RECORD_CHARS} characters at most, k= named by 20 characters, t= flags trimmed`, async () => {
    // A body hash that verifies, so the key record is read.
    const signed = BASE.replace(
      'bh=AAAA',
      `bh=${createHash('sha256').update('Hello\r\n').digest('base64')}`,
    );
    const padded = (n: number) => `v=DKIM1; p=; n=${'y'.repeat(n - 'v=DKIM1; p=; n='.length)}`;
    assert.equal(
      (await first(signed, padded(MAX_DKIM_KEY_RECORD_CHARS))).sig.info,
      'key revoked (empty p=)',
    );
    assert.equal(
      (await first(signed, padded(MAX_DKIM_KEY_RECORD_CHARS + 1))).sig.info,
      'key record too long',
    );
    assert.equal(
      (await first(signed, `v=DKIM1; k=${'z'.repeat(30)}; p=`)).sig.info,
      `key type k=${'z'.repeat(20)} does not match a=rsa-sha256`,
    );
    const sub = `${signed}; i=@sub.example.com`;
    assert.equal(
      (await first(sub, 'v=DKIM1; t=y: s; p=')).sig.info,
      'key t=s forbids an i= subdomain',
    );
    assert.equal((await first(sub, 'v=DKIM1; t=ss; p=')).sig.info, 'key revoked (empty p=)');
  });
});

describe('sink/analysis/dkim: the last edges (issue 15)', () => {
  let key: TestKey;
  before(() => {
    key = rsaKey(2048);
  });
  const bodyHash = createHash('sha256').update('Hello\r\n').digest('base64');
  const hashed = BASE.replace('bh=AAAA', `bh=${bodyHash}`);

  it('verifies a signature whose b= is the first tag (its value is removed from the start too)', async () => {
    const bh = createHash('sha256').update(BODY).digest('base64');
    const rest = `; v=1; a=rsa-sha256; d=example.com; s=k; h=from:subject; bh=${bh}`;
    const b = cryptoSign('sha256', Buffer.from(`${HEAD}DKIM-Signature: b=${rest}`), key.privatePem);
    const raw = Buffer.from(
      `DKIM-Signature: b=${b.toString('base64')}${rest}\r\n${HEAD}\r\n${BODY}`,
    );
    assert.deepEqual(await verifyWith(raw, [[`p=${key.p}`]]), ['pass', undefined]);
    const other = rsaKey(1024);
    assert.deepEqual(await verifyWith(raw, [[`p=${other.p}`]]), [
      'fail',
      'signature did not verify',
    ]);
  });

  it('refuses an ed25519 p= that is not 32 bytes, and an RSA p= that holds another kind of key', async () => {
    const ed = hashed.replace('rsa-sha256', 'ed25519-sha256');
    for (const n of [31, 33])
      assert.equal(
        (await first(ed, `v=DKIM1; k=ed25519; p=${Buffer.alloc(n, 7).toString('base64')}`)).sig
          .info,
        'ed25519 key is not 32 bytes',
      );
    const spki = ed25519Key().publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(
      (await first(hashed, `v=DKIM1; p=${spki.toString('base64')}`)).sig.info,
      'p= is not an RSA key',
    );
  });

  it('tries at most four key records: a good fifth one is not reached', async () => {
    const raw = signed(key);
    const bad = ['v=DKIM1; p=AAAA'];
    assert.deepEqual(await verifyWith(raw, [bad, bad, bad, [`p=${key.p}`]]), ['pass', undefined]);
    assert.deepEqual(await verifyWith(raw, [bad, bad, bad, bad, [`p=${key.p}`]]), [
      'permerror',
      'p= is not a valid public key',
    ]);
  });

  it('a resolver answer that is no array of strings is refused, not thrown', async () => {
    const raw = signed(key);
    const odd = (answer: unknown) => answer as string[][];
    assert.deepEqual(await verifyWith(raw, odd(`p=${key.p}`)), [
      'permerror',
      'no key record at k._domainkey.example.com',
    ]);
    // Joining a Symbol throws a TypeError: the signature gets the generic reason.
    assert.deepEqual(await verifyWith(raw, odd([[Symbol('p=')]])), [
      'permerror',
      'signature could not be checked',
    ]);
  });

  it('a refused signature reports its d= and s= cut at 253 characters, read from the first characters of the field only', async () => {
    const long = `${'a'.repeat(60)}.`.repeat(5);
    const { sig } = await first(
      BASE.replace('d=example.com', `d=${long}`).replace('s=test', `s=${long}`),
    );
    assert.equal(sig.info, 'invalid d= domain');
    assert.deepEqual([sig.domain, sig.selector], [long.slice(0, 253), long.slice(0, 253)]);
    const pad = 'y'.repeat(MAX_DKIM_SIGNATURE_CHARS);
    const tooLong = await first(`v=1; z=${pad}; d=example.com; s=test`);
    assert.equal(tooLong.sig.info, 'signature header too long');
    assert.deepEqual([tooLong.sig.domain, tooLong.sig.selector], ['', '']);
  });

  it(`a body of ${MAX_DKIM_BODY_BYTES} bytes is checked, one more byte is not (neutral)`, async () => {
    const head = Buffer.from(`DKIM-Signature: ${hashed}\r\nFrom: a@example.com\r\n\r\n`);
    const verdict = async (bodyBytes: number) => {
      const raw = Buffer.concat([head, Buffer.alloc(bodyBytes, 'a')]);
      const split = splitMessage(raw);
      assert.equal(raw.length - split.bodyOffset, bodyBytes);
      const v = await verifyDkim(raw, split.headers, split.bodyOffset, {
        resolver: async () => [['v=DKIM1; p=']],
      });
      return [v.signatures[0].result, v.signatures[0].info];
    };
    assert.deepEqual(await verdict(MAX_DKIM_BODY_BYTES), ['fail', 'body hash did not verify']);
    assert.deepEqual(await verdict(MAX_DKIM_BODY_BYTES + 1), [
      'neutral',
      `body larger than ${MAX_DKIM_BODY_BYTES} bytes: not verified`,
    ]);
  });

  it('a failed look-up asked again after its failure TTL keeps its place: no other name is dropped', async () => {
    let now = 0;
    const asked: string[] = [];
    const r = cachingResolver(
      async (name) => {
        asked.push(name);
        if (name.startsWith('down.'))
          throw Object.assign(new Error('servfail'), { code: 'ESERVFAIL' });
        return [['p=AAAA']];
      },
      () => now,
    );
    await r('old._domainkey.example.com', 'TXT');
    await assert.rejects(r('down._domainkey.example.com', 'TXT'), { code: 'ESERVFAIL' });
    for (let i = 2; i < MAX_DKIM_KEY_CACHE; i++) await r(`s${i}._domainkey.example.com`, 'TXT');
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE);
    now = DKIM_KEY_FAILURE_TTL_MS - 1;
    await assert.rejects(r('down._domainkey.example.com', 'TXT'), { code: 'ESERVFAIL' });
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE, 'the failure is remembered until its TTL');
    now = DKIM_KEY_FAILURE_TTL_MS;
    await assert.rejects(r('down._domainkey.example.com', 'TXT'), { code: 'ESERVFAIL' });
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE + 1, 'asked again at its failure TTL');
    await r('old._domainkey.example.com', 'TXT');
    assert.equal(asked.length, MAX_DKIM_KEY_CACHE + 1, 'the oldest answer is still cached');
  });
});
