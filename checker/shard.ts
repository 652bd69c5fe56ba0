/**
 * A shard of `check --in-cluster`: claims batches of addresses from the
 * Redis stream (its consumer group is the lease table), runs the same
 * per-address pipeline as the local `check` (checkOffline, then checkNetwork
 * with DNS and the SMTP probe) under limits held in Redis for all shards,
 * stores the results (the first per index wins) and acknowledges the batch.
 * Renews its leases and limit slots with a heartbeat; exits when the input
 * has ended and the queue is empty.
 */
import { randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleep, type Clock } from '../src/clock.ts';
import { createLists } from '../src/address/lists.ts';
import type { DnsResolver } from '../src/address/dns.ts';
import { FirstFailure } from '../src/first-failure.ts';
import { errorMessage } from '../src/guards.ts';
import {
  checkNetwork,
  checkOffline,
  createOfflineContext,
  domainOf,
  needsNetwork,
} from '../src/check/pipeline.ts';
import type { SmtpTransport } from '../src/check/smtp-stage.ts';
import type { CheckResult } from '../src/check/result.ts';
import {
  BLOCK_MS,
  DEFAULT_LEASE_TTL_MS,
  HEARTBEAT_MS,
  type ClusterLimits,
  type ShardOptions,
} from '../src/check-cluster/protocol.ts';
import { RedisRun, type ClaimedEntry } from '../src/check-cluster/redis-run.ts';
import { SharedDns } from '../src/check-cluster/shared-dns.ts';
import { sharedCatchAll } from '../src/check-cluster/shared-catch-all.ts';
import { MAX_STALE_IN_ROW, RedisPermits } from '../src/limits/redis-permits.ts';
import type { KeyLimit } from '../src/limits/keyed-limiter.ts';
import { ProviderStage, type HttpClient } from '../src/check/provider-stage.ts';
import type { ProviderConfig } from '../src/check/provider-config.ts';
import { buildNetworkStages } from './stages.ts';
import { mailProviderOverrides } from '../src/check/limit-options.ts';
import { rateBurst } from '../src/limits/token-bucket.ts';

/** Batches a shard works on at once offline (each is a few thousand addresses of CPU). */
export const OFFLINE_ENTRIES = 2;

export interface ShardRunOptions {
  redis: Redis;
  /** A second connection, for the blocking claim (see RedisRun.blocking): permits and DNS answers never wait behind it. */
  blocking: Redis;
  /** The consumer name: "<job index>/<pod name>/<process nonce>". */
  shard: string;
  options: ShardOptions;
  limits: ClusterLimits;
  /** `--provider`: its config (from the run's Secret); its concurrency and rate are held in Redis. */
  provider?: ProviderConfig;
  clock: Clock;
  leaseMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Test seams. */
  resolver?: DnsResolver;
  smtpTransport?: SmtpTransport;
  http?: HttpClient;
  random?: () => number;
}

