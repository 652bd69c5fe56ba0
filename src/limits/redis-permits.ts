/**
 * Concurrency and rate limits held in Redis for every shard of a run: the
 * same interfaces as the local limiters (a PermitSource like KeyedLimiter,
 * `take()` like TokenBucket), so the pipeline and the SMTP stage run
 * unchanged; only where the slots and tokens live differs.
 *
 * A permit is a slot in a sorted set scored by its lease expiry plus a token
 * from a bucket, both or neither, taken by one script (scripts.ts PERMIT) on
 * Redis's clock. The limits stay exact; what is batched is the asking:
 *
 *   - per key, one request is in flight at a time and carries every waiter
 *     of this shard (up to MAX_GRANT), so a thousand waiters cost one round
 *     trip, not a thousand polls;
 *   - a released slot of a key without a rate goes straight to the next
 *     waiter of this shard for that key (it stays held in Redis: no round
 *     trip, and the count never goes above the limit);
 *   - releases sent to Redis are gathered per event-loop turn and go out
 *     before the next request (one connection answers in order);
 *   - a waiter short of a token sleeps until the time Redis said the next
 *     one is due; short of a slot, until a slot of this shard is released or
 *     SLOT_POLL_MS passed (another shard's release is not announced).
 *
 * Holders renew their slots ({@link RedisPermits.renew}, from the shard's
 * heartbeat); a dead shard's slots expire.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';
import type { KeyLimit, PermitSource } from './keyed-limiter.ts';
import { scripted } from '../check-cluster/redis-run.ts';
import { LIMIT_PREFIX } from '../check-cluster/protocol.ts';

/** How long waiters short of a slot wait at most before asking again (a slot another shard frees is not announced). */
export const SLOT_POLL_MS = 10;
/** Keys are cut past this length (a hostile domain name cannot make huge keys). */
export const MAX_KEY_CHARS = 256;
/** Waiters served by one request at most (bounds the script's arguments). */
export const MAX_GRANT = 256;

/**
 * Stale grants of one key dropped in a row at most; the next is used however
 * late it is read. A link to Redis slower than the age allows on every round
 * trip would otherwise drop every grant and check nothing: the run goes on,
 * less exactly (the shard logs how many late grants it used).
 */
export const MAX_STALE_IN_ROW = 3;

/**
 * How a rate's burst is split so that the rate holds where the checks land,
 * not only where the tokens are counted. Redis grants at most
 * burst + rate x t tokens in any t, on its clock; a grant is used when its
 * reply has been read, and a shard that was descheduled or busy for 100 ms
 * (measured: up to 105 ms on the loaded 2-core machine) uses 100 ms of
 * tokens at once, on top of the tokens of the other shards that were on
 * time: 241 queries in one second at the DNS server for a limit of 220.
 *
 * So most of the burst is kept back as slack (`slack = burst - capacity`
 * tokens, `slack / rate` seconds): the bucket in Redis holds `capacity`
 * (a quarter of the burst) and a grant read more than `maxAgeMs` (two thirds
 * of the slack time) after its request was sent is stale: its tokens are
 * dropped (its slots given back) and the waiters ask again. A grant cannot
 * be older than the time since its request was sent (one clock, the
 * shard's own), so the checks started in any second come from grants made
 * within 1 s + maxAgeMs and number at most
 * capacity + rate x (1 + maxAgeMs/1000) = rate + burst - slack/3; the last
 * third of the slack absorbs the delay from the grant's use to the check's
 * arrival (the packet, the other end's own scheduling). With the default
 * burst (rate / 10) that is 50 ms and 25 ms at any rate. A burst of 1
 * leaves nothing to split (no grant is stale).
 */
export function grantSlack(rate: number, burst: number): { capacity: number; maxAgeMs: number } {
  const capacity = Math.max(1, Math.ceil(burst / 4));
  const slack = burst - capacity;
  if (rate <= 0 || slack <= 0) return { capacity: burst, maxAgeMs: 0 };
  return { capacity, maxAgeMs: ((slack * 1000) / rate) * (2 / 3) };
}

