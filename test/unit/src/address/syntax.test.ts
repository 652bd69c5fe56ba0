import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DIAGNOSES,
  diagnose,
  diagnoseSlow,
  isIPv4,
  utf8Length,
  type Diagnosis,
} from '../../../../src/address/syntax.ts';

interface Case {
  group: string;
  address: string;
  diagnosis: Diagnosis;
  category: string;
}
const corpus = JSON.parse(
  readFileSync(new URL('../../../fixtures/addresses/syntax-corpus.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

describe('address/syntax: corpus (is_email categories)', () => {
  for (const c of corpus.cases) {
    it(`${c.group} ${JSON.stringify(c.address).slice(0, 70)} -> ${c.diagnosis}`, () => {
      const r = diagnose(c.address);
      assert.equal(r.diagnosis, c.diagnosis);
      assert.equal(r.category, DIAGNOSES[c.diagnosis]);
    });
  }

  it('covers every diagnosis code and every is_email group we handle', () => {
    const seen = new Set(corpus.cases.map((c) => c.diagnosis));
    // err_not_envelope_safe is the last gate behind the scanner: no input reaches it unless the scanner has a bug.
    const missing = Object.keys(DIAGNOSES).filter(
      (d) => !seen.has(d as Diagnosis) && d !== 'err_not_envelope_safe',
    );
    assert.deepEqual(missing, []);
    assert.deepEqual([...new Set(corpus.cases.map((c) => c.group))].sort(), [
      'CFWS',
      'DEPREC',
      'ERR',
      'RFC5321',
      'RFC5322',
      'VALID',
    ]);
  });

  it('the fast path agrees with the full scanner on every case', () => {
    for (const c of corpus.cases)
      assert.deepEqual(diagnose(c.address), diagnoseSlow(c.address), c.address);
  });
});

describe('address/syntax: normalisation and flags', () => {
  it('lower-cases the domain, keeps the local part case', () => {
    const r = diagnose('John.Smith@Example.COM');
    assert.equal(r.local, 'John.Smith');
    assert.equal(r.domain, 'example.com');
  });

  it('unquotes a quoted local part that is a plain dot-atom (same mailbox)', () => {
    assert.equal(diagnose('"john"@example.com').local, 'john');
    assert.equal(
      diagnose('"john"@example.com').diagnosis,
      'rfc5321_quoted_string',
      'unusual as written, though the mailbox is john@',
    );
    assert.equal(diagnose('"john smith"@example.com').local, '"john smith"');
    assert.equal(diagnose('"a\\"b"@example.com').local, '"a\\"b"');
  });

  it('strips comments and folding white space from the envelope form', () => {
    const r = diagnose('(hi) john@example.com (there)');
    assert.equal(r.local, 'john');
    assert.equal(r.domain, 'example.com');
  });

  it('converts IDN domains with strict IDNA and flags them', () => {
    const r = diagnose('a@Bücher.DE');
    assert.equal(r.domain, 'xn--bcher-kva.de');
    assert.equal(r.idn, true);
    assert.equal(r.domainInput, 'Bücher.DE');
  });

  it('rejects what lenient IDNA (url.domainToASCII) accepts', () => {
    for (const d of [
      'ex_ample.com',
      '-iana.org',
      'a..b.com',
      'x'.repeat(64) + '.com',
      'xn--zz.com',
      'a.b-',
    ]) {
      assert.equal(diagnose(`u@${d}`).category, 'invalid', d);
    }
  });

  it('flags UTF-8 local parts as needing SMTPUTF8', () => {
    const r = diagnose('josé@example.com');
    assert.equal(r.smtputf8, true);
    assert.equal(r.category, 'valid');
    assert.equal(diagnose('jose@example.com').smtputf8, false);
  });

  it('counts octets, not characters, for the 64-octet local part limit', () => {
    assert.equal(diagnose(`${'é'.repeat(32)}@example.com`).category, 'valid');
    assert.equal(diagnose(`${'é'.repeat(33)}@example.com`).diagnosis, 'rfc5322_local_too_long');
    assert.equal(utf8Length('é€😀'), 2 + 3 + 4);
  });

  it('keeps address literals as the domain', () => {
    const r = diagnose('a@[192.0.2.1]');
    assert.equal(r.literal, true);
    assert.equal(r.domain, '[192.0.2.1]');
  });

  it('parses dotted-quad IPv4 strictly', () => {
    assert.equal(isIPv4('1.2.3.4'), true);
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.1.1.1', '1..2.3', ''])
      assert.equal(isIPv4(bad), false, bad);
  });

  it('stays linear on hostile input (no backtracking)', () => {
    const hostile = [
      '('.repeat(1000),
      '"'.repeat(1000),
      `${'a.'.repeat(500)}@`,
      `a@${'['.repeat(1000)}`,
      '\\'.repeat(1000),
    ];
    for (const h of hostile) assert.equal(diagnose(h).category, 'invalid');
  });
});
