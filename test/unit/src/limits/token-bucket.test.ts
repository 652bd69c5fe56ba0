import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';
import { MAX_BUCKET_WAITERS, TokenBucket } from '../../../../src/limits/token-bucket.ts';
import { Semaphore } from '../../../../src/limits/semaphore.ts';
import { KeyedLimiter, MAX_IDLE_KEYS } from '../../../../src/limits/keyed-limiter.ts';

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

/** A clock whose time the test sets and whose timers never fire: shows the state between two timers. */
function stillClock(): { t: number; now(): number; setTimeout(): unknown; clearTimeout(): void } {
  return {
    t: 0,
    now() {
      return this.t;
    },
    setTimeout: () => 1,
    clearTimeout: () => undefined,
  };
}

describe('limits/TokenBucket: edges', () => {
  it('says which option is wrong', () => {
    const clock = new FakeClock();
    assert.throws(() => new TokenBucket({ rate: 0, burst: 1, clock }), {
      name: 'RangeError',
      message: 'rate must be a positive number, got 0',
    });
    assert.throws(() => new TokenBucket({ rate: Infinity, burst: 1, clock }), RangeError);
    assert.throws(() => new TokenBucket({ rate: 1, burst: 0.5, clock }), {
      message: 'burst must be >= 1, got 0.5',
    });
  });

  it('schedules the wake-up for the exact time the next token is due', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 2, burst: 1, clock });
    assert.equal(b.tryTake(), true);
    await clock.advance(250); // half a token
    let at = -1;
    void b.take().then(() => (at = clock.now()));
    assert.equal(clock.nextAt(), 500);
    assert.equal(clock.pending, 1);
    await clock.advance(1000);
    assert.equal(at, 500);
  });

  it('does not let tryTake jump the queue when a token is due but its timer has not fired', () => {
    const clock = stillClock();
    const b = new TokenBucket({ rate: 1, burst: 1, clock });
    assert.equal(b.tryTake(), true);
    void b.take();
    clock.t = 5000;
    assert.equal(b.tryTake(), false);
    assert.equal(b.queued, 1);
    assert.equal(b.idle, false, 'full, but someone waits');
  });

  it('is idle only when full and nobody waits', () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 1, burst: 2, clock });
    assert.equal(b.idle, true);
    assert.equal(b.tryTake(), true);
    assert.equal(b.idle, false, 'one token short');
  });

  it(`refuses more than MAX_BUCKET_WAITERS (${MAX_BUCKET_WAITERS}) waiters`, async () => {
    const clock = stillClock();
    const b = new TokenBucket({ rate: 1, burst: 1, clock });
    b.tryTake();
    for (let i = 0; i < MAX_BUCKET_WAITERS; i++) void b.take();
    assert.equal(b.queued, MAX_BUCKET_WAITERS);
    await assert.rejects(b.take(), {
      name: 'RangeError',
      message: 'too many waiters on a token bucket',
    });
  });

  it('an aborted waiter in the middle gives up its place; a served one ignores a late abort', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 1, burst: 1, clock });
    b.tryTake();
    const got: Array<[string, number]> = [];
    const first = new AbortController();
    const middle = new AbortController();
    void b.take(first.signal).then(() => got.push(['first', clock.now()]));
    const m = b.take(middle.signal);
    m.catch(() => undefined);
    void b.take().then(() => got.push(['last', clock.now()]));
    void b.take().then(() => got.push(['after', clock.now()]));
    middle.abort(new Error('gone'));
    await assert.rejects(m, /gone/);
    await clock.advance(1000);
    first.abort(new Error('too late')); // already served: must not remove anyone
    await clock.advance(2000);
    assert.deepEqual(got, [
      ['first', 1000],
      ['last', 2000],
      ['after', 3000],
    ]);
  });

  it('a timer armed for a waiter that aborted finds nobody and keeps the token', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ rate: 1, burst: 1, clock });
    b.tryTake();
    const ac = new AbortController();
    const p = b.take(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    await clock.advance(1000);
    assert.equal(b.tryTake(), true);
  });
});

