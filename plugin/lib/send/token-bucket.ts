import { setTimeout as delay } from 'node:timers/promises';

export interface TokenBucketOptions {
  /** Tokens added per second; must be > 0. */
  rate: number;
  /** Most tokens that can accumulate (the burst); default: a tenth of a second's worth, at least 1. */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * A token bucket: `take()` resolves when a token is available. Waiters are
 * served in order, so several senders sharing one bucket share one rate.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #tokens: number;
  #last: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate)) throw new RangeError('TokenBucket rate must be a positive number');
    this.rate = options.rate;
    this.burst = Math.max(1, options.burst ?? options.rate / 10);
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : undefined));
    this.#tokens = 1;
    this.#last = this.#now();
  }

  /** Waits for one token (in FIFO order with other callers). */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#wait(signal));
    // A rejected wait (abort) must not block the callers behind it.
    this.#tail = turn.catch(() => {});
    return turn;
  }

  async #wait(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#now();
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#sleep(Math.ceil(((1 - this.#tokens) / this.rate) * 1000), signal);
    }
  }
}
