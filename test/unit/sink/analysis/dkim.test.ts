import assert from 'node:assert/strict';
import { createHash, sign as cryptoSign } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import {
  cachingResolver,
  canonicalizeBody,
  canonicalizeHeader,
  DKIM_KEY_CACHE_TTL_MS,
  DKIM_KEY_FAILURE_TTL_MS,
  MAX_DKIM_SIGNATURES,
  verifyDkim,
  type DkimResolver,
} from '../../../../sink/analysis/dkim.ts';
import { splitMessage } from '../../../../sink/analysis/headers.ts';
import { analyzeMessage } from '../../../../sink/analysis/index.ts';
import {
  ed25519Key,
  fixture,
  keyRecord,
  mapResolver,
  rsaKey,
  sign,
  type TestKey,
} from './dkim-helpers.ts';

const MESSAGE = Buffer.from(
  [
    'From: Alice <alice@example.com>',
    'To: bob@example.org',
    'Subject: Hello   there',
    'Date: Sat, 28 Nov 2026 01:00:00 +0000',
    'Message-ID: <m1@example.com>',
    '',
    'Hello  Bob, \t',
    'second line',
    '',
    '',
  ].join('\r\n'),
);

async function verify(raw: Buffer, records: Record<string, string | string[]>, now?: () => Date) {
  const split = splitMessage(raw);
  return verifyDkim(raw, split.headers, split.bodyOffset, { resolver: mapResolver(records), now });
}

/** simple/simple rsa-sha256 signature computed directly with node:crypto (the signed-header list is taken as given). */
function handSign(head: string, body: string, key: TestKey, h: string): Buffer {
  const bh = createHash('sha256').update(body).digest('base64');
  const sigNoB = `DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=example.com; s=hand; h=${h}; bh=${bh}; b=`;
  // Signed headers bottom-up per name; a name listed more often than present signs nothing more.
  const lines = head.split('\r\n').filter((l) => l !== '');
  const used = new Set<number>();
  let data = '';
  for (const name of h.split(':')) {
    for (let i = lines.length - 1; i >= 0; i--) {
      if (!used.has(i) && lines[i].toLowerCase().startsWith(`${name}:`)) {
        used.add(i);
        data += `${lines[i]}\r\n`;
        break;
      }
    }
  }
  data += sigNoB;
  const b = cryptoSign('sha256', Buffer.from(data), key.privatePem).toString('base64');
  return Buffer.from(`${sigNoB}${b}\r\n${head}\r\n${body}`);
}

