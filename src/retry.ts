/**
 * The one retry loop: bounded attempts, exponential backoff with jitter
 * (limits/backoff.ts), waits on the injected Clock so tests drive time.
 * Long-lived reconnect loops that never give up by count (the event feed)
 * use {@link backoffDelay} and {@link sleep} directly.
 */
import { sleep, type Clock } from './clock.ts';
import { backoffDelay, MAX_ATTEMPTS, type BackoffOptions } from './limits/backoff.ts';

export { backoffDelay, MAX_ATTEMPTS, type BackoffOptions } from './limits/backoff.ts';

/** What one attempt ended with: a value, or what it threw. */
export type AttemptOutcome<T> =
  { value: T; error?: undefined } | { value?: undefined; error: unknown };

export interface RetryOptions<T> extends BackoffOptions {
  /** Total attempts including the first (bounded by MAX_ATTEMPTS). */
  attempts: number;
  clock: Clock;
  /** Aborts a wait between attempts (the wait rejects with the signal's reason). */
  signal?: AbortSignal;
  /**
   * Decides after each attempt but the last: `{ retry: false }` returns the
   * value (or throws the error), `{ retry: true, afterMs? }` waits (afterMs
   * overrides the backoff, e.g. from Retry-After) and tries again.
   */
  classify(outcome: AttemptOutcome<T>): { retry: boolean; afterMs?: number };
}

/**
 * Runs `fn` until `classify` says stop or attempts run out. The last outcome
 * is returned (or thrown) as is, so callers map "never cleared" themselves.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions<T>,
): Promise<T> {
  const attempts = Math.min(Math.max(1, options.attempts), MAX_ATTEMPTS);
  for (let attempt = 1; ; attempt++) {
    let outcome: AttemptOutcome<T>;
    try {
      outcome = { value: await fn(attempt) };
    } catch (error) {
      outcome = { error };
    }
    const decision = attempt >= attempts ? { retry: false } : options.classify(outcome);
    if (!decision.retry) {
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    }
    const delay = decision.afterMs ?? backoffDelay(attempt, options);
    await sleep(options.clock, Math.min(delay, options.maxMs), options.signal);
  }
}
