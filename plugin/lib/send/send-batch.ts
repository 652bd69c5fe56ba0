import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { evError } from '../../../src/errors.ts';
import { TokenBucket, rateBurst } from '../../../src/limits/token-bucket.ts';
import type { Clock } from '../../../src/clock.ts';
import { parseTemplate, renderTemplate, type Template } from './template.ts';
import { systemClock } from '../../../src/system-clock.ts';

/** Most messages one `send` may send: a guard against a typo such as --count 1e9. */
export const MAX_SEND_COUNT = 1_000_000;
/** Most parallel SMTP sessions: the sink caps its clients too, and more gains nothing on loopback. */
export const MAX_SEND_CONCURRENCY = 200;
/** Most recipients per message (RFC 5321 asks servers to accept at least 100). */
export const MAX_RECIPIENTS = 100;
/** Distinct rejection replies kept for the report. */
export const MAX_SAMPLES = 10;
/** How long to wait for a connection, greeting or reply before counting a message as failed. */
export const SMTP_TIMEOUT_MS = 15_000;

export interface SendOptions {
  smtp: { host: string; port: number };
  to: readonly string[];
  from: string;
  subject: string;
  body: string;
  count: number;
  /** Messages per second across all sessions; 0 or undefined for as fast as possible. */
  rate?: number;
  concurrency: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called after each message, for progress. */
  onProgress?: (done: number, report: SendReport) => void;
  /** For tests: replaces nodemailer's SMTP transport. */
  transport?: MailTransport;
  /** For tests: the run id substituted for {{run}}. */
  runId?: string;
  /** Paces --rate and measures the run; a fake one in tests. */
  clock?: Clock;
}

/** The part of a nodemailer transport that `send` uses. */
export interface MailTransport {
  sendMail(
    message: Record<string, unknown>,
  ): Promise<{ accepted?: unknown[]; rejected?: unknown[]; rejectedErrors?: SmtpReplyError[] }>;
  close(): void;
}

interface SmtpReplyError {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
  rejectedErrors?: SmtpReplyError[];
  recipient?: string;
}

/** Counts are per recipient delivery: a message to two recipients counts twice. */
export interface SendReport {
  run: string;
  messages: number;
  accepted: number;
  rejected: number;
  deferred: number;
  /** Messages that got no SMTP answer (connection refused, timeout, reset). */
  failed: number;
  elapsedMs: number;
  /** Messages per second actually achieved. */
  ratePerSecond: number;
  /** A few distinct replies for rejections, deferrals and failures. */
  samples: Array<{
    kind: 'rejected' | 'deferred' | 'failed';
    reply: string;
    recipient: string | null;
    count: number;
  }>;
  interrupted: boolean;
}

interface Compiled {
  to: Template[];
  from: Template;
  subject: Template;
  body: Template;
}

/** Validates the options before anything is sent; every problem names its flag. */
export function validateSendOptions(
  o: Pick<SendOptions, 'to' | 'from' | 'subject' | 'body' | 'count' | 'rate' | 'concurrency'>,
): Compiled {
  const bad = (message: string, hint: string): never => {
    throw evError('EV_ERR_INVALID_OPTION', message, { hint });
  };
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_SEND_COUNT)
    bad(`--count must be an integer from 1 to ${MAX_SEND_COUNT}`, 'e.g. --count 100');
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > MAX_SEND_CONCURRENCY)
    bad(
      `--concurrency must be an integer from 1 to ${MAX_SEND_CONCURRENCY}`,
      'e.g. --concurrency 4',
    );
  if (o.rate !== undefined && (!Number.isFinite(o.rate) || o.rate < 0))
    bad(
      '--rate must be a positive number of messages per second (0 = unlimited)',
      'e.g. --rate 50',
    );
  if (o.to.length === 0)
    bad('--to is required', 'e.g. --to user@example.com (repeat --to for several recipients)');
  if (o.to.length > MAX_RECIPIENTS)
    bad(`at most ${MAX_RECIPIENTS} --to recipients per message`, 'send several batches instead');
  for (const addr of [...o.to, o.from]) {
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(addr.replace(/\{\{[^}]*\}\}/g, 'x')))
      bad(`"${addr}" is not an email address`, 'use a bare address such as user@example.com');
  }
  return {
    to: o.to.map((t) => parseTemplate('--to', t)),
    from: parseTemplate('--from', o.from),
    subject: parseTemplate('--subject', o.subject),
    body: parseTemplate('--body', o.body),
  };
}

