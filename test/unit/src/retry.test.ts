import assert from 'node:assert/strict';
import { FakeClock } from '../../support/fake-clock.ts';
import { MAX_ATTEMPTS, retry } from '../../../src/retry.ts';

describe('retry (src/retry.ts)', () => {
  it('retries until classify says stop, waiting on the clock', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(async () => ++calls, {
      attempts: 5,
      baseMs: 100,
      maxMs: 1000,
      jitter: 'none',
      clock,
      classify: (o) => ({ retry: (o.value ?? 0) < 3 }),
    });
    await clock.runUntilIdle();
    assert.equal(await p, 3);
    assert.equal(clock.now(), 100 + 200);
  });

  it('honours an explicit wait (Retry-After) over the backoff', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(async () => ++calls, {
      attempts: 3,
      baseMs: 100,
      maxMs: 10_000,
      clock,
      classify: (o) => ({ retry: o.value === 1, afterMs: 7000 }),
    });
    await clock.runUntilIdle();
    assert.equal(await p, 2);
    assert.equal(clock.now(), 7000);
  });

  it('is bounded: attempts are capped and the last error is thrown', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(
      async () => {
        calls++;
        throw new Error('nope');
      },
      { attempts: 1000, baseMs: 1, maxMs: 1, clock, classify: () => ({ retry: true }) },
    );
    const settled = p.catch((e: Error) => e);
    await clock.runUntilIdle();
    assert.match(String(await settled), /nope/);
    assert.equal(calls, MAX_ATTEMPTS);
  });
});
