/**
 * The coordinator of `check --in-cluster`: one HTTP server in one pod, the
 * single authority for work and limits.
 *
 *   CLI    POST /v1/push      queue addresses (waits while the queue is full)
 *          POST /v1/end       no more input
 *          GET  /v1/results   long-poll results after a cursor (acknowledges up to it)
 *   shard  POST /v1/lease     long-poll a lease of work
 *          POST /v1/heartbeat renew leases
 *          POST /v1/results   post results (first result per index wins)
 *          POST /v1/permit    long-poll a per-domain / per-provider SMTP slot
 *          POST /v1/release   give a slot back
 *
 * Limits for all shards together: the global concurrency and rate are
 * enforced here when work is leased (a network item is leased only when a
 * global slot and a token are free), and the per-domain and per-provider SMTP
 * limits by permits the shards' SMTP stage acquires from here (the same
 * KeyedLimiter the local run uses). Leasing-time enforcement costs no extra
 * round trip per address; permits cost one per SMTP session, which is small
 * next to an SMTP dialogue. A shard that dies loses its permits with its
 * leases (both expire together).
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../../../src/clock.ts';
import { TokenBucket } from '../../../src/limits/token-bucket.ts';
import { KeyedLimiter, type KeyLimit } from '../../../src/limits/keyed-limiter.ts';
import { LeaseTable } from '../../../src/check-cluster/lease-table.ts';
import {
  DEFAULT_LEASE_TTL_MS, LONG_POLL_MS, MAX_BODY_BYTES, MAX_LEASE_ITEMS, MAX_LIVE_ITEMS, MAX_PULL_RESULTS, MAX_PUSH_ITEMS,
  type CoordinatorLimits, type LeaseRequest, type PermitRequest, type PushRequest, type ReleaseRequest, type ResultsRequest, type WorkItem,
} from '../../../src/check-cluster/protocol.ts';
import type { CheckResult } from '../../../src/check/result.ts';

/** Permits held at once across all shards: far above any sane SMTP concurrency, bounds a misbehaving shard. */
export const MAX_PERMITS = 10_000;

export interface CoordinatorOptions {
  token: string;
  limits: CoordinatorLimits;
  clock: Clock;
  leaseTtlMs?: number;
  maxLive?: number;
  longPollMs?: number;
  log?: (line: string) => void;
}

export interface Coordinator {
  readonly server: Server;
  readonly table: LeaseTable;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) { super(message); this.status = status; }
}

function rateBurst(rate: number): number { return Math.max(1, Math.ceil(rate / 10)); }

