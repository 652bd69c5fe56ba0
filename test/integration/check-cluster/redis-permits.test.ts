/**
 * RedisPermits against a real redis-server (on a Unix socket in a temporary
 * directory): several "shards" (one RedisPermits each, on their own
 * connections) share one limit. Counts, never timings: the slots in use
 * never exceed the limit whoever holds them, every waiter is served, an
 * aborted waiter leaves nothing held, and a holder that stops renewing loses
 * its slots to the others.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MAX_STALE_IN_ROW, RedisPermits, grantSlack } from '../../../src/limits/redis-permits.ts';
import type { Clock } from '../../../src/clock.ts';
import { LIMIT_PREFIX } from '../../../src/check-cluster/protocol.ts';
import { systemClock } from '../../../src/system-clock.ts';
import {
  requireRedisServer,
  startLocalRedis,
  until,
  type LocalRedis,
} from '../../support/redis-server.ts';

describe('RedisPermits: limits held in Redis for several shards (real redis-server)', function () {
  this.timeout(60_000);
  let local: LocalRedis | undefined;
  const client = (): Redis => {
    if (!local) throw new Error('redis-server is not running');
    return local.client();
  };
  const clients = (): readonly Redis[] => local?.clients ?? [];

  before(async function () {
    requireRedisServer(this);
    local = await startLocalRedis();
  });
  after(() => {
    local?.close();
  });

  const permits = (redis: Redis, holder: string, concurrency: number, leaseMs = 15_000) =>
    new RedisPermits({
      redis,
      clock: systemClock,
      scope: 't',
      holder,
      defaults: { concurrency, rate: 0, burst: 1 },
      leaseMs,
    });

  it('never more slots in use than the limit across three shards; every waiter served; nothing held after', async () => {
    const limit = 5;
    const shards = [0, 1, 2].map((i) => permits(client(), `s${i}`, limit));
    const active = new Map<string, number>();
    let maxActive = 0;
    let served = 0;
    const work = async (p: RedisPermits, key: string): Promise<void> => {
      const release = await p.acquire(key);
      active.set(key, (active.get(key) ?? 0) + 1);
      maxActive = Math.max(maxActive, active.get(key)!);
      // Hold the slot across a Redis round trip, so that others ask meanwhile.
      await clients()[0].ping();
      active.set(key, active.get(key)! - 1);
      served++;
      release();
    };
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => work(shards[i % 3], i % 2 ? 'a.test' : 'b.test')),
    );
    assert.equal(served, 300);
    assert.ok(maxActive <= limit, `at most ${limit} per key at once (saw ${maxActive})`);
    assert.ok(maxActive > 1, 'the slots were used in parallel');
    const r = clients()[0];
    await until(
      async () =>
        (await r.zcard(`${LIMIT_PREFIX}t:a.test:s`)) === 0 &&
        (await r.zcard(`${LIMIT_PREFIX}t:b.test:s`)) === 0,
      'every slot released in Redis',
    );
  });

  it('the per-key limit holds exactly: a key with limit 2 never has 3 holders at once', async () => {
    const shards = [0, 1, 2].map((i) => permits(client(), `x${i}`, 2));
    const r = clients()[0];
    let active = 0;
    let maxActive = 0;
    let maxInRedis = 0;
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const release = await shards[i % 3].acquire('one.test');
        active++;
        maxActive = Math.max(maxActive, active);
        maxInRedis = Math.max(maxInRedis, await r.zcard(`${LIMIT_PREFIX}t:one.test:s`));
        active--;
        release();
      }),
    );
    assert.ok(maxActive <= 2, `${maxActive} at once`);
    assert.ok(maxInRedis <= 2, `${maxInRedis} slots recorded in Redis`);
  });

  it('an aborted waiter leaves no slot held', async () => {
    const [a, b] = [permits(client(), 'ab0', 1), permits(client(), 'ab1', 1)];
    const r = clients()[0];
    const release = await a.acquire('k.test');
    const ac = new AbortController();
    const waiting = b.acquire('k.test', ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    release();
    // The next waiter gets the slot, and after it nothing is held.
    const again = await b.acquire('k.test');
    again();
    await until(
      async () => (await r.zcard(`${LIMIT_PREFIX}t:k.test:s`)) === 0,
      'the slot released',
    );
  });

  it('slots of a holder that stops renewing expire, and another shard gets them', async () => {
    const dead = permits(client(), 'dead', 1, 300);
    const live = permits(client(), 'live', 1, 300);
    await dead.acquire('d.test'); // never released, never renewed
    const got = await live.acquire('d.test');
    got();
  });

  it('a grant read too late is not used: its tokens are dropped, its slots given back, and the waiters ask again', async () => {
    // Slow enough that the bucket refills nothing measurable while the test runs.
    const rate = 0.1;
    const burst = 20;
    const { capacity, maxAgeMs } = grantSlack(rate, burst);
    // The shard's clock: the first reply is read long after its request was sent (a stalled
    // shard); every later one at once.
    let reads = 0;
    const clock: Clock = {
      now: () => (reads++ === 1 ? 10 * maxAgeMs : 0) + (reads > 2 ? 10 * maxAgeMs : 0),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const redis = client();
    const p = new RedisPermits({
      redis,
      clock,
      scope: 'st',
      holder: 'stale',
      defaults: { concurrency: 50, rate, burst },
      leaseMs: 15_000,
    });
    const releases = await Promise.all(Array.from({ length: 3 }, () => p.acquire('k')));
    // The first request carried the first waiter (the others came after it was sent).
    assert.equal(p.staleGrants, 1, 'the token of the late reply was dropped');
    // The bucket paid for the dropped token too: four taken from a full one of `capacity`.
    const t = Number(await redis.hget(`${LIMIT_PREFIX}st:k:b`, 't'));
    assert.ok(t < capacity - 4 + 1, `${t} tokens left: the stale grant's was not given back`);
    assert.equal(
      await redis.zcard(`${LIMIT_PREFIX}st:k:s`),
      3,
      "only the fresh grant's slots are held",
    );
    for (const release of releases) release();
    await until(async () => (await redis.zcard(`${LIMIT_PREFIX}st:k:s`)) === 0, 'slots released');
  });

  it('a link where every reply is late still makes progress: after a few drops in a row the grant is used', async () => {
    const rate = 0.1;
    const burst = 20;
    const { maxAgeMs } = grantSlack(rate, burst);
    // Every reply is read long after its request left.
    let calls = 0;
    const clock: Clock = {
      now: () => calls++ * 10 * maxAgeMs,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const p = new RedisPermits({
      redis: client(),
      clock,
      scope: 'late',
      holder: 'late',
      defaults: { concurrency: 0, rate, burst },
      leaseMs: 15_000,
    });
    await p.take();
    assert.equal(p.staleGrants, MAX_STALE_IN_ROW, 'dropped that many first');
    assert.equal(p.lateGrantsUsed, 1, 'then used one');
  });
});