describe('limits/Semaphore: edges', () => {
  it('refuses a limit that is not an integer >= 1', () => {
    for (const bad of [0, -1, 1.5, NaN])
      assert.throws(() => new Semaphore(bad), {
        name: 'RangeError',
        message: `concurrency must be an integer >= 1, got ${bad}`,
      });
    assert.equal(new Semaphore(1).limit, 1);
  });

  it('is not idle while a slot is held, and a release is counted once', async () => {
    const s = new Semaphore(1);
    const release = await s.acquire();
    assert.equal(s.idle, false);
    assert.equal(s.inUse, 1);
    release();
    release();
    assert.equal(s.inUse, 0);
    assert.equal(s.idle, true);
    const again = await s.acquire();
    const queued = s.acquire();
    assert.equal(s.queued, 1);
    again();
    (await queued)();
    assert.equal(s.inUse, 0);
  });
});

describe('limits/KeyedLimiter: edges', () => {
  it(`sweeps idle keys only once it holds MAX_IDLE_KEYS (${MAX_IDLE_KEYS}) keys`, async () => {
    const clock = new FakeClock();
    const l = new KeyedLimiter({ concurrency: 1, rate: 1000, burst: 1 }, clock);
    (await l.acquire('a'))();
    await clock.advance(10);
    (await l.acquire('b'))();
    assert.equal(l.size, 2, 'no sweep below the bound');
    for (let i = 2; i < MAX_IDLE_KEYS; i++) (await l.acquire(`k${i}`))();
    assert.equal(l.size, MAX_IDLE_KEYS);
    await clock.advance(10);
    (await l.acquire('new'))();
    assert.equal(l.size, 1, 'the idle keys were swept when the bound was reached');
  });

  it('with more keys in use than MAX_IDLE_KEYS, sweeps a number of times that grows with the log of the keys, not once per key', async () => {
    const clock = new FakeClock(); // never advances: every bucket stays empty, no key is idle
    let sweeps = 0;
    const l = new (class extends KeyedLimiter {
      override sweep(): void {
        sweeps++;
        super.sweep();
      }
    })({ concurrency: 1, rate: 1 / 60, burst: 1 }, clock);
    const keys = 8 * MAX_IDLE_KEYS;
    for (let i = 0; i < keys; i++) (await l.acquire(`d${i}.example`))();
    assert.equal(l.size, keys, 'a key whose bucket has not refilled is kept (its rate holds)');
    // at MAX_IDLE_KEYS, then at twice what each sweep kept: 1x, 2x, 4x: three sweeps for 8x
    assert.equal(sweeps, 3);
    await clock.advance(60_000); // every bucket full again
    (await l.acquire('next.example'))();
    assert.equal(sweeps, 4);
    assert.equal(l.size, 1, 'the idle keys go at the next sweep');
  });

  it('keeps a key with a slot in use even when its bucket is full', async () => {
    const clock = new FakeClock();
    const l = new KeyedLimiter({ concurrency: 1, rate: 10, burst: 1 }, clock);
    const release = await l.acquire('busy');
    await clock.advance(5000);
    l.sweep();
    assert.equal(l.size, 1);
    release();
    l.sweep();
    assert.equal(l.size, 0);
  });

  it('frees the slot when the wait for a token is aborted', async () => {
    const clock = new FakeClock();
    const l = new KeyedLimiter({ concurrency: 1, rate: 1, burst: 1 }, clock);
    (await l.acquire('k'))();
    const ac = new AbortController();
    const p = l.acquire('k', ac.signal);
    await flushMicrotasks();
    ac.abort(new Error('cancelled'));
    await assert.rejects(p, /cancelled/);
    let got = false;
    void l.acquire('k').then(() => (got = true));
    await clock.advance(1000);
    assert.equal(got, true);
  });
});
