/**
 * Which API failures are worth another try, and how long to wait first.
 * `kubectl rollout status` keeps waiting through a throttled (429), failing
 * (5xx) or dropped (connection reset) request; so do we, for idempotent
 * reads and server-side apply, with the project's one bounded backoff
 * (src/retry.ts) on the injectable Clock, honouring Retry-After.
 */
import type { Clock } from '../../../src/clock.ts';
import { retry } from '../../../src/retry.ts';
import { causeOf, codeInCauses } from '../../../src/guards.ts';

/** Statuses a real API server (or the proxy in front of it) uses for "not now": throttled, failed, unavailable, gateway trouble. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
/** Network failures that say nothing about the request itself: the connection went away under it. */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/**
 * Attempts per call (first try included): with the delays below a call
 * survives about 15 s of trouble, the same order as a control-plane restart.
 */
export const TRANSIENT_ATTEMPTS = 6;
/** First retry delay: quick, as kubectl's client-go starts at a few hundred ms. */
export const TRANSIENT_BASE_MS = 250;
/**
 * Cap on one wait, including a server's Retry-After: a server asking for more
 * (APF answers 1 s; some proxies say 60) would outlast `--wait` on its own.
 */
export const TRANSIENT_MAX_MS = 8_000;

/** What client-node's ApiException carries (matched by shape: this module must not load client-node, see cluster-sink.ts). */
interface HttpFailure {
  code: number;
  headers: Record<string, string | undefined>;
}

function isHttpFailure(e: unknown): e is HttpFailure {
  if (typeof e !== 'object' || e === null) return false;
  const code: unknown = Reflect.get(e, 'code');
  const headers: unknown = Reflect.get(e, 'headers');
  return (
    typeof code === 'number' &&
    code >= 100 &&
    code < 600 &&
    typeof headers === 'object' &&
    headers !== null
  );
}

/** The HTTP failure under our EmailValidateError wrapping (`cause` chain), if any. */
function httpFailure(err: unknown): HttpFailure | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e; i++) {
    if (isHttpFailure(e)) return e;
    e = causeOf(e);
  }
  return undefined;
}

function networkCode(err: unknown): string | undefined {
  return codeInCauses(err, (code) => TRANSIENT_NETWORK_CODES.has(code));
}

/** True for 429, 5xx gateway/server errors and a connection lost mid-request. */
export function isTransient(err: unknown): boolean {
  const http = httpFailure(err);
  if (http) return TRANSIENT_STATUSES.has(http.code);
  if (networkCode(err)) return true;
  // undici words a reset as "other side closed" / "socket hang up" without a code at the top.
  let e: unknown = err;
  for (let i = 0; i < 8 && e; i++) {
    if (e instanceof Error && /other side closed|socket hang up/i.test(e.message)) return true;
    e = causeOf(e);
  }
  return false;
}

/** A short name for a transient failure, for progress lines: `429`, `503`, `ECONNRESET`. */
export function transientLabel(err: unknown): string {
  const http = httpFailure(err);
  if (http) return String(http.code);
  return networkCode(err) ?? 'a dropped connection';
}

/** The server's Retry-After (seconds form) in ms, capped at {@link TRANSIENT_MAX_MS}; undefined without one. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = httpFailure(err)?.headers;
  if (!headers) return undefined;
  const raw = Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  if (raw === undefined || !/^\d{1,6}$/.test(raw.trim())) return undefined;
  return Math.min(Number(raw.trim()) * 1000, TRANSIENT_MAX_MS);
}

export interface TransientRetryOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** Told before each wait (progress on stderr). */
  onRetry?: (error: unknown, waitMs: number | undefined) => void;
  random?: () => number;
}

/** Runs `fn`, trying again (bounded, with backoff or Retry-After) while it fails transiently. */
export function retryTransient<T>(fn: () => Promise<T>, o: TransientRetryOptions): Promise<T> {
  return retry(() => fn(), {
    attempts: TRANSIENT_ATTEMPTS,
    baseMs: TRANSIENT_BASE_MS,
    maxMs: TRANSIENT_MAX_MS,
    clock: o.clock,
    signal: o.signal,
    ...(o.random ? { random: o.random } : {}),
    classify: ({ error }) => {
      if (error === undefined || !isTransient(error) || o.signal?.aborted) return { retry: false };
      const afterMs = retryAfterMs(error);
      o.onRetry?.(error, afterMs);
      return { retry: true, ...(afterMs !== undefined ? { afterMs } : {}) };
    },
  });
}
