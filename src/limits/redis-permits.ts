/**
 * Concurrency and rate limits held in Redis for every shard of a run: the
 * same interfaces as the local limiters (a PermitSource like KeyedLimiter,
 * `take()` like TokenBucket), so the pipeline and the SMTP stage run
 * unchanged; only where the slots and tokens live differs.
 *
 * A permit is one script (scripts.ts PERMIT): a slot in a sorted set scored
 * by its lease expiry plus a token from a bucket, both or neither. Holders
 * renew their slots ({@link RedisPermits.renew}, from the shard's heartbeat);
 * a dead shard's slots expire. Time comes from the caller's Clock.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';
import type { KeyLimit, PermitSource } from './keyed-limiter.ts';
import { scripted } from '../check-cluster/redis-run.ts';
import { LIMIT_PREFIX } from '../check-cluster/protocol.ts';

/** How long a waiter sleeps before asking again for a slot held by someone else. */
export const SLOT_POLL_MS = 10;
/** Keys are hashed past this length (a hostile domain name cannot make huge keys). */
export const MAX_KEY_CHARS = 256;

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

export class RedisPermits implements PermitSource {
  private readonly o: RedisPermitsOptions;
  private readonly held = new Map<string, string>();
  private seq = 0;

  constructor(o: RedisPermitsOptions) {
    this.o = o;
  }

  private keyOf(key: string): string {
    return `${LIMIT_PREFIX}${this.o.scope}:${key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) : key}`;
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const t = this.o.clock.setTimeout(() => {
        signal?.removeEventListener('abort', stop);
        resolve();
      }, ms);
      const stop = (): void => {
        this.o.clock.clearTimeout(t);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  /** Waits for a slot and a token for `key`; resolves to the release of the slot. */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    const limit = this.o.overrides?.get(key) ?? this.o.defaults;
    const base = this.keyOf(key);
    const holder = `${this.o.holder}:${++this.seq}`;
    const r = scripted(this.o.redis);
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = this.o.clock.now();
      const wait = await r.evPermit(
        `${base}:s`,
        `${base}:b`,
        limit.concurrency,
        holder,
        now + this.o.leaseMs,
        now,
        limit.rate,
        limit.burst,
      );
      if (wait === 0) break;
      await this.sleep(wait < 0 ? SLOT_POLL_MS : wait, signal);
    }
    if (limit.concurrency === 0) return () => {};
    this.held.set(holder, `${base}:s`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(holder);
      void this.o.redis.zrem(`${base}:s`, holder).catch(() => {});
    };
  }

  /** A token from the bucket (no slot): the global rate, as TokenBucket.take. */
  async take(signal?: AbortSignal): Promise<void> {
    const release = await this.acquire('', signal);
    release();
  }

  /** Extends the lease of every slot held (the shard's heartbeat). */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const expiry = this.o.clock.now() + this.o.leaseMs;
    const m = this.o.redis.pipeline();
    for (const [holder, key] of this.held) m.zadd(key, 'XX', expiry, holder);
    await m.exec();
  }
}
