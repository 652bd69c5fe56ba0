import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FakeClock } from '../../support/fake-clock.ts';
import { TokenBucket } from '../../../src/limits/token-bucket.ts';
import { Semaphore } from '../../../src/limits/semaphore.ts';
import { KeyedLimiter } from '../../../src/limits/keyed-limiter.ts';

/** Starts `n` takers and records the fake time at which each got its token. */
function takeAll(bucket: TokenBucket, clock: FakeClock, n: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) void bucket.take().then(() => times.push(clock.now()));
  return times;
}

describe('limits/TokenBucket (fake clock)', () => {
  it('grants the burst at once, then exactly `rate` per second', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 10, burst: 5, clock });
    const times = takeAll(b, clock, 105);
    await clock.advance(10_000);
    assert.equal(times.length, 105);
    assert.equal(times.filter((t) => t === 0).length, 5);
    assert.equal(times[104], 10_000);
    // No window of one second holds more than rate + burst grants.
    for (let start = 0; start <= 10_000; start += 50) {
      const inWindow = times.filter((t) => t >= start && t < start + 1000).length;
      assert.ok(inWindow <= 15, `window at ${start}: ${inWindow}`);
    }
  });

  it('achieves the configured rate over a long run', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 200, burst: 20, clock });
    const times = takeAll(b, clock, 200 * 30 + 20);
    await clock.advance(30_000);
    assert.equal(times.length, 200 * 30 + 20);
    const rate = (times.length - 20) / ((times.at(-1)! - times[20]) / 1000);
    assert.ok(Math.abs(rate - 200) / 200 < 0.02, `rate ${rate}`);
  });

  it('serves waiters in FIFO order and refills while idle', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 1, burst: 1, clock });
    const order: number[] = [];
    for (let i = 0; i < 3; i++) void b.take().then(() => order.push(i));
    await clock.advance(2000);
    assert.deepEqual(order, [0, 1, 2]);
    await clock.advance(5000);
    assert.equal(b.tryTake(), true);
    assert.equal(b.tryTake(), false);
  });

  it('rejects a take when its signal aborts, and frees its place', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 1, burst: 1, clock });
    b.tryTake();
    const ac = new AbortController();
    const p = b.take(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(b.queued, 0);
  });

  it('validates its options', () => {
    const clock = new FakeClock();
    assert.throws(() => new TokenBucket({ rate: 0, burst: 1, clock }), RangeError);
    assert.throws(() => new TokenBucket({ rate: 1, burst: 0, clock }), RangeError);
  });
});

describe('limits/Semaphore and KeyedLimiter', () => {
  it('never runs more than the limit at once', async () => {
    const s = new Semaphore(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const release = await s.acquire();
        active++;
        peak = Math.max(peak, active);
        await Promise.resolve();
        active--;
        release();
      }),
    );
    assert.equal(peak, 3);
    assert.equal(s.idle, true);
  });

  it('limits concurrency and rate per key, independently across keys', async () => {
    const clock = new FakeClock();
    const l = new KeyedLimiter({ concurrency: 1, rate: 2, burst: 1 }, clock);
    const started: Array<[string, number]> = [];
    const run = async (key: string): Promise<void> => {
      const release = await l.acquire(key);
      started.push([key, clock.now()]);
      release();
    };
    const all = Promise.all([run('a'), run('a'), run('a'), run('b'), run('b')]);
    await clock.advance(2000);
    await all;
    const a = started.filter(([k]) => k === 'a').map(([, t]) => t);
    const b = started.filter(([k]) => k === 'b').map(([, t]) => t);
    assert.deepEqual(a, [0, 500, 1000]);
    assert.deepEqual(b, [0, 500]);
  });

  it('drops idle keys so memory follows the keys in use', async () => {
    const clock = new FakeClock();
    const l = new KeyedLimiter({ concurrency: 2, rate: 10, burst: 10 }, clock);
    for (let i = 0; i < 100; i++) (await l.acquire(`k${i}`))();
    await clock.advance(5000);
    l.sweep();
    assert.equal(l.size, 0);
  });

  it('uses overrides for some keys (e.g. a lower Microsoft budget)', () => {
    const clock = new FakeClock();
    const l = new KeyedLimiter(
      { concurrency: 6, rate: 3, burst: 1 },
      clock,
      new Map([['microsoft', { concurrency: 2, rate: 1, burst: 1 }]]),
    );
    assert.equal(l.limitOf('microsoft').concurrency, 2);
    assert.equal(l.limitOf('google').concurrency, 6);
  });
});
