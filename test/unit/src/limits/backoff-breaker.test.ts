import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../support/fake-clock.ts';
import { backoffDelay } from '../../../../src/limits/backoff.ts';
import { CircuitBreaker } from '../../../../src/limits/circuit-breaker.ts';
import { mailProviderOf } from '../../../../src/limits/mail-provider.ts';
import { sleep } from '../../../../src/clock.ts';

describe('limits/backoff', () => {
  it('grows exponentially, is capped, and jitters within bounds', () => {
    const o = { baseMs: 100, maxMs: 1000, jitter: 'none' as const };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => backoffDelay(a, o)),
      [100, 200, 400, 800, 1000],
    );
    assert.equal(
      backoffDelay(3, { baseMs: 100, maxMs: 1000, jitter: 'full', random: () => 0.5 }),
      200,
    );
    assert.equal(
      backoffDelay(3, { baseMs: 100, maxMs: 1000, jitter: 'equal', random: () => 0 }),
      200,
    );
    assert.equal(
      backoffDelay(3, { baseMs: 100, maxMs: 1000, jitter: 'equal', random: () => 0.999999 }),
      399,
    );
  });

  it('sleep rejects on abort', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = sleep(clock, 1000, ac.signal);
    ac.abort(new Error('aborted'));
    await assert.rejects(p, /aborted/);
    assert.equal(clock.pending, 0);
  });
});

describe('limits/CircuitBreaker', () => {
  it('opens after consecutive failures, half-opens after the cooldown, closes on success', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, clock });
    b.failure();
    b.failure();
    assert.equal(b.allow(), true);
    b.failure();
    assert.equal(b.state, 'open');
    assert.equal(b.allow(), false);
    await clock.advance(999);
    assert.equal(b.allow(), false);
    await clock.advance(1);
    assert.equal(b.allow(), true, 'one trial call');
    assert.equal(b.allow(), false, 'only one at a time');
    b.failure();
    assert.equal(b.state, 'open');
    await clock.advance(1000);
    assert.equal(b.allow(), true);
    b.success();
    assert.equal(b.state, 'closed');
  });

  it('a success resets the failure count', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, clock: new FakeClock() });
    b.failure();
    b.success();
    b.failure();
    assert.equal(b.state, 'closed');
  });
});

describe('limits/mailProviderOf', () => {
  it('groups MX hosts of big providers', () => {
    assert.equal(mailProviderOf('aspmx.l.google.com.'), 'google');
    assert.equal(mailProviderOf('alt1.gmail-smtp-in.l.google.com'), 'google');
    assert.equal(mailProviderOf('acme-com.mail.protection.outlook.com'), 'microsoft');
    assert.equal(mailProviderOf('mta7.am0.yahoodns.net'), 'yahoo');
    assert.equal(mailProviderOf('mx1.mail.icloud.com'), 'apple');
    assert.equal(mailProviderOf('mx0a-001.pphosted.com'), 'proofpoint');
  });

  it('groups other hosts by their registrable-looking domain, on label boundaries', () => {
    assert.equal(mailProviderOf('mx1.acme.com'), 'mx:acme.com');
    assert.equal(mailProviderOf('MX2.ACME.COM'), 'mx:acme.com');
    assert.equal(mailProviderOf('mail.example.co.uk'), 'mx:example.co.uk');
    assert.equal(mailProviderOf('notgoogle.com'), 'mx:notgoogle.com');
  });
});

describe('limits/CircuitBreaker: edges', () => {
  it('needs a failure threshold of at least 1', () => {
    const clock = new FakeClock();
    for (const bad of [0, NaN])
      assert.throws(() => new CircuitBreaker({ failureThreshold: bad, cooldownMs: 1, clock }), {
        name: 'RangeError',
        message: 'failureThreshold must be >= 1',
      });
    const one = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, clock });
    one.failure();
    assert.equal(one.state, 'open');
  });

  it('a breaker that never opened allows calls now', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, clock: new FakeClock() });
    assert.equal(b.retryInMs, 0);
  });

  it('tells how long until a trial call is allowed', async () => {
    const clock = new FakeClock(5000);
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, clock });
    assert.equal(b.retryInMs, 0, 'closed');
    b.failure();
    assert.equal(b.retryInMs, 1000);
    await clock.advance(300);
    assert.equal(b.retryInMs, 700);
    await clock.advance(5000);
    assert.equal(b.retryInMs, 0, 'past the cooldown');
  });
});

describe('limits/mailProviderOf: edges', () => {
  it('matches a provider domain itself, not only its subdomains', () => {
    assert.equal(mailProviderOf('google.com'), 'google');
    assert.equal(mailProviderOf('outlook.com.'), 'microsoft');
  });

  it('takes three labels only under a two-letter country code with a known second level', () => {
    assert.equal(mailProviderOf('example.co.uk'), 'mx:example.co.uk');
    assert.equal(mailProviderOf('mx.co.example'), 'mx:co.example');
    assert.equal(mailProviderOf('mx.acme.de'), 'mx:acme.de');
    assert.equal(mailProviderOf('mx.shop.co'), 'mx:shop.co');
    assert.equal(mailProviderOf('localhost'), 'mx:localhost');
  });
});
