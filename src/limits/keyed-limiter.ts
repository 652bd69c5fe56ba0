import type { Clock } from '../clock.ts';
import { Semaphore } from './semaphore.ts';
import { TokenBucket } from './token-bucket.ts';

/** Idle keys kept before a sweep drops them: bounds memory over lists with millions of domains. */
export const MAX_IDLE_KEYS = 10_000;

export interface KeyLimit {
  /** Operations in flight per key. */
  concurrency: number;
  /** Operations started per second per key (token bucket). */
  rate: number;
  /** Bucket capacity per key. */
  burst: number;
}

interface Entry {
  sem: Semaphore;
  bucket: TokenBucket;
}

/**
 * Anything that hands out a permit for a key: the local {@link KeyedLimiter},
 * or one whose slots live in Redis (cluster shards, RedisPermits).
 */
export interface PermitSource {
  /** Resolves to the release of the permit once one is available. */
  acquire(key: string, signal?: AbortSignal): Promise<() => void>;
}

/**
 * Concurrency and rate per key (a domain, a mail provider). Entries are
 * created on demand and dropped once idle with a full bucket, so memory
 * follows the keys in use, not all keys ever seen.
 */
export class KeyedLimiter implements PermitSource {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly defaults: KeyLimit;
  private readonly overrides: ReadonlyMap<string, KeyLimit>;
  /**
   * Size at which the next new key sweeps: MAX_IDLE_KEYS, or twice what the last sweep had to
   * keep. Keys in use (a slot taken, a bucket not yet refilled) cannot be dropped; with more than
   * MAX_IDLE_KEYS of them (`--domain-rate 1/m` over a large list), a sweep at every new key
   * freed nothing and made adding keys quadratic (100,000 domains: over 120 s).
   */
  private sweepAt = MAX_IDLE_KEYS;

  constructor(
    defaults: KeyLimit,
    clock: Clock,
    overrides: ReadonlyMap<string, KeyLimit> = new Map(),
  ) {
    this.defaults = defaults;
    this.clock = clock;
    this.overrides = overrides;
  }

  limitOf(key: string): KeyLimit {
    return this.overrides.get(key) ?? this.defaults;
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.sweepAt) {
        this.sweep();
        this.sweepAt = Math.max(MAX_IDLE_KEYS, 2 * this.entries.size);
      }
      const l = this.limitOf(key);
      e = {
        sem: new Semaphore(l.concurrency),
        bucket: new TokenBucket({ rate: l.rate, burst: l.burst, clock: this.clock }),
      };
      this.entries.set(key, e);
    }
    return e;
  }

  /** Drops entries with nothing in flight and a full bucket. */
  sweep(): void {
    for (const [k, e] of this.entries) if (e.sem.idle && e.bucket.idle) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Waits for a slot, then a token; resolves to the release of the slot. */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    const e = this.entry(key);
    const release = await e.sem.acquire();
    try {
      await e.bucket.take(signal);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }
}
