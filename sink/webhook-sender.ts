/**
 * POSTs provider-format notifications (see src/webhook-payloads.ts) to the
 * application under test. Never throws: the outcome is a status or an error
 * string, which the sink announces as a `webhook.sent` event.
 *
 * HTTP client: an injected undici Dispatcher when given (its `request()`
 * method; tests and callers can pass an Agent or a MockAgent), otherwise
 * Node's built-in fetch, which is undici inside Node. Importing the undici
 * package here would add about 740 KB (minified) to the sink bundle that must
 * fit a ConfigMap, and Node's fetch cannot take a Dispatcher from undici 8
 * (its handler API differs: "invalid onRequestStart method").
 */
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Clock } from '../src/clock.ts';
import type { MessageSummary } from '../src/protocol.ts';
import { MAX_ATTEMPTS, retry } from '../src/retry.ts';
import {
  buildWebhookRequest,
  type WebhookEvent,
  type WebhookFormat,
} from '../src/webhook-payloads.ts';
import { headerText, splitMessage } from './analysis/headers.ts';
import { systemClock } from '../src/system-clock.ts';

/** Milliseconds one attempt may take (connect + response headers); the application under test is local. */
export const WEBHOOK_TIMEOUT_MS = 5000;
/** Attempts in total: 5xx and connection failures are retried, like the providers do, but only a few times in a test. */
export const WEBHOOK_MAX_ATTEMPTS = 3;
/** First retry delay; doubles each attempt. */
export const WEBHOOK_BACKOFF_MS = 250;
/** Response bytes read (and discarded) before giving up on the body: only the status matters. */
export const MAX_WEBHOOK_RESPONSE_BYTES = 64 * 1024;
/** Characters of a URL accepted. */
export const MAX_WEBHOOK_URL_CHARS = 2048;

export interface WebhookPost {
  url: string;
  format: WebhookFormat;
  event: WebhookEvent;
  message: MessageSummary;
  recipient: string;
  diagnostic?: string;
  /** The raw message, optional: its headers feed X-SMTPAPI unique_args (SendGrid) and mail.headers/tags (SES). */
  raw?: Buffer;
}

export interface WebhookPostOptions {
  dispatcher?: Dispatcher;
  now?: () => Date;
  timeoutMs?: number;
  maxAttempts?: number;
  /** Delay before the first retry (doubles after); 0 in tests. */
  backoffMs?: number;
  /** Waits between attempts run on this clock (default: real time). */
  clock?: Clock;
  topicArn?: string;
  reportingMta?: string;
}

export interface WebhookOutcome {
  /** HTTP status of the last attempt, or null when no response arrived. */
  status: number | null;
  /** Null on 2xx; otherwise why the delivery failed. */
  error: string | null;
  /** Attempts made. */
  attempts?: number;
}

function isRetryable(status: number | null): boolean {
  return status === null || status >= 500;
}

async function attemptOnce(
  url: URL,
  body: string,
  headers: Record<string, string>,
  options: WebhookPostOptions,
  timeoutMs: number,
): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs);
  if (options.dispatcher) {
    const res = await options.dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers,
      body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await res.body.dump({ limit: MAX_WEBHOOK_RESPONSE_BYTES }).catch(() => undefined);
    return res.statusCode;
  }
  const res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  await res.body?.cancel().catch(() => undefined);
  return res.status;
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as {
    name?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  } | null;
  if (
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `timed out after ${timeoutMs} ms`;
  }
  const code = e?.cause?.code ?? e?.code;
  if (typeof code === 'string') return `connection failed (${code})`;
  return `request failed (${e?.name ?? 'error'})`;
}

/** Sends one notification with a bounded timeout and a bounded number of retries. Never throws. */
export async function postWebhook(
  req: WebhookPost,
  options: WebhookPostOptions = {},
): Promise<WebhookOutcome> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const maxAttempts = Math.max(
    1,
    Math.min(options.maxAttempts ?? WEBHOOK_MAX_ATTEMPTS, MAX_ATTEMPTS),
  );
  const backoffMs = options.backoffMs ?? WEBHOOK_BACKOFF_MS;
  let url: URL;
  try {
    if (req.url.length > MAX_WEBHOOK_URL_CHARS) throw new Error('too long');
    url = new URL(req.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    return { status: null, error: 'invalid webhook URL (need http:// or https://)', attempts: 0 };
  }
  let built: { body: string; headers: Record<string, string> };
  try {
    const headers = req.raw
      ? splitMessage(req.raw).headers.map((h) => ({ name: h.name, value: headerText(h.value) }))
      : undefined;
    built = buildWebhookRequest(
      { ...req, ...(headers ? { headers } : {}) },
      {
        now: options.now ?? (() => new Date()),
        newId: randomUUID,
        topicArn: options.topicArn,
        reportingMta: options.reportingMta,
      },
    );
  } catch {
    return { status: null, error: 'could not build the notification', attempts: 0 };
  }
  return retry(
    async (attempt): Promise<Required<WebhookOutcome>> => {
      try {
        const status = await attemptOnce(url, built.body, built.headers, options, timeoutMs);
        return {
          status,
          error: status >= 200 && status < 300 ? null : `HTTP ${status}`,
          attempts: attempt,
        };
      } catch (err) {
        return { status: null, error: describe(err, timeoutMs), attempts: attempt };
      }
    },
    {
      attempts: maxAttempts,
      baseMs: backoffMs,
      maxMs: backoffMs * 2 ** (maxAttempts - 1),
      jitter: 'none',
      clock: options.clock ?? systemClock,
      classify: ({ value }) => ({
        retry: value !== undefined && value.error !== null && isRetryable(value.status),
      }),
    },
  );
}
