import type { Clock } from '../clock.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  cooldownMs: number;
  clock: Clock;
}

/**
 * Stops calling a failing dependency. Closed: calls pass; after
 * `failureThreshold` consecutive failures it opens and calls fail fast; after
 * `cooldownMs` one trial call passes (half-open): success closes it, failure
 * re-opens it for another cooldown.
 */
export class CircuitBreaker {
  private readonly o: CircuitBreakerOptions;
  private failures = 0;
  private openedAt = 0;
  private s: BreakerState = 'closed';
  private trialInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    if (!(options.failureThreshold >= 1)) throw new RangeError('failureThreshold must be >= 1');
    this.o = options;
  }

  get state(): BreakerState {
    if (this.s === 'open' && this.o.clock.now() - this.openedAt >= this.o.cooldownMs)
      return 'half-open';
    return this.s;
  }

  /** Milliseconds until a trial call is allowed (0 when calls may pass). */
  get retryInMs(): number {
    return this.s === 'open'
      ? Math.max(0, this.openedAt + this.o.cooldownMs - this.o.clock.now())
      : 0;
  }

  /** True when a call may go ahead now; in half-open only one trial at a time. */
  allow(): boolean {
    const st = this.state;
    if (st === 'closed') return true;
    if (st === 'half-open' && !this.trialInFlight) {
      this.s = 'half-open';
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.s = 'closed';
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.s === 'half-open' || this.failures >= this.o.failureThreshold) {
      this.s = 'open';
      this.openedAt = this.o.clock.now();
    }
  }
}