export interface RedisPermitsOptions {
  redis: Redis;
  clock: Clock;
  /** Key family: "g" (global), "d" (per domain), "p" (per mail provider). */
  scope: string;
  /** Holder id prefix (the shard's consumer name). */
  holder: string;
  defaults: KeyLimit;
  overrides?: ReadonlyMap<string, KeyLimit>;
  /** Slot lease: renewed by the holder, expires when it dies. */
  leaseMs: number;
}

interface Waiter {
  holder: string;
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  gone: boolean;
}

/** One key's waiters in this shard and its request loop. */
interface KeyQueue {
  slots: string;
  bucket: string;
  limit: KeyLimit;
  /** The bucket's capacity in Redis and the age past which a grant is stale ({@link grantSlack}). */
  capacity: number;
  maxAgeMs: number;
  /** Grants of this key dropped as stale since the last one used. */
  staleInRow: number;
  waiters: Waiter[];
  pumping: boolean;
  /** Ends the current wait for a slot early (a slot of this shard was released). */
  wake: (() => void) | null;
}

export class RedisPermits implements PermitSource {
  private readonly o: RedisPermitsOptions;
  /** Slots this shard holds: holder -> slots key (renewed by the heartbeat). */
  private readonly held = new Map<string, string>();
  private readonly queues = new Map<string, KeyQueue>();
  /** Releases not sent yet, per slots key. */
  private releases = new Map<string, string[]>();
  private flushScheduled = false;
  private seq = 0;
  /** Grants dropped as stale (read too long after they were asked for; see {@link grantSlack}). */
  staleGrants = 0;
  /** Late grants used anyway, after MAX_STALE_IN_ROW drops in a row for their key. */
  lateGrantsUsed = 0;

  constructor(o: RedisPermitsOptions) {
    this.o = o;
  }

  private keyOf(key: string): string {
    return `${LIMIT_PREFIX}${this.o.scope}:${key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) : key}`;
  }

  /** Waits for a slot and a token for `key`; resolves to the release of the slot. */
  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const limit = this.o.overrides?.get(key) ?? this.o.defaults;
    if (limit.concurrency === 0 && limit.rate === 0) return Promise.resolve(() => {});
    const base = this.keyOf(key);
    let q = this.queues.get(base);
    if (q === undefined) {
      q = {
        slots: `${base}:s`,
        bucket: `${base}:b`,
        limit,
        ...grantSlack(limit.rate, limit.burst),
        staleInRow: 0,
        waiters: [],
        pumping: false,
        wake: null,
      };
      this.queues.set(base, q);
    }
    const queue = q;
    return new Promise<() => void>((resolve, reject) => {
      const w: Waiter = { holder: `${this.o.holder}:${++this.seq}`, resolve, reject, gone: false };
      if (signal) {
        w.signal = signal;
        w.onAbort = () => {
          w.gone = true;
          const at = queue.waiters.indexOf(w);
          if (at >= 0) queue.waiters.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      queue.waiters.push(w);
      if (!queue.pumping) void this.pump(base, queue);
    });
  }

  /** A token from the bucket (no slot): the global rate, as TokenBucket.take. */
  async take(signal?: AbortSignal): Promise<void> {
    const release = await this.acquire('', signal);
    release();
  }

  /** Extends the lease of every slot held (the shard's heartbeat). */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const byKey = new Map<string, string[]>();
    for (const [holder, key] of this.held) {
      const list = byKey.get(key);
      if (list) list.push(holder);
      else byKey.set(key, [holder]);
    }
    const r = scripted(this.o.redis);
    await Promise.all(
      [...byKey].map(([key, holders]) => r.evRenew(key, this.o.leaseMs, ...holders)),
    );
  }