export async function runShard(
  o: ShardRunOptions,
): Promise<{ checked: number; reclaimed: number }> {
  const log = o.log ?? (() => {});
  const s = o.options;
  const l = o.limits;
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_TTL_MS;
  const run = new RedisRun(o.redis, o.blocking);
  const offline = createOfflineContext(createLists());
  const keyLimit = (c: number, r: number): KeyLimit => ({
    concurrency: c,
    rate: r,
    burst: rateBurst(r),
  });
  const permits = (
    scope: string,
    defaults: KeyLimit,
    overrides?: ReadonlyMap<string, KeyLimit>,
  ): RedisPermits =>
    new RedisPermits({
      redis: o.redis,
      clock: o.clock,
      scope,
      holder: o.shard,
      defaults,
      overrides,
      leaseMs,
    });
  const global = permits('g', {
    concurrency: l.concurrency,
    rate: l.rate ?? 0,
    burst: l.rate === null ? 1 : l.burst,
  });
  const domain = permits('d', keyLimit(l.domainConcurrency, l.domainRate));
  const provider = permits('p', keyLimit(l.mxConcurrency, l.mxRate), mailProviderOverrides(l));
  // DNS outcomes shared with the other shards: read per claim (one MGET), written per event-loop turn.
  const sharedDns = new SharedDns(o.redis);
  // Built by the local runner's function, so results are the same; only the limiters and the DNS cache are Redis's.
  const { stages } = buildNetworkStages(s, {
    clock: o.clock,
    resolver: o.resolver,
    smtpTransport: o.smtpTransport,
    onDnsResolved: sharedDns.onResolved,
    catchAllShare: sharedCatchAll(o.redis),
    limiters: () => ({ domain, provider }),
  });
  // The provider's own limits (its config's concurrency and rate) for all shards together, as locally for one process.
  let providerPermits: RedisPermits | null = null;
  let closeHttp: (() => Promise<void>) | null = null;
  if (o.provider) {
    providerPermits = permits('v', {
      concurrency: o.provider.concurrency,
      rate: o.provider.rate?.perSecond ?? 0,
      burst: o.provider.rate?.burst ?? 1,
    });
    let http = o.http;
    if (!http) {
      const { poolHttpClient } = await import('./http-client.ts');
      const client = poolHttpClient(
        new URL(o.provider.url.replace('{address}', 'x')).origin,
        o.provider.concurrency,
      );
      closeHttp = () => client.close();
      http = client;
    }
    stages.provider = new ProviderStage({
      config: o.provider,
      http,
      clock: o.clock,
      random: o.random ?? (() => randomInt(0, 2 ** 32) / 2 ** 32),
      permits: providerPermits,
    });
  }
  if (stages.dns) sharedDns.attach(stages.dns);
  const networked = stages.dns !== undefined;
  const maxEntries = networked ? Math.max(2, Math.ceil(s.concurrency / 4)) : OFFLINE_ENTRIES;

  /** Entries being worked on (their leases are renewed). */
  const held = new Set<string>();
  let checked = 0;
  let reclaimed = 0;
  let inFlight = 0;
  const failure = new FirstFailure();
  let waiters: Array<() => void> = [];
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const progressed = (): Promise<void> =>
    new Promise((r) => {
      waiters.push(r);
    });

  const heartbeat = setInterval(() => {
    void Promise.all([
      run.renew(o.shard, [...held]),
      global.renew(),
      domain.renew(),
      provider.renew(),
      providerPermits?.renew(),
    ]).catch(() => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();

  /** The offline half of a claimed entry (cheap), so the DNS cache can be asked for all its domains at once. */
  const prepare = (entry: ClaimedEntry): CheckResult[] =>
    entry.items.map((it) => checkOffline(it.a, it.i, offline));
  const domainsOf = function* (prepared: CheckResult[][]): Iterable<string> {
    for (const rs of prepared)
      for (const r of rs)
        if (needsNetwork(r, stages) && !r.checks.syntax.literal) yield domainOf(r.normalized);
  };

  const work = async (
    entry: ClaimedEntry,
    prepared: CheckResult[],
    shared: Promise<void>,
  ): Promise<void> => {
    await shared;
    const results: CheckResult[] = [];
    const network: Array<Promise<void>> = [];
    for (const r of prepared) {
      if (!needsNetwork(r, stages)) {
        results.push(r);
        continue;
      }
      network.push(
        (async () => {
          while (inFlight >= s.concurrency) await progressed();
          inFlight++;
          try {
            const release = await global.acquire('', o.signal);
            try {
              results.push(await checkNetwork(r, stages, o.signal));
            } finally {
              release();
            }
          } finally {
            inFlight--;
            wake();
          }
        })(),
      );
    }
    await Promise.all(network);
    await run.complete(entry.id, entry.items, results);
    checked += results.length;
  };

  try {
    for (;;) {
      failure.throwIfFailed();
      if (o.signal?.aborted) throw o.signal.reason;
      while (held.size >= maxEntries && !failure.failed) await progressed();
      failure.throwIfFailed();
      const entries = await run
        .claim(o.shard, leaseMs, Math.min(maxEntries - held.size, 10), BLOCK_MS)
        .catch(async (err: unknown) => {
          // A replaced Redis pod starts empty: no queue until the CLI sends the work again.
          if (!/^NOGROUP/.test(errorMessage(err))) throw err;
          await sleep(o.clock, BLOCK_MS, o.signal);
          return [];
        });
      if (entries.length === 0) {
        if (held.size === 0 && (await run.finished())) break;
        continue;
      }
      const prepared = entries.map(prepare);
      // One MGET for the domains of the whole claim that this shard does not know yet.
      const shared = stages.dns ? sharedDns.prefetch(domainsOf(prepared)) : Promise.resolve();
      for (const [k, e] of entries.entries()) {
        if (e.reclaimed) reclaimed++;
        held.add(e.id);
        work(e, prepared[k], shared).then(
          () => {
            held.delete(e.id);
            wake();
          },
          (err: unknown) => {
            failure.record(err);
            held.delete(e.id);
            wake();
          },
        );
      }
    }
    const limiters = [global, domain, provider, providerPermits];
    const stale = limiters.reduce((n, p) => n + (p?.staleGrants ?? 0), 0);
    const late = limiters.reduce((n, p) => n + (p?.lateGrantsUsed ?? 0), 0);
    log(
      `shard ${o.shard}: checked ${checked} addresses (${reclaimed} batches taken over from a stopped shard; ${stale} rate tokens read too late, dropped and asked for again${late > 0 ? `; ${late} used late after ${MAX_STALE_IN_ROW} drops in a row` : ''}); all work done`,
    );
    return { checked, reclaimed };
  } finally {
    clearInterval(heartbeat);
    await closeHttp?.().catch(() => {});
  }
}
