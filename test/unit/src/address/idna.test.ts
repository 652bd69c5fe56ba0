/**
 * The fast path for plain LDH domains (isPlainLdhDomain) must agree with strict IDNA
 * (domainToAsciiStrict) on every domain it accepts, and refuse each rule it checks.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { domainToAsciiStrict, isPlainLdhDomain } from '../../../../src/address/idna.ts';

describe('address/idna', () => {
  const label63 = 'a'.repeat(63);
  const cases: Array<[domain: string, plain: boolean, why: string]> = [
    ['example.com', true, 'lower-case LDH'],
    ['EXAMPLE.Com', true, 'upper-case letters'],
    ['a-b.c0.z9', true, 'hyphen inside, digits'],
    ['az.AZ.09', true, 'the range ends a, z, A, Z, 0, 9'],
    [`${label63}.com`, true, 'a 63-character label'],
    [`${'a'.repeat(64)}.com`, false, 'a 64-character label'],
    ['', false, 'empty'],
    ['example..com', false, 'an empty label'],
    ['example.com.', false, 'a trailing dot (an empty last label)'],
    ['.example.com', false, 'an empty first label'],
    ['-example.com', false, 'a label starting with a hyphen'],
    ['example-.com', false, 'a label ending with a hyphen'],
    ['ab--cd.com', false, 'hyphens in positions 3 and 4'],
    ['xn--nxasmq6b.com', false, 'an A-label (tr46 checks its punycode)'],
    ['ab-cd.com', true, 'one hyphen in position 3'],
    ['a--b.com', true, 'hyphens in positions 2 and 3'],
    ['abc-d.com', true, 'one hyphen in position 4'],
    ['abc-.x', false, 'a 4-character label ending with a hyphen'],
    ['ex_ample.com', false, 'an underscore'],
    ['exa mple.com', false, 'a space'],
    ['exámple.com', false, 'a non-ASCII letter'],
    ['ex@mple.com', false, '@ (just below A)'],
    ['ex[mple.com', false, '[ (just above Z)'],
    ['ex`mple.com', false, '` (just below a)'],
    ['ex{mple.com', false, '{ (just above z)'],
    ['ex/mple.com', false, '/ (just below 0)'],
    ['ex:mple.com', false, ': (just above 9)'],
    [`${[label63, label63, label63, 'a'.repeat(61)].join('.')}`, true, '253 characters'],
    [`${[label63, label63, label63, 'a'.repeat(62)].join('.')}`, false, '254 characters'],
  ];

  for (const [domain, plain, why] of cases) {
    it(`${plain ? 'takes' : 'leaves'} ${why} ${plain ? 'on' : 'off'} the fast path`, () => {
      assert.equal(isPlainLdhDomain(domain), plain, JSON.stringify(domain));
      if (plain) assert.equal(domainToAsciiStrict(domain), domain.toLowerCase());
    });
  }

  it('strict IDNA converts U-labels and refuses what a mail domain must not be', () => {
    assert.equal(domainToAsciiStrict('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(domainToAsciiStrict(''), null);
    assert.equal(domainToAsciiStrict('ex_ample.com'), null);
    assert.equal(domainToAsciiStrict('-iana.org'), null);
    assert.equal(domainToAsciiStrict(`${'a'.repeat(64)}.com`), null);
  });
});
