/**
 * SharedDns against a real redis-server (on a Unix socket) and the fake DNS
 * server: two "shards" (a DnsChecker and a SharedDns each, on their own
 * connections). What one shard looked up, the other takes from Redis with
 * one MGET per claim and never asks the DNS server for; failures (a
 * timeout) are not shared. Counted at the DNS server, never timed.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { DnsChecker } from '../../../src/address/dns.ts';
import { SharedDns } from '../../../src/check-cluster/shared-dns.ts';
import { DNS_PREFIX } from '../../../src/check-cluster/protocol.ts';
import { systemClock } from '../../../src/system-clock.ts';
import { createDnsResolver } from '../../../checker/dns-resolver.ts';
import {
  requireRedisServer,
  startLocalRedis,
  until,
  type LocalRedis,
} from '../../support/redis-server.ts';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';

describe('SharedDns: DNS outcomes shared by the shards through Redis (real redis-server)', function () {
  this.timeout(60_000);
  let local: LocalRedis | undefined;
  let dns: FakeDns;
  const client = (): Redis => {
    if (!local) throw new Error('redis-server is not running');
    return local.client();
  };
  /** One shard's DNS stage as the shard builds it. */
  const shard = (): { checker: DnsChecker; shared: SharedDns; redis: Redis } => {
    const redis = client();
    const shared = new SharedDns(redis);
    const checker = new DnsChecker({
      resolver: createDnsResolver({ server: dns.server, timeoutMs: 300, tries: 1 }),
      clock: systemClock,
      timeoutMs: 5_000,
      onResolved: shared.onResolved,
    });
    shared.attach(checker);
    return { checker, shared, redis };
  };

  before(async function () {
    requireRedisServer(this);
    local = await startLocalRedis();
    dns = await startFakeDns((name) => {
      if (name === 'silent.test') return { silent: true };
      if (name === 'gone.test') return { nxdomain: true };
      const m = /^(?:mx\.)?s(\d+)\.test$/.exec(name);
      if (!m) return undefined;
      return name.startsWith('mx.')
        ? { a: [`192.0.2.${(Number(m[1]) % 250) + 1}`] }
        : { mx: [{ priority: 10, exchange: `mx.${name}` }] };
    });
  });
  after(async () => {
    local?.close();
    await dns?.close();
  });

  it('a domain one shard looked up is taken from Redis by the other (one MX query per domain in all); a timeout is not shared', async () => {
    const a = shard();
    const b = shard();
    const first = Array.from({ length: 40 }, (_, i) => `s${i}.test`).concat(
      'gone.test',
      'silent.test',
    );
    const fromA = await Promise.all(first.map((d) => a.checker.lookup(d)));
    assert.equal(fromA.at(-1)?.status, 'timeout');
    assert.equal(fromA.at(-2)?.status, 'not_found');
    // A's outcomes reach Redis (written together after its look-ups), all but the timeout.
    await until(
      async () =>
        (await a.redis.exists(...first.slice(0, -1).map((d) => `${DNS_PREFIX}d:${d}`))) ===
        first.length - 1,
      "shard A's outcomes in Redis",
    );
    assert.equal(await a.redis.exists(`${DNS_PREFIX}d:silent.test`), 0, 'a timeout is not shared');

    const mxBefore = (d: string): number => dns.queries.get(`MX ${d}`) ?? 0;
    const counts = new Map(first.map((d) => [d, mxBefore(d)]));
    // B claims a batch with A's domains and ten new ones: one MGET, then its look-ups.
    const batch = [...first, ...Array.from({ length: 10 }, (_, i) => `s${100 + i}.test`)];
    await b.shared.prefetch(batch);
    const fromB = await Promise.all(batch.map((d) => b.checker.lookup(d)));
    for (const [k, d] of first.slice(0, -1).entries()) {
      assert.deepEqual(fromB[k], fromA[k], `${d}: the same outcome as the shard that looked it up`);
      assert.equal(mxBefore(d), counts.get(d), `${d}: not asked again`);
    }
    assert.equal(
      mxBefore('silent.test'),
      (counts.get('silent.test') ?? 0) + 1,
      'the timeout is asked again',
    );
    for (let i = 100; i < 110; i++)
      assert.equal(mxBefore(`s${i}.test`), 1, `s${i}.test asked once`);
    assert.deepEqual(
      fromB.slice(-10).map((r) => r.status),
      Array.from({ length: 10 }, () => 'ok'),
    );
  });

  it('a stored value that is not an outcome is ignored: the domain is looked up again', async () => {
    const c = shard();
    await c.redis.set(`${DNS_PREFIX}d:s500.test`, '{"status":"ok"}');
    await c.redis.set(`${DNS_PREFIX}d:s501.test`, 'not json');
    await c.shared.prefetch(['s500.test', 's501.test']);
    assert.equal((await c.checker.lookup('s500.test')).mx[0]?.exchange, 'mx.s500.test');
    assert.equal((await c.checker.lookup('s501.test')).mx[0]?.exchange, 'mx.s501.test');
    assert.equal(dns.queries.get('MX s500.test'), 1);
    assert.equal(dns.queries.get('MX s501.test'), 1);
  });
});
