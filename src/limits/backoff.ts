import { sleep, type Clock } from '../clock.ts';

/** Upper bound on attempts any caller may configure: retries must stay bounded. */
export const MAX_ATTEMPTS = 10;

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Cap on one delay, in ms. */
  maxMs: number;
  /** Growth per attempt (2 = doubling). */
  factor?: number;
  /** 'full': uniform in [0, d]; 'equal': d/2 + uniform in [0, d/2]; 'none'. */
  jitter?: 'full' | 'equal' | 'none';
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/** Delay before retry number `attempt` (1-based): exponential, capped, with jitter. */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const factor = o.factor ?? 2;
  const d = Math.min(o.maxMs, o.baseMs * factor ** Math.max(0, attempt - 1));
  const r = (o.random ?? Math.random)();
  switch (o.jitter ?? 'equal') {
    case 'none': return d;
    case 'full': return Math.floor(d * r);
    default: return Math.floor(d / 2 + (d / 2) * r);
  }
}

export interface RetryOptions<T> extends BackoffOptions {
  /** Total attempts including the first (bounded by MAX_ATTEMPTS). */
  attempts: number;
  clock: Clock;
  signal?: AbortSignal;
  /**
   * Decides after each attempt: `{ retry: false }` returns the value,
   * `{ retry: true, afterMs? }` waits (afterMs overrides the backoff, e.g.
   * from Retry-After) and tries again.
   */
  classify(outcome: { value?: T; error?: unknown }): { retry: boolean; afterMs?: number };
}

/**
 * Runs `fn` until `classify` says stop or attempts run out. The last outcome
 * is returned (or thrown) as is, so callers map "never cleared" themselves.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions<T>): Promise<T> {
  const attempts = Math.min(Math.max(1, o.attempts), MAX_ATTEMPTS);
  for (let attempt = 1; ; attempt++) {
    let outcome: { value?: T; error?: unknown };
    try {
      outcome = { value: await fn(attempt) };
    } catch (error) {
      outcome = { error };
    }
    const decision = attempt >= attempts ? { retry: false } : o.classify(outcome);
    if (!decision.retry) {
      if ('error' in outcome) throw outcome.error;
      return outcome.value as T;
    }
    const delay = decision.afterMs ?? backoffDelay(attempt, o);
    await sleep(o.clock, Math.min(delay, o.maxMs), o.signal);
  }
}
