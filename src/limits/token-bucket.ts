import type { Clock } from '../clock.ts';

/** Waiters queued on one bucket before take() rejects: bounds memory when a producer ignores back-pressure. */
export const MAX_BUCKET_WAITERS = 100_000;

/**
 * The burst of a rate (`check`, `check --in-cluster` and `send`): the one
 * given, else a tenth of a second's worth (at least 1), so the pace stays even.
 */
export function rateBurst(rate: number, burst?: number): number {
  return burst ?? Math.max(1, Math.ceil(rate / 10));
}

export interface TokenBucketOptions {
  /** Tokens added per second. */
  rate: number;
  /** Capacity: the most tokens that can be taken at once after idling. */
  burst: number;
  clock: Clock;
}

/**
 * A token bucket with a FIFO queue of waiters. Tokens are computed lazily
 * from the clock, so an idle bucket costs nothing; one timer is armed for the
 * head of the queue only. Over any window of length T at most
 * `burst + rate * T` tokens are granted.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;
  private readonly waiters: Array<{
    resolve: () => void;
    reject: (e: unknown) => void;
    signal?: AbortSignal;
    onAbort?: () => void;
  }> = [];
  private timer: unknown = null;

  constructor(options: TokenBucketOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate))
      throw new RangeError(`rate must be a positive number, got ${options.rate}`);
    if (!(options.burst >= 1)) throw new RangeError(`burst must be >= 1, got ${options.burst}`);
    this.rate = options.rate;
    this.burst = options.burst;
    this.clock = options.clock;
    this.tokens = options.burst;
    this.last = options.clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Takes a token if one is available now and nobody is queued. */
  tryTake(): boolean {
    if (this.waiters.length > 0) return false;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** True when the bucket is full and nobody waits (an idle key may be dropped). */
  get idle(): boolean {
    this.refill();
    return this.waiters.length === 0 && this.tokens >= this.burst;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Waits for one token (FIFO). */
  take(signal?: AbortSignal): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length >= MAX_BUCKET_WAITERS)
      return Promise.reject(new RangeError('too many waiters on a token bucket'));
    return new Promise<void>((resolve, reject) => {
      const w: (typeof this.waiters)[number] = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i !== -1) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.arm();
    });
  }

  private arm(): void {
    if (this.timer !== null || this.waiters.length === 0) return;
    this.refill();
    const wait = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.drain();
    }, wait);
  }

  private drain(): void {
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      const w = this.waiters.shift()!;
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
    this.arm();
  }
}