function defaultTransport(
  smtp: { host: string; port: number },
  concurrency: number,
): MailTransport {
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: false,
    pool: true,
    maxConnections: concurrency,
    maxMessages: Infinity,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    // The sink offers STARTTLS with a self-signed certificate when configured so;
    // it never relays, so an unverified certificate leaks nothing.
    tls: { rejectUnauthorized: false },
  });
}

/**
 * Sends `count` messages to the sink over real SMTP, at most `concurrency` at a
 * time and at most `rate` per second, and counts what the sink answered.
 * Rejections and deferrals are results, not errors. Nothing holds more than
 * `concurrency` messages in memory.
 */
export async function sendBatch(options: SendOptions): Promise<SendReport> {
  const compiled = validateSendOptions(options);
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const report: SendReport = {
    run: options.runId ?? randomBytes(4).toString('hex'),
    messages: 0,
    accepted: 0,
    rejected: 0,
    deferred: 0,
    failed: 0,
    elapsedMs: 0,
    ratePerSecond: 0,
    samples: [],
    interrupted: false,
  };
  const transport = options.transport ?? defaultTransport(options.smtp, options.concurrency);
  const bucket = options.rate
    ? new TokenBucket({ rate: options.rate, burst: rateBurst(options.rate), clock })
    : null;
  const signal = options.signal;
  let next = 1;

  const sample = (
    kind: 'rejected' | 'deferred' | 'failed',
    reply: string,
    recipient: string | null,
  ): void => {
    const found = report.samples.find((s) => s.kind === kind && s.reply === reply);
    if (found) found.count += 1;
    else if (report.samples.length < MAX_SAMPLES)
      report.samples.push({ kind, reply, recipient, count: 1 });
  };
  const classify = (e: SmtpReplyError, recipient: string | null): void => {
    const code = e.responseCode ?? 0;
    const kind = code >= 400 && code < 500 ? 'deferred' : 'rejected';
    report[kind] += 1;
    sample(kind, (e.response ?? e.message ?? '').trim(), recipient ?? e.recipient ?? null);
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (signal?.aborted) return;
      const n = next++;
      if (n > options.count) return;
      if (bucket) {
        try {
          await bucket.take(signal);
        } catch {
          return;
        }
      }
      const values = { n, count: options.count, run: report.run };
      const to = compiled.to.map((t) => renderTemplate(t, values));
      const message = {
        from: renderTemplate(compiled.from, values),
        to,
        subject: renderTemplate(compiled.subject, values),
        text: renderTemplate(compiled.body, values),
        headers: {
          'X-Email-Validate-Run': report.run,
          'X-Email-Validate-Seq': String(n),
          ...options.headers,
        },
      };
      try {
        const info = await transport.sendMail(message);
        report.accepted += info.accepted?.length ?? 0;
        for (const e of info.rejectedErrors ?? []) classify(e, null);
      } catch (err) {
        const e = (err ?? {}) as SmtpReplyError;
        if (e.rejectedErrors && e.rejectedErrors.length > 0)
          for (const r of e.rejectedErrors) classify(r, null);
        else if (typeof e.responseCode === 'number' && e.responseCode >= 400)
          for (const r of to) classify(e, r);
        else {
          report.failed += 1;
          sample('failed', `${e.code ?? 'ERROR'}: ${e.message ?? String(err)}`, null);
        }
      }
      report.messages += 1;
      options.onProgress?.(report.messages, report);
    }
  };

  try {
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, options.count) }, () => worker()),
    );
  } finally {
    transport.close();
  }
  report.interrupted = Boolean(signal?.aborted) && report.messages < options.count;
  report.elapsedMs = Math.round(clock.now() - started);
  report.ratePerSecond =
    report.elapsedMs > 0
      ? Math.round((report.messages / report.elapsedMs) * 10_000) / 10
      : report.messages;
  return report;
}
