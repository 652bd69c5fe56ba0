/**
 * The HTTP verification provider stage: concurrency and rate of the config,
 * 429 + Retry-After honoured for every request to the provider (a 429 pauses
 * them all, not only the one that got it), bounded retries with backoff on
 * 5xx and network errors, and a circuit breaker that stops calling a provider
 * that keeps failing. The HTTP client is injected (undici Pool in production).
 */

import { sleep, type Clock } from '../clock.ts';
import { backoffDelay } from '../limits/backoff.ts';
import { CircuitBreaker } from '../limits/circuit-breaker.ts';
import { Semaphore } from '../limits/semaphore.ts';
import { TokenBucket } from '../limits/token-bucket.ts';
import type { PermitSource } from '../limits/keyed-limiter.ts';
import { getPath, renderBody, renderUrl, type ProviderConfig } from './provider-config.ts';
import type { ReasonCode } from './reasons.ts';
import type { ProviderDetails, ProviderStatus } from './result.ts';

/** Longest Retry-After we honour, in ms: a provider asking for more is treated as down for this address. */
export const MAX_RETRY_AFTER_MS = 120_000;
/** Cap on one backoff delay between provider retries. */
export const MAX_PROVIDER_BACKOFF_MS = 30_000;

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Readonly<Record<string, string>>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
}

export interface ProviderStageOptions {
  config: ProviderConfig;
  http: HttpClient;
  clock: Clock;
  random: () => number;
  /** First backoff delay for 5xx/network retries. */
  backoffBaseMs?: number;
  /**
   * The provider's concurrency and rate held elsewhere (the shards of
   * `check --in-cluster`: in Redis, for all of them together), as one permit
   * (a slot and a token) per request; by default a local semaphore and token
   * bucket from the config.
   */
  permits?: PermitSource;
}

/** The key of the provider's permit in a shared {@link PermitSource}. */
export const PROVIDER_PERMIT_KEY = 'provider';

/** Retry-After as delta-seconds or an HTTP-date; ms from now, or null if absent/unparseable. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs: number,
): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

const REASON: Record<ProviderStatus, ReasonCode | null> = {
  valid: null,
  invalid: 'provider_invalid',
  risky: 'provider_risky',
  unknown: 'provider_unknown',
  unavailable: 'provider_unavailable',
};

export class ProviderStage {
  private readonly options: ProviderStageOptions;
  /** One permit per request: a slot and, with a rate, a token. */
  private readonly permit: (signal?: AbortSignal) => Promise<() => void>;
  readonly breaker: CircuitBreaker;
  /** No request starts before this time (set by a 429's Retry-After). */
  private pausedUntil = 0;
  /** Requests sent, for stats and tests. */
  requests = 0;

  constructor(options: ProviderStageOptions) {
    this.options = options;
    const c = options.config;
    if (options.permits) {
      const shared = options.permits;
      // Slot and token come together from the shared source: wait out a 429's pause before
      // asking, and ask again if another request's 429 paused us while we waited.
      this.permit = async (signal) => {
        for (;;) {
          await this.waitPause(signal);
          const release = await shared.acquire(PROVIDER_PERMIT_KEY, signal);
          if (this.pausedUntil <= this.options.clock.now()) return release;
          release();
        }
      };
    } else {
      const sem = new Semaphore(c.concurrency);
      const bucket = c.rate
        ? new TokenBucket({ rate: c.rate.perSecond, burst: c.rate.burst, clock: options.clock })
        : null;
      this.permit = async (signal) => {
        const release = await sem.acquire();
        try {
          await this.waitPause(signal);
          if (bucket) await bucket.take(signal);
        } catch (err) {
          release();
          throw err;
        }
        return release;
      };
    }
    this.breaker = new CircuitBreaker({
      failureThreshold: c.breakerThreshold,
      cooldownMs: c.breakerCooldownMs,
      clock: options.clock,
    });
  }

  /** Waits until a 429's Retry-After has passed. */
  private async waitPause(signal?: AbortSignal): Promise<void> {
    const wait = this.pausedUntil - this.options.clock.now();
    if (wait > 0) await sleep(this.options.clock, wait, signal);
  }

  /** A failed request (no answer, 5xx, 408): counts against the breaker, then waits with backoff. */
  private async failed(failures: number, signal: AbortSignal | undefined): Promise<void> {
    this.breaker.failure();
    await sleep(
      this.options.clock,
      backoffDelay(failures, {
        baseMs: this.options.backoffBaseMs ?? 500,
        maxMs: MAX_PROVIDER_BACKOFF_MS,
        random: this.options.random,
      }),
      signal,
    );
  }

  async verify(
    address: string,
    normalized: string,
    signal?: AbortSignal,
  ): Promise<{ details: ProviderDetails; reason: ReasonCode | null }> {
    const c = this.options.config;
    let httpStatus: number | undefined;
    let attempts = 0;
    let failures = 0;
    while (attempts < c.attempts) {
      if (this.breaker.state === 'open') break;
      let res: HttpResponse | null = null;
      let release: (() => void) | null = null;
      try {
        release = await this.permit(signal);
        // Asked at the last moment: calls queued behind the ones that opened
        // the breaker must not go out.
        if (!this.breaker.allow()) break;
        attempts++;
        this.requests++;
        res = await this.options.http.request({
          method: c.method,
          url: renderUrl(c, normalized),
          headers: c.headers,
          body: renderBody(c, normalized),
          timeoutMs: c.timeoutMs,
          signal,
        });
      } catch {
        res = null;
      } finally {
        release?.();
      }
      if (res === null) {
        await this.failed(++failures, signal);
        continue;
      }
      httpStatus = res.status;
      if (res.status === 429) {
        // The provider is alive and asks us to slow down: not a breaker
        // failure, but every request waits out Retry-After.
        const after =
          parseRetryAfter(res.headers['retry-after'], this.options.clock.now()) ??
          backoffDelay(attempts, {
            baseMs: 1000,
            maxMs: MAX_PROVIDER_BACKOFF_MS,
            random: this.options.random,
          });
        if (after > MAX_RETRY_AFTER_MS) break;
        this.pausedUntil = Math.max(this.pausedUntil, this.options.clock.now() + after);
        continue;
      }
      if (res.status >= 500 || res.status === 408) {
        await this.failed(++failures, signal);
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        // 401/403/404…: a configuration problem; retrying will not help.
        this.breaker.failure();
        break;
      }
      this.breaker.success();
      let value: unknown;
      try {
        value = getPath(JSON.parse(res.body), c.verdictPath);
      } catch {
        value = undefined;
      }
      const key =
        typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
          ? String(value)
          : undefined;
      // Own entries only: a provider answering `constructor` or `__proto__` must not find Object.prototype's.
      const mapped = key !== undefined && Object.hasOwn(c.map, key) ? c.map[key] : undefined;
      const status: ProviderStatus =
        key === undefined ? 'unknown' : (mapped ?? (isVerdict(key) ? key : 'unknown'));
      const details: ProviderDetails = { status, attempts, httpStatus: res.status };
      if (key !== undefined) details.value = key.slice(0, 100);
      return { details, reason: REASON[status] };
    }
    const details: ProviderDetails = { status: 'unavailable', attempts };
    if (httpStatus !== undefined) details.httpStatus = httpStatus;
    return { details, reason: 'provider_unavailable' };
  }
}

function isVerdict(v: string): v is 'valid' | 'invalid' | 'risky' | 'unknown' {
  return v === 'valid' || v === 'invalid' || v === 'risky' || v === 'unknown';
}
