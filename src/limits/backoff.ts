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
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const factor = options.factor ?? 2;
  const d = Math.min(options.maxMs, options.baseMs * factor ** Math.max(0, attempt - 1));
  const r = (options.random ?? Math.random)();
  switch (options.jitter ?? 'equal') {
    case 'none':
      return d;
    case 'full':
      return Math.floor(d * r);
    default:
      return Math.floor(d / 2 + (d / 2) * r);
  }
}