export function createCoordinator(o: CoordinatorOptions): Coordinator {
  const instance = randomBytes(8).toString('hex');
  const longPollMs = o.longPollMs ?? LONG_POLL_MS;
  const ttlMs = o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const log = o.log ?? (() => {});
  const permits = new Map<string, { shard: string; release: () => void }>();
  let permitSeq = 0;
  const table = new LeaseTable({
    clock: o.clock, ttlMs, maxLive: o.maxLive ?? MAX_LIVE_ITEMS,
    onRetire: (shard) => {
      log(`shard ${shard} retired: its leases go back to the queue`);
      for (const [id, p] of permits) if (p.shard === shard) { permits.delete(id); p.release(); }
    },
  });
  const l = o.limits;
  const bucket = l.rate === null ? null : new TokenBucket({ rate: l.rate, burst: l.burst, clock: o.clock });
  const keyLimit = (c: number, r: number): KeyLimit => ({ concurrency: c, rate: r, burst: rateBurst(r) });
  const domainLimiter = new KeyedLimiter(keyLimit(l.domainConcurrency, l.domainRate), o.clock);
  // Microsoft blocks high-volume probing: a third of the budget, as in the local run.
  const msRate = Math.max(0.1, l.mxRate / 3);
  const providerLimiter = new KeyedLimiter(keyLimit(l.mxConcurrency, l.mxRate), o.clock,
    new Map([['microsoft', { concurrency: Math.max(1, Math.floor(l.mxConcurrency / 3)), rate: msRate, burst: rateBurst(msRate) }]]));
  /** Pod name per Job index: a new pod for an index means the old one is gone. */
  const podOfIndex = new Map<string, string>();

  // ---- change notification for long polls
  let waiters: Array<() => void> = [];
  const notify = (): void => { const w = waiters; waiters = []; for (const f of w) f(); };
  const changed = (ms: number): Promise<void> => new Promise((resolve) => {
    const t = o.clock.setTimeout(() => { waiters = waiters.filter((x) => x !== done); resolve(); }, ms);
    const done = (): void => { o.clock.clearTimeout(t); resolve(); };
    waiters.push(done);
  });
  const expiryTimer = setInterval(() => { if (table.expire() > 0) notify(); }, Math.max(50, Math.floor(ttlMs / 4)));
  expiryTimer.unref();

  const admitNet = (): boolean => table.netInFlight < l.concurrency && (bucket === null || bucket.tryTake());
  /** Shard processes replaced by a newer one for the same index; they may post results but get no more work. */
  const replaced = new Set<string>();
  const shardSeen = (shard: string): void => {
    if (replaced.has(shard)) throw new HttpError(409, `shard ${shard} was replaced by a newer process for its index`);
    // Shard ids are "<job index>/<pod name>/<process nonce>": a new id for an index means the previous process is gone.
    const slash = shard.indexOf('/');
    if (slash > 0) {
      const index = shard.slice(0, slash);
      const before = podOfIndex.get(index);
      if (before !== shard) {
        podOfIndex.set(index, shard);
        if (before !== undefined) {
          if (replaced.size >= MAX_PERMITS) replaced.clear();
          replaced.add(before);
          if (table.isAlive(before) && table.retire(before) > 0) notify();
        }
      }
    }
  };

  async function body<T>(req: IncomingMessage): Promise<T> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') {
      try {
        raw = gunzipSync(raw, { maxOutputLength: MAX_BODY_BYTES });
      } catch {
        throw new HttpError(400, 'body is not gzip, or inflates past the limit');
      }
    }
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch {
      throw new HttpError(400, 'body is not JSON');
    }
  }

  function validItems(items: unknown): WorkItem[] {
    if (!Array.isArray(items) || items.length > MAX_PUSH_ITEMS) throw new HttpError(400, `items must be an array of at most ${MAX_PUSH_ITEMS}`);
    for (const it of items as WorkItem[]) {
      if (!it || !Number.isSafeInteger(it.i) || it.i < 1 || typeof it.a !== 'string' || typeof it.n !== 'boolean') throw new HttpError(400, 'bad item');
      if (it.k !== undefined && (typeof it.k !== 'string' || it.k.length > 300)) throw new HttpError(400, 'bad affinity key');
    }
    return items as WorkItem[];
  }

  async function route(req: IncomingMessage, url: URL): Promise<unknown> {
    const p = url.pathname;
    if (req.method === 'POST' && p === '/v1/push') {
      const items = validItems((await body<PushRequest>(req)).items);
      const deadline = o.clock.now() + longPollMs;
      let accepted = 0;
      let rest = items.filter((it) => it.i > table.highest);
      while (rest.length > 0) {
        const n = table.push(rest);
        accepted += n;
        if (n > 0) notify();
        rest = rest.filter((it) => it.i > table.highest);
        if (rest.length === 0 || o.clock.now() >= deadline) break;
        await changed(deadline - o.clock.now());
      }
      return { instance, accepted, highest: table.highest };
    }
    if (req.method === 'POST' && p === '/v1/end') {
      table.end();
      notify();
      return { ok: true };
    }
    if (req.method === 'GET' && p === '/v1/results') {
      const after = Number(url.searchParams.get('after') ?? 0);
      const deadline = o.clock.now() + Math.min(longPollMs, Number(url.searchParams.get('wait') ?? longPollMs));
      for (;;) {
        const r = table.take(after, Math.max(1, Math.min(MAX_PULL_RESULTS, Number(url.searchParams.get('max') ?? MAX_PULL_RESULTS) || MAX_PULL_RESULTS)));
        if (r.results.length > 0) notify(); // acknowledged results made room for pushes
        if (r.results.length > 0 || table.allDelivered || o.clock.now() >= deadline) {
          return { instance, ...r, done: table.allDelivered, stats: table.stats() };
        }
        await changed(deadline - o.clock.now());
      }
    }
    if (req.method === 'POST' && p === '/v1/lease') {
      const q = await body<LeaseRequest>(req);
      if (typeof q.shard !== 'string' || q.shard.length === 0 || q.shard.length > 300) throw new HttpError(400, 'bad shard');
      shardSeen(q.shard);
      const max = Math.max(1, Math.min(MAX_LEASE_ITEMS, Number(q.max) || 1));
      if (Array.isArray(q.held) && table.forgetUnheld(q.shard, new Set(q.held.map(String))) > 0) notify();
      const deadline = o.clock.now() + longPollMs;
      for (;;) {
        const lease = table.lease(q.shard, max, admitNet);
        if (lease) return { lease: lease.id, items: [...lease.items.values()], done: false, ttlMs };
        if (table.workDone) return { lease: null, items: [], done: true, ttlMs };
        if (o.clock.now() >= deadline) return { lease: null, items: [], done: false, ttlMs };
        // A refused token refills within 1/rate: look again then at the latest.
        const wait = bucket ? Math.min(deadline - o.clock.now(), Math.ceil(1000 / bucket.rate) + 1) : deadline - o.clock.now();
        await changed(wait);
      }
    }
    if (req.method === 'POST' && p === '/v1/heartbeat') {
      const q = await body<{ shard: string }>(req);
      shardSeen(String(q.shard));
      return { leases: table.heartbeat(String(q.shard)) };
    }
    if (req.method === 'POST' && p === '/v1/results') {
      const q = await body<ResultsRequest>(req);
      if (!Array.isArray(q.results)) throw new HttpError(400, 'results must be an array');
      const results = (q.results as CheckResult[]).filter((r) => r && Number.isSafeInteger(r.index));
      const accepted = table.complete(String(q.shard), results);
      notify();
      return { accepted };
    }
    if (req.method === 'POST' && p === '/v1/permit') {
      const q = await body<PermitRequest>(req);
      if (q.scope !== 'domain' && q.scope !== 'provider') throw new HttpError(400, 'scope must be domain or provider');
      if (typeof q.key !== 'string' || q.key.length > 300) throw new HttpError(400, 'bad key');
      if (permits.size >= MAX_PERMITS) throw new HttpError(429, 'too many permits held');
      const shard = String(q.shard);
      table.touch(shard);
      const limiter = q.scope === 'domain' ? domainLimiter : providerLimiter;
      let answered = false;
      const granted = limiter.acquire(q.key).then((release) => {
        if (answered || !table.isAlive(shard)) { release(); return null; }
        const id = `p${++permitSeq}`;
        permits.set(id, { shard, release });
        return id;
      });
      let timer: unknown = null;
      const timeout = new Promise<null>((resolve) => { timer = o.clock.setTimeout(() => resolve(null), longPollMs); });
      const permit = await Promise.race([granted, timeout]);
      o.clock.clearTimeout(timer);
      answered = true;
      return { permit };
    }
    if (req.method === 'POST' && p === '/v1/release') {
      const q = await body<ReleaseRequest>(req);
      const held = permits.get(String(q.permit));
      if (held) { permits.delete(String(q.permit)); held.release(); }
      return { ok: true };
    }
    throw new HttpError(404, `no route ${req.method} ${p}`);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://coordinator');
    if (url.pathname === '/livez' || url.pathname === '/readyz') {
      send(res, 200, { ok: true, stats: table.stats() });
      return;
    }
    if (req.headers.authorization !== `Bearer ${o.token}`) {
      send(res, 401, { error: 'missing or wrong bearer token' });
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    route(req, url).then((r) => send(res, 200, r, gzip), (err) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log(`error: ${(err as Error).stack ?? err}`);
      send(res, status, { error: (err as Error).message });
    });
  });
  server.keepAliveTimeout = 65_000;
  // Long polls hold requests open; the default 5-minute request timeout is fine, headers must come fast.
  server.headersTimeout = 30_000;

  return {
    server,
    table,
    listen: (port, host) => new Promise((resolve, reject) => {
      const listening = () => {
        server.off('error', onError);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      };
      // `::` is dual-stack (IPv6 clusters probe the pod's IPv6 address); a node without IPv6 refuses it: use IPv4.
      const onError = (err: NodeJS.ErrnoException) => {
        if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) server.listen(port, '0.0.0.0');
        else { server.off('listening', listening); reject(err); }
      };
      server.once('error', onError);
      server.once('listening', listening);
      server.listen(port, host);
    }),
    close: () => new Promise((resolve) => {
      clearInterval(expiryTimer);
      notify();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Responses larger than this are gzipped when the client accepts it: results compress ~10x, and the CLI's tunnel is the narrow hop. */
export const GZIP_MIN_BYTES = 8 * 1024;

function send(res: ServerResponse, status: number, body: unknown, gzip = false): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  if (gzip && text.length >= GZIP_MIN_BYTES) {
    const z = gzipSync(text, { level: 1 });
    res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': z.length });
    res.end(z);
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