  /** Asks Redis for this key's waiters, one request at a time, until none waits. */
  private async pump(base: string, q: KeyQueue): Promise<void> {
    q.pumping = true;
    const r = scripted(this.o.redis);
    try {
      while (q.waiters.length > 0) {
        this.flushReleases();
        const batch = q.waiters.slice(0, MAX_GRANT);
        let n: number;
        let wait: number;
        const asked = this.o.clock.now();
        try {
          [n, wait] = await r.evPermit(
            q.slots,
            q.bucket,
            q.limit.concurrency,
            this.o.leaseMs,
            q.limit.rate,
            q.capacity,
            ...batch.map((w) => w.holder),
          );
        } catch (err) {
          // As a failed command would for a single waiter: those asked for get the error.
          for (const w of batch) this.settle(q, w, err);
          continue;
        }
        if (n > 0 && q.maxAgeMs > 0 && this.o.clock.now() - asked > q.maxAgeMs) {
          if (q.staleInRow < MAX_STALE_IN_ROW) {
            // Stale: used now, these tokens would crowd into one second with later ones. Drop
            // them (their slots go back) and ask again; the waiters keep their place.
            q.staleInRow++;
            this.staleGrants += n;
            const holders = batch.slice(0, n).map((w) => w.holder);
            if (q.limit.concurrency > 0)
              void this.o.redis.zrem(q.slots, ...holders).catch(() => {});
            continue;
          }
          // Every reply is late (Redis far away or swamped): progress over precision.
          this.lateGrantsUsed += n;
        }
        if (n > 0) q.staleInRow = 0;
        for (const w of batch.slice(0, n)) this.grant(base, q, w);
        if (n >= batch.length) continue;
        if (wait > 0) await this.sleep(wait);
        else await this.slotReleased(q);
      }
    } finally {
      q.pumping = false;
      if (q.waiters.length === 0 && this.queues.get(base) === q) this.queues.delete(base);
    }
  }

  private settle(q: KeyQueue, w: Waiter, err: unknown): void {
    const at = q.waiters.indexOf(w);
    if (at >= 0) q.waiters.splice(at, 1);
    if (w.gone) return;
    w.gone = true;
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.reject(err);
  }

  /** Hands a slot (held in Redis under `w.holder`) to a waiter, or gives it back if the waiter left. */
  private grant(base: string, q: KeyQueue, w: Waiter): void {
    const at = q.waiters.indexOf(w);
    if (at >= 0) q.waiters.splice(at, 1);
    if (q.limit.concurrency === 0) {
      if (!w.gone) {
        w.gone = true;
        if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
        w.resolve(() => {});
      }
      return;
    }
    this.held.set(w.holder, q.slots);
    if (w.gone) {
      this.release(base, q.slots, w.holder);
      return;
    }
    w.gone = true;
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    let released = false;
    w.resolve(() => {
      if (released) return;
      released = true;
      this.release(base, q.slots, w.holder);
    });
  }

  /** A slot freed: to the next waiter of this shard for the key when no token is needed, else back to Redis. */
  private release(base: string, slots: string, holder: string): void {
    const q = this.queues.get(base);
    if (q && q.limit.rate === 0) {
      const next = q.waiters.find((w) => !w.gone);
      if (next) {
        // The slot stays held in Redis under its first holder's id (renewed by the heartbeat).
        const at = q.waiters.indexOf(next);
        q.waiters.splice(at, 1);
        next.gone = true;
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        let released = false;
        next.resolve(() => {
          if (released) return;
          released = true;
          this.release(base, slots, holder);
        });
        return;
      }
    }
    this.held.delete(holder);
    const list = this.releases.get(slots);
    if (list) list.push(holder);
    else this.releases.set(slots, [holder]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushReleases());
    }
    if (q?.wake) q.wake();
  }

  /** Sends the gathered releases (before any request that follows them on the connection). */
  private flushReleases(): void {
    this.flushScheduled = false;
    if (this.releases.size === 0) return;
    const all = this.releases;
    this.releases = new Map();
    for (const [key, holders] of all) void this.o.redis.zrem(key, ...holders).catch(() => {});
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.o.clock.setTimeout(resolve, ms);
    });
  }

  /** Until a slot of this shard for the key is released, or SLOT_POLL_MS. */
  private slotReleased(q: KeyQueue): Promise<void> {
    return new Promise((resolve) => {
      const t = this.o.clock.setTimeout(done, SLOT_POLL_MS);
      function done(): void {
        q.wake = null;
        resolve();
      }
      q.wake = () => {
        this.o.clock.clearTimeout(t);
        done();
      };
    });
  }
}