describe('analysis/dkim', () => {
  let rsa: TestKey;
  let ed: TestKey;
  before(() => {
    rsa = rsaKey(2048);
    ed = ed25519Key();
  });

  describe('canonicalization (RFC 6376 section 3.4)', () => {
    it('relaxed body: collapses blanks, strips line-end blanks and trailing empty lines', () => {
      assert.equal(canonicalizeBody(' C \r\nD \t E\r\n\r\n\r\n', 'relaxed'), ' C\r\nD E\r\n');
    });
    it('simple body: keeps blanks, reduces trailing empty lines to one CRLF', () => {
      assert.equal(canonicalizeBody(' C \r\nD \t E\r\n\r\n\r\n', 'simple'), ' C \r\nD \t E\r\n');
    });
    it('empty bodies: CRLF for simple, empty for relaxed', () => {
      assert.equal(canonicalizeBody('', 'simple'), '\r\n');
      assert.equal(canonicalizeBody('', 'relaxed'), '');
      assert.equal(canonicalizeBody('\r\n\r\n', 'relaxed'), '');
    });
    it('bare LF bodies are read as CRLF', () => {
      assert.equal(canonicalizeBody('a\nb\n', 'simple'), 'a\r\nb\r\n');
    });
    it('relaxed header: lower-case name, unfolded, single spaces, no blanks around the colon', () => {
      const h = {
        name: 'SUBJect',
        key: 'subject',
        raw: 'SUBJect \t:  Hello \r\n\t  World  ',
        value: '',
      };
      assert.equal(canonicalizeHeader(h, 'relaxed'), 'subject:Hello World');
      assert.equal(canonicalizeHeader(h, 'simple'), h.raw);
    });
    it('a long run of blanks without a line break canonicalizes in linear time', () => {
      const body = `x${' '.repeat(2_000_000)}y`;
      assert.equal(canonicalizeBody(body, 'relaxed'), 'x y\r\n');
    });
  });

  for (const c of ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed']) {
    it(`passes an rsa-sha256 ${c} signature made by mailauth`, async () => {
      const signed = await sign(MESSAGE, rsa, { canonicalization: c });
      const v = await verify(signed, { 'test._domainkey.example.com': keyRecord(rsa) });
      assert.equal(v.result, 'pass', JSON.stringify(v.signatures));
      assert.equal(v.signatures[0].domain, 'example.com');
      assert.equal(v.signatures[0].selector, 'test');
      assert.equal(v.signatures[0].algorithm, 'rsa-sha256');
      assert.ok(v.signatures[0].signedHeaders?.includes('from'));
    });
  }

  it('passes an ed25519-sha256 signature (RFC 8463)', async () => {
    const signed = await sign(MESSAGE, ed, { algorithm: 'ed25519-sha256', selector: 'ed' });
    const v = await verify(signed, { 'ed._domainkey.example.com': keyRecord(ed) });
    assert.equal(v.result, 'pass', JSON.stringify(v.signatures));
    assert.equal(v.signatures[0].algorithm, 'ed25519-sha256');
  });

  it('verifies two signatures independently and reports the best result', async () => {
    const once = await sign(MESSAGE, rsa, { selector: 'a' });
    const twice = await sign(once, ed, {
      selector: 'b',
      domain: 'other.example',
      algorithm: 'ed25519-sha256',
    });
    const v = await verify(twice, { 'a._domainkey.example.com': keyRecord(rsa) }); // b's key is missing
    assert.equal(v.signatures.length, 2);
    const bySelector = Object.fromEntries(v.signatures.map((s) => [s.selector, s.result]));
    assert.deepEqual(bySelector, { a: 'pass', b: 'permerror' });
    assert.equal(v.result, 'pass');
  });

  it('fails when the body was changed after signing', async () => {
    const signed = await sign(MESSAGE, rsa);
    const tampered = Buffer.from(
      signed.toString('latin1').replace('second line', 'second lime'),
      'latin1',
    );
    const v = await verify(tampered, { 'test._domainkey.example.com': keyRecord(rsa) });
    assert.equal(v.result, 'fail');
    assert.match(v.signatures[0].info ?? '', /body hash/);
  });

  it('fails when a signed header was changed after signing', async () => {
    const signed = await sign(MESSAGE, rsa);
    const tampered = Buffer.from(
      signed.toString('latin1').replace('Subject: Hello', 'Subject: Jello'),
      'latin1',
    );
    const v = await verify(tampered, { 'test._domainkey.example.com': keyRecord(rsa) });
    assert.equal(v.result, 'fail');
    assert.match(v.signatures[0].info ?? '', /signature did not verify/);
  });

  it('over-signed From (h=from:from): adding a From above the signed one fails (bottom-up selection, null for absent)', async () => {
    const head = 'From: joe@example.com\r\nSubject: over-signed\r\n';
    const raw = handSign(head, 'Hi.\r\n', rsa, 'from:from:subject');
    const records = { 'hand._domainkey.example.com': keyRecord(rsa) };
    assert.equal((await verify(raw, records)).result, 'pass');
    const withSecondFrom = Buffer.concat([Buffer.from('From: mallory@evil.example\r\n'), raw]);
    assert.equal((await verify(withSecondFrom, records)).result, 'fail');
  });

  it('still passes when an unsigned header is added', async () => {
    const signed = await sign(MESSAGE, rsa);
    const v = await verify(Buffer.concat([Buffer.from('Received: from somewhere\r\n'), signed]), {
      'test._domainkey.example.com': keyRecord(rsa),
    });
    assert.equal(v.result, 'pass');
  });

  it('passes a message stored with bare LF line endings', async () => {
    const signed = await sign(MESSAGE, rsa, { canonicalization: 'simple/simple' });
    const lf = Buffer.from(signed.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const v = await verify(lf, { 'test._domainkey.example.com': keyRecord(rsa) });
    assert.equal(v.result, 'pass', JSON.stringify(v.signatures));
  });

  it('honours l= (content appended after the signed length still passes) and reports the length', async () => {
    const signed = await sign(MESSAGE, rsa, { maxBodyLength: 10 });
    const appended = Buffer.concat([signed, Buffer.from('Appended by someone else\r\n')]);
    const v = await verify(appended, { 'test._domainkey.example.com': keyRecord(rsa) });
    assert.equal(v.result, 'pass', JSON.stringify(v.signatures));
    assert.equal(v.signatures[0].bodyLength, 10);
    const a = await analyzeMessage(appended, null, {
      dkimResolver: mapResolver({ 'test._domainkey.example.com': keyRecord(rsa) }),
    });
    assert.ok(a.reasons.some((r) => r.code === 'dkim-body-length'));
  });

  it('permerror when no key record exists (NXDOMAIN)', async () => {
    const signed = await sign(MESSAGE, rsa);
    const v = await verify(signed, {});
    assert.equal(v.result, 'permerror');
    assert.match(v.signatures[0].info ?? '', /no key record at test\._domainkey\.example\.com/);
  });

  it('temperror when the resolver fails with SERVFAIL', async () => {
    const signed = await sign(MESSAGE, rsa);
    const split = splitMessage(signed);
    const v = await verifyDkim(signed, split.headers, split.bodyOffset, {
      resolver: async () => {
        throw Object.assign(new Error('queryTxt ESERVFAIL'), { code: 'ESERVFAIL' });
      },
    });
    assert.equal(v.result, 'temperror');
    assert.match(v.signatures[0].info ?? '', /ESERVFAIL/);
  });

  it('temperror when the lookup does not answer within the time box', async () => {
    const signed = await sign(MESSAGE, rsa);
    const split = splitMessage(signed);
    const v = await verifyDkim(signed, split.headers, split.bodyOffset, {
      resolver: () => new Promise<string[][]>(() => undefined), // never answers, like DNS that is firewalled away
      timeoutMs: 50,
    });
    assert.equal(v.result, 'temperror');
    assert.match(v.signatures[0].info ?? '', /timed out after 50 ms/);
  });

  it('permerror for a revoked key (empty p=) and for a key of the wrong type', async () => {
    const signed = await sign(MESSAGE, rsa);
    assert.equal(
      (await verify(signed, { 'test._domainkey.example.com': 'v=DKIM1; k=rsa; p=' })).result,
      'permerror',
    );
    assert.equal(
      (await verify(signed, { 'test._domainkey.example.com': keyRecord(ed) })).result,
      'permerror',
    );
  });

  it('fails with the wrong key of the right type', async () => {
    const signed = await sign(MESSAGE, rsa);
    const other = rsaKey(1024);
    const v = await verify(signed, { 'test._domainkey.example.com': keyRecord(other) });
    assert.equal(v.result, 'fail');
  });

  it('permerror for RSA keys under 1024 bits (RFC 8301)', async () => {
    const small = rsaKey(512);
    const signed = await sign(MESSAGE, small);
    const v = await verify(signed, { 'test._domainkey.example.com': keyRecord(small) });
    assert.equal(v.result, 'permerror');
    assert.match(v.signatures[0].info ?? '', /512 bits/);
  });

  it('refuses rsa-sha1 (RFC 8301)', async () => {
    const signed = await sign(MESSAGE, rsa, { algorithm: 'rsa-sha1' });
    const v = await verify(signed, { 'test._domainkey.example.com': keyRecord(rsa) });
    assert.equal(v.result, 'permerror');
    assert.match(v.signatures[0].info ?? '', /rsa-sha1/);
  });

  it('fails an expired signature (x=) against the injected clock', async () => {
    const signTime = new Date('2026-11-01T00:00:00Z');
    const signed = await sign(MESSAGE, rsa, {
      signTime,
      expires: new Date('2026-11-02T00:00:00Z'),
    });
    const records = { 'test._domainkey.example.com': keyRecord(rsa) };
    assert.equal(
      (await verify(signed, records, () => new Date('2026-11-01T12:00:00Z'))).result,
      'pass',
    );
    const late = await verify(signed, records, () => new Date('2026-11-03T00:00:00Z'));
    assert.equal(late.result, 'fail');
    assert.match(late.signatures[0].info ?? '', /expired/);
  });

  it('none when there is no signature', async () => {
    const v = await verify(MESSAGE, {});
    assert.deepEqual(v, { result: 'none', signatures: [], skipped: 0 });
  });

  it('permerror for malformed signatures, without throwing', async () => {
    const cases = [
      'DKIM-Signature: garbage',
      'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=test',
      'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=test; h=subject; bh=AAAA; b=AAAA',
      'DKIM-Signature: v=1; a=rsa-sha256; a=rsa-sha256; d=example.com; s=test; h=from; bh=AAAA; b=AAAA',
      'DKIM-Signature: v=1; a=hmac-md5; d=example.com; s=test; h=from; bh=AAAA; b=AAAA',
      'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=test; h=from; bh=!!!; b=AAAA',
      'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=test; i=@evil.example; h=from; bh=AAAA; b=AAAA',
      'DKIM-Signature: v=1; a=rsa-sha256; d=../../etc; s=test; h=from; bh=AAAA; b=AAAA',
    ];
    for (const header of cases) {
      const v = await verify(Buffer.concat([Buffer.from(`${header}\r\n`), MESSAGE]), {});
      assert.equal(v.result, 'permerror', header);
    }
  });

  it(`checks at most ${MAX_DKIM_SIGNATURES} signatures and reports the rest as skipped`, async () => {
    let signed: Buffer = MESSAGE;
    for (let i = 0; i < MAX_DKIM_SIGNATURES + 3; i++)
      signed = await sign(signed, ed, { algorithm: 'ed25519-sha256', selector: 'ed' });
    const calls: string[] = [];
    const split = splitMessage(signed);
    const v = await verifyDkim(signed, split.headers, split.bodyOffset, {
      resolver: mapResolver({ 'ed._domainkey.example.com': keyRecord(ed) }, calls),
    });
    assert.equal(v.signatures.length, MAX_DKIM_SIGNATURES);
    assert.equal(v.skipped, 3);
    assert.equal(calls.length, 1, 'the key is looked up once per message');
  });

  describe('cachingResolver (wraps the default DNS resolver)', () => {
    it('reuses answers for the TTL and failures for a shorter time, on an injected clock', async () => {
      let t = 0;
      const calls: string[] = [];
      let failing = true;
      const base: DkimResolver = async (name) => {
        calls.push(name);
        if (failing) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
        return [['v=DKIM1; p=AAAA']];
      };
      const r = cachingResolver(base, () => t);
      await assert.rejects(r('s._domainkey.example.com', 'TXT'));
      t += DKIM_KEY_FAILURE_TTL_MS - 1;
      await assert.rejects(r('S._domainkey.EXAMPLE.com', 'TXT'));
      assert.equal(calls.length, 1, 'the failure is remembered (names are case-insensitive)');
      failing = false;
      t += 2;
      assert.deepEqual(await r('s._domainkey.example.com', 'TXT'), [['v=DKIM1; p=AAAA']]);
      t += DKIM_KEY_CACHE_TTL_MS - 1;
      await r('s._domainkey.example.com', 'TXT');
      assert.equal(calls.length, 2, 'the answer is reused within its TTL');
      t += 2;
      await r('s._domainkey.example.com', 'TXT');
      assert.equal(calls.length, 3, 'and asked again after it');
    });

    it('a lookup that never answers settles as ETIMEOUT within the time box and is remembered as a failure', async () => {
      const calls: string[] = [];
      const r = cachingResolver(
        async (name) => {
          calls.push(name);
          return new Promise<string[][]>(() => undefined);
        },
        () => 0,
        30,
      );
      await assert.rejects(r('hung._domainkey.example.com', 'TXT'), { code: 'ETIMEOUT' });
      await assert.rejects(r('hung._domainkey.example.com', 'TXT'), { code: 'ETIMEOUT' });
      assert.equal(calls.length, 1);
    });
  });

  it('verifies a signature made with node:crypto by hand (independent of mailauth), with the key split across TXT strings', async () => {
    const raw = handSign(
      'From: joe@example.com\r\nSubject: hand made\r\n',
      'Hi.\r\n',
      rsa,
      'from:subject',
    );
    const v = await verify(raw, { 'hand._domainkey.example.com': `v=DKIM1; p=${rsa.p}` });
    assert.equal(v.result, 'pass', JSON.stringify(v.signatures));
  });

  it("agrees with mailauth's verifier on pass and fail for the newsletter fixture", async () => {
    const signed = await sign(fixture('newsletter-one-click.eml'), rsa, {
      headerList: [
        'from',
        'to',
        'subject',
        'date',
        'message-id',
        'list-unsubscribe',
        'list-unsubscribe-post',
      ],
    });
    const tampered = Buffer.from(
      signed.toString('latin1').replace('Three new', 'Four new'),
      'latin1',
    );
    const records = { 'test._domainkey.example.com': keyRecord(rsa) };
    const resolver = mapResolver(records);
    for (const [raw, expected] of [
      [signed, 'pass'],
      [tampered, 'fail'],
    ] as const) {
      const ours = await verify(raw, records);
      const theirs = await dkimVerify(raw, { resolver: resolver as never });
      assert.equal(ours.result, expected);
      const theirResult = (theirs.results[0] as { status: { result: string } }).status.result;
      // mailauth reports a body hash mismatch as "neutral"; RFC 6376 section 6.3 makes it a failure, as we do.
      if (expected === 'pass') assert.equal(theirResult, 'pass');
      else assert.ok(theirResult === 'fail' || theirResult === 'neutral', theirResult);
    }
  });
});
