/**
 * SMTP probe planning, case by case: HELO and MAIL FROM identities, which MX hosts are dialled,
 * how each RCPT reply is classified at the boundaries of its code range, the enhanced status
 * parser, and the catch-all probe's random local part.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import type { DomainDns } from '../../../../src/address/dns.ts';
import {
  CATCH_ALL_LOCAL_LENGTH,
  classifyRcpt,
  enhancedOf,
  heloProblem,
  mailFromProblem,
  probeTargets,
  randomLocalPart,
  type RcptClass,
} from '../../../../src/address/smtp-plan.ts';

describe('address/smtp-plan: identities', () => {
  it('says why a HELO name is refused, in words', () => {
    assert.equal(heloProblem(''), 'is empty');
    assert.equal(heloProblem('bad host'), 'is not a valid host name');
    assert.equal(heloProblem('[127.0.0.1]'), 'is not a valid host name');
    assert.equal(
      heloProblem('myhost'),
      'is not fully qualified (it needs a dot, e.g. probe.mail.example.net)',
    );
    assert.equal(
      heloProblem('mx.Google.com'),
      'claims to be google.com, which gets probing hosts blocklisted; use a name that resolves to this machine',
    );
    assert.equal(heloProblem('probe.mail.example.net'), null);
  });

  it('refuses a provider and its sub-domains, not a domain that only ends with its name', () => {
    assert.match(heloProblem('a.b.outlook.com') ?? '', /claims to be outlook\.com/);
    assert.equal(heloProblem('notoutlook.com'), null);
    assert.equal(heloProblem('outlook.com.example.net'), null);
    assert.match(heloProblem('mail.localdomain') ?? '', /claims to be localdomain/);
  });

  it('says why a MAIL FROM address is refused, and allows the null sender', () => {
    assert.equal(mailFromProblem(''), null);
    assert.equal(mailFromProblem('verify@acme.io'), null);
    assert.match(mailFromProblem('not an address') ?? '', /^is not a valid address \(.+\)$/);
    assert.equal(
      mailFromProblem('x@Mail.Yahoo.com'),
      'uses yahoo.com, whose SPF will fail from here; use a domain you control or the null sender ""',
    );
  });
});

describe('address/smtp-plan: probeTargets', () => {
  const dns: DomainDns = {
    status: 'ok',
    implicitMx: false,
    mx: [
      {
        exchange: 'a.mx',
        priority: 1,
        addresses: ['10.0.0.1', '192.0.2.10', '192.0.2.11'],
        private: true,
      },
      { exchange: 'b.mx', priority: 5, addresses: ['127.0.0.1'], private: true },
      { exchange: 'c.mx', priority: 9, addresses: [], private: false },
      { exchange: 'd.mx', priority: 10, addresses: ['192.0.2.40'], private: false },
    ],
  };

  it('dials the first public address of each MX host, in priority order', () => {
    assert.deepEqual(probeTargets(dns, false), [
      { host: 'a.mx', address: '192.0.2.10' },
      { host: 'd.mx', address: '192.0.2.40' },
    ]);
  });

  it('takes private addresses too when allowed (tests on loopback), still one per host', () => {
    assert.deepEqual(probeTargets(dns, true), [
      { host: 'a.mx', address: '10.0.0.1' },
      { host: 'b.mx', address: '127.0.0.1' },
      { host: 'd.mx', address: '192.0.2.40' },
    ]);
  });
});

describe('address/smtp-plan: classifyRcpt', () => {
  const cases: readonly (readonly [number, string | undefined, string, RcptClass])[] = [
    [199, undefined, 'odd', 'rejected'],
    [200, undefined, 'ok', 'accepted'],
    [250, '2.1.5', 'ok', 'accepted'],
    [299, undefined, 'ok', 'accepted'],
    [300, undefined, 'odd', 'rejected'],
    [354, undefined, 'go on', 'rejected'],
    [399, undefined, 'odd', 'rejected'],
    [400, undefined, 'later', 'temporary'],
    [450, '4.2.0', 'mailbox busy', 'temporary'],
    [499, undefined, 'later', 'temporary'],
    [500, undefined, 'syntax', 'rejected'],
    [550, '5.1.1', 'blocked by policy', 'no_mailbox'], // the enhanced code names the mailbox
    [550, '5.1.0', 'x', 'no_mailbox'],
    [550, '5.1.10', 'x', 'no_mailbox'],
    [550, '5.2.1', 'x', 'no_mailbox'],
    [550, '5.1.6', 'x', 'no_mailbox'],
    [550, '5.1.2', 'bad destination system', 'no_mailbox'], // not a mailbox code: falls to 550
    [552, '5.1.2', 'x', 'rejected'],
    [554, '5.7.1', 'go away', 'blocked'],
    [552, '5.0.7', 'x', 'rejected'], // 5.7 only as the prefix
    [550, undefined, 'No such user', 'no_mailbox'],
    [551, undefined, 'User not local', 'no_mailbox'],
    [553, undefined, 'Mailbox name not allowed', 'no_mailbox'],
    [552, undefined, 'Mailbox full', 'rejected'],
    [554, undefined, 'Transaction failed', 'rejected'],
    [599, undefined, 'odd', 'rejected'],
    [600, undefined, 'odd', 'rejected'],
  ];
  for (const [code, enhanced, message, want] of cases) {
    it(`${code} ${enhanced ?? '-'} ${message} → ${want}`, () => {
      assert.equal(classifyRcpt({ code, message, ...(enhanced ? { enhanced } : {}) }), want);
    });
  }

  for (const word of [
    'Spamhaus',
    'blocklist',
    'blacklist',
    'block list',
    'BLOCKED',
    'banned',
    'listed',
    'reputation',
    'not allowed to send',
    'RBL',
    'policy',
  ]) {
    it(`a 5xx that mentions "${word}" is a block of the sender, even as a 550`, () => {
      assert.equal(classifyRcpt({ code: 550, message: `rejected: ${word} here` }), 'blocked');
      assert.equal(classifyRcpt({ code: 554, message: `${word}` }), 'blocked');
    });
  }

  it('does not read block words in a 4xx', () => {
    assert.equal(classifyRcpt({ code: 451, message: 'listed, try later' }), 'temporary');
  });
});

describe('address/smtp-plan: enhancedOf', () => {
  const cases: readonly (readonly [string, string | undefined])[] = [
    ['5.1.1 nope', '5.1.1'],
    ['5.1.1', '5.1.1'],
    ['2.0.0 OK', '2.0.0'],
    ['4.7.1 later', '4.7.1'],
    ['5.1.10 x', '5.1.10'],
    ['5.123.456 x', '5.123.456'],
    ['5.1234.5 x', undefined], // at most three digits a part
    ['5.1.1234 x', undefined],
    ['3.1.1 x', undefined], // the class is 2, 4 or 5
    ['1.1.1 x', undefined],
    ['6.1.1 x', undefined],
    ['9.1.1 x', undefined],
    ['5..1 x', undefined],
    ['5.1. x', undefined],
    ['5.1 x', undefined],
    ['5.1', undefined],
    ['5.a.1 x', undefined],
    ['5/1.1 x', undefined],
    ['5.1/1 x', undefined],
    ['5.1.1x', undefined],
    ['5.1.1-x', undefined],
    ['550 no', undefined],
    ['', undefined],
    ['5', undefined],
  ];
  for (const [text, want] of cases) {
    it(`${JSON.stringify(text)} → ${want ?? 'none'}`, () => {
      assert.equal(enhancedOf(text), want);
    });
  }
});

describe('address/smtp-plan: randomLocalPart', () => {
  it(`is ev- and ${CATCH_ALL_LOCAL_LENGTH} characters of the alphabet, drawn from random()`, () => {
    assert.equal(
      randomLocalPart(() => 0),
      `ev-${'a'.repeat(CATCH_ALL_LOCAL_LENGTH)}`,
    );
    assert.equal(
      randomLocalPart(() => 0.999999),
      `ev-${'9'.repeat(CATCH_ALL_LOCAL_LENGTH)}`,
    );
    let i = 0;
    const seq = () => (i++ % 36) / 36;
    assert.equal(randomLocalPart(seq), 'ev-abcdefghijklmnopqrst');
    assert.equal(randomLocalPart(seq), 'ev-uvwxyz0123456789abcd');
  });
});
