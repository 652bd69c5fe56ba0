/**
 * A shard of `check --in-cluster`: leases work from the coordinator, runs the
 * same per-address pipeline as the local `check` (checkOffline, then
 * checkNetwork with DNS and the SMTP probe), and posts results back. Renews
 * its leases with a heartbeat; exits when the coordinator says all work is
 * done.
 */
import type { Clock } from '../../../src/clock.ts';
import { createLists } from '../../../src/address/lists.ts';
import type { DnsResolver } from '../../../src/address/dns.ts';
import { checkNetwork, checkOffline, createOfflineContext, needsNetwork } from '../../../src/check/pipeline.ts';
import type { SmtpTransport } from '../../../src/check/smtp-stage.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { HEARTBEAT_MS, MAX_LEASE_ITEMS, type LeaseResponse, type ShardOptions } from '../../../src/check-cluster/protocol.ts';
import { buildNetworkStages } from '../check/stages.ts';
import { CoordinatorClient } from './client.ts';
import { RemoteKeyedLimiter } from './remote-limiter.ts';

/** Results posted in one request at most. */
export const RESULTS_PER_POST = 1_000;
/** Network results are posted at least this often, so global slots free up promptly. */
export const RESULT_FLUSH_MS = 100;

export interface ShardRunOptions {
  url: string;
  token: string;
  /** "<job index>/<pod name>/<process nonce>". */
  shard: string;
  options: ShardOptions;
  clock: Clock;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Test seams. */
  resolver?: DnsResolver;
  smtpTransport?: SmtpTransport;
}

export async function runShard(o: ShardRunOptions): Promise<{ checked: number }> {
  const log = o.log ?? (() => {});
  const s = o.options;
  const client = new CoordinatorClient({ url: o.url, token: o.token, signal: o.signal });
  const offline = createOfflineContext(createLists());
  // Built by the local runner's function, so results are the same; only the limiters are the coordinator's.
  const { stages } = buildNetworkStages(s, {
    clock: o.clock, resolver: o.resolver, smtpTransport: o.smtpTransport,
    limiters: () => ({
      domain: new RemoteKeyedLimiter(client, o.shard, 'domain', o.clock),
      provider: new RemoteKeyedLimiter(client, o.shard, 'provider', o.clock),
    }),
  });
  const networked = stages.dns !== undefined;

  let pending: CheckResult[] = [];
  /** Lease of each pending network result (null for offline ones): a lease stays held until its results are posted. */
  let pendingLeases: Array<string | null> = [];
  let posting: Promise<void> = Promise.resolve();
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let checked = 0;
  const flush = (): Promise<void> => {
    if (flushTimer) { clearTimeout(flushTimer); flushTimer = null; }
    while (pending.length > 0) {
      const batch = pending.slice(0, RESULTS_PER_POST);
      const leases = pendingLeases.slice(0, RESULTS_PER_POST);
      pending = pending.slice(batch.length);
      pendingLeases = pendingLeases.slice(batch.length);
      posting = posting.then(() => client.post('/v1/results', { shard: o.shard, results: batch })).then(() => { for (const id of leases) if (id !== null) unhold(id); });
    }
    return posting;
  };
  const soon = (): void => {
    if (pending.length >= RESULTS_PER_POST) void flush();
    else if (flushTimer === null) flushTimer = setTimeout(() => { flushTimer = null; void flush().catch(() => {}); }, RESULT_FLUSH_MS);
  };

  const heartbeat = setInterval(() => { void client.post('/v1/heartbeat', { shard: o.shard }).catch(() => {}); }, HEARTBEAT_MS);
  heartbeat.unref();
  let inFlight = 0;
  /**
   * Leases with network results not yet posted (still running, or waiting in
   * `pending`), and how many. Every lease request lists them; a lease left out
   * is given back and its items leased again, so a result still waiting here
   * would be checked twice (an extra SMTP session for a real server).
   */
  const held = new Map<string, number>();
  const unhold = (id: string): void => {
    const left = (held.get(id) ?? 1) - 1;
    if (left <= 0) held.delete(id);
    else held.set(id, left);
  };
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const progressed = (): Promise<void> => new Promise((r) => { wake = r; });
  try {
    for (;;) {
      if (failure !== null) throw failure;
      while (networked && inFlight >= s.concurrency) await progressed();
      await flush();
      const want = networked ? Math.max(1, Math.min(MAX_LEASE_ITEMS, s.concurrency - inFlight)) : MAX_LEASE_ITEMS;
      const lease = await client.post<LeaseResponse>('/v1/lease', { shard: o.shard, max: want, held: [...held.keys()] });
      if (lease.done) break;
      const id = lease.lease;
      for (const it of lease.items) {
        const r = checkOffline(it.a, it.i, offline);
        if (!needsNetwork(r, stages)) {
          pending.push(r);
          pendingLeases.push(null);
          checked++;
          continue;
        }
        inFlight++;
        if (id !== null) held.set(id, (held.get(id) ?? 0) + 1);
        checkNetwork(r, stages, o.signal).then((res) => {
          pending.push(res);
          pendingLeases.push(id);
          checked++;
          soon();
        }, (err) => {
          if (failure === null) failure = err;
          if (id !== null) unhold(id);
        }).finally(() => {
          inFlight--;
          const w = wake;
          wake = null;
          w?.();
        });
      }
    }
    while (inFlight > 0) await progressed();
    await flush();
    log(`shard ${o.shard}: checked ${checked} addresses; all work done`);
    return { checked };
  } finally {
    clearInterval(heartbeat);
    if (flushTimer) clearTimeout(flushTimer);
  }
}
