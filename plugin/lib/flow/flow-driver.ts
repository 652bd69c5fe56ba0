/**
 * The I/O of a flow run: SMTP through nodemailer to the sink, HTTP through
 * undici (a private dispatcher, never the global one), link probes, and
 * Kubernetes Jobs when a cluster is available.
 */
import nodemailer from 'nodemailer';
import type { Dispatcher } from 'undici';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import type { LinkProbe } from '../../../src/flow/criteria.ts';
import {
  MAX_HTTP_BODY_BYTES,
  type FlowDriver,
  type HttpRequestSpec,
  type HttpResponse,
  type JobOutcome,
  type JobRequest,
  type OutgoingMail,
  type RecipientFailure,
  type SendOutcome,
} from '../../../src/flow/runner.ts';
import { readTruncated } from '../read-bounded.ts';
import { errorCode, errorMessage, isRecord } from '../../../src/guards.ts';

/** How long to wait for an SMTP connection, greeting or reply from the sink. */
export const FLOW_SMTP_TIMEOUT_MS = 15_000;
/** A link probe gives up after this: a confirmation link that slow is a finding in itself. */
export const LINK_PROBE_TIMEOUT_MS = 10_000;
/** Redirects followed by a link probe (tracking links usually redirect once or twice). */
export const LINK_PROBE_MAX_REDIRECTS = 5;
/** Probe results remembered per run, so the same link in many messages is fetched once. */
export const MAX_CACHED_PROBES = 1_000;

interface SmtpError {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
  rejectedErrors?: SmtpError[];
  recipient?: string;
}

/** The part of a nodemailer transport the driver uses (tests may pass their own). */
export interface FlowMailTransport {
  sendMail(
    message: Record<string, unknown>,
  ): Promise<{ accepted?: unknown[]; rejected?: unknown[]; rejectedErrors?: SmtpError[] }>;
  close(): void;
}

/** Routes a URL to a dispatcher: cluster-internal hosts go through the API server or a tunnel. */
export type HttpRouter = (url: URL) => Promise<{ url: URL; dispatcher?: Dispatcher } | null>;

export interface FlowDriverOptions {
  smtp: { host: string; port: number };
  transport?: FlowMailTransport;
  dispatcher?: Dispatcher;
  /** For `*.svc.cluster.local` URLs (cluster runs). */
  route?: HttpRouter;
  runJob?: (request: JobRequest, signal: AbortSignal) => Promise<JobOutcome>;
}

export interface ClosableFlowDriver extends FlowDriver {
  close(): Promise<void>;
}

function failure(e: SmtpError, recipient: string): RecipientFailure {
  return {
    recipient: e.recipient ?? recipient,
    code: e.responseCode ?? null,
    response: (e.response ?? e.message ?? '').trim(),
  };
}

function classify(into: SendOutcome, e: SmtpError, recipient: string): void {
  const f = failure(e, recipient);
  if (f.code !== null && f.code >= 400 && f.code < 500) into.deferred.push(f);
  else into.rejected.push(f);
}

export function createFlowDriver(options: FlowDriverOptions): ClosableFlowDriver {
  const transport: FlowMailTransport =
    options.transport ??
    nodemailer.createTransport({
      host: options.smtp.host,
      port: options.smtp.port,
      secure: false,
      pool: true,
      maxConnections: 1,
      maxMessages: Infinity,
      connectionTimeout: FLOW_SMTP_TIMEOUT_MS,
      greetingTimeout: FLOW_SMTP_TIMEOUT_MS,
      socketTimeout: FLOW_SMTP_TIMEOUT_MS,
      // The sink never relays; its optional STARTTLS certificate is self-signed.
      tls: { rejectUnauthorized: false },
    });
  // undici is loaded on the first HTTP step or link probe: many flows only send and expect.
  let http: Promise<{
    request: typeof import('undici').request;
    redirect: typeof import('undici').interceptors.redirect;
    dispatcher: Dispatcher;
    probeDispatcher: Dispatcher;
    own: Dispatcher | null;
  }> | null = null;
  const undici = (): NonNullable<typeof http> => {
    http ??= import('undici').then(({ Agent, interceptors, request }) => {
      const own = options.dispatcher
        ? null
        : new Agent({ keepAliveTimeout: 5_000, connect: { timeout: 10_000 } });
      const dispatcher = options.dispatcher ?? (own as Dispatcher);
      const probeDispatcher = dispatcher.compose(
        interceptors.redirect({ maxRedirections: LINK_PROBE_MAX_REDIRECTS }),
      );
      return { request, redirect: interceptors.redirect, dispatcher, probeDispatcher, own };
    });
    return http;
  };
  const probes = new Map<string, Promise<LinkProbe>>();

  const route = async (
    raw: string,
    d: Dispatcher,
  ): Promise<{ url: URL; dispatcher: Dispatcher }> => {
    const url = new URL(raw);
    if (options.route) {
      const routed = await options.route(url);
      if (routed) return { url: routed.url, dispatcher: routed.dispatcher ?? d };
    }
    if (/\.svc(\.cluster\.local)?$/i.test(url.hostname)) {
      throw evError(
        'EV_ERR_FLOW_STEP',
        `${url.hostname} is a cluster-internal address and this run has no cluster`,
        {
          hint: 'run the flow against a cluster (without --local/--sink), or use a URL this machine can reach',
        },
      );
    }
    return { url, dispatcher: d };
  };

  return {
    async sendMail(mail: OutgoingMail, signal: AbortSignal): Promise<SendOutcome> {
      signal.throwIfAborted();
      const outcome: SendOutcome = { accepted: [], rejected: [], deferred: [] };
      const recipients = [...mail.to, ...mail.cc, ...mail.bcc];
      const message = {
        from: mail.from,
        to: mail.to,
        cc: mail.cc.length ? mail.cc : undefined,
        bcc: mail.bcc.length ? mail.bcc : undefined,
        subject: mail.subject,
        text: mail.text ?? undefined,
        html: mail.html ?? undefined,
        headers: mail.headers,
        attachments: mail.attachments.map((a) => ({
          filename: a.filename,
          content: a.content,
          ...(a.contentType ? { contentType: a.contentType } : {}),
        })),
      };
      let onAbort: () => void = () => undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const sending = transport.sendMail(message);
        sending.catch(() => undefined); // settles after an abort won the race: not an unhandled rejection
        const info = await Promise.race([sending, aborted]).finally(() =>
          signal.removeEventListener('abort', onAbort),
        );
        outcome.accepted.push(...(info.accepted ?? []).map(String));
        for (const e of info.rejectedErrors ?? []) classify(outcome, e, e.recipient ?? '');
      } catch (err) {
        if (signal.aborted) throw err;
        const e = (err ?? {}) as SmtpError;
        if (e.rejectedErrors && e.rejectedErrors.length > 0)
          for (const r of e.rejectedErrors) classify(outcome, r, r.recipient ?? '');
        else if (typeof e.responseCode === 'number' && e.responseCode >= 400)
          for (const r of recipients) classify(outcome, e, r);
        else {
          throw evError(
            'EV_ERR_SINK_UNREACHABLE',
            `cannot send mail to the sink at ${options.smtp.host}:${options.smtp.port}: ${e.code ? `${e.code} ` : ''}${e.message ?? String(err)}`,
            {
              hint: 'check that the sink is running and its SMTP port is reachable',
              cause: err,
            },
          );
        }
      }
      return outcome;
    },

    async httpRequest(spec: HttpRequestSpec, signal: AbortSignal): Promise<HttpResponse> {
      const { request, dispatcher } = await undici();
      const target = await route(spec.url, dispatcher);
      const original = new URL(spec.url);
      // Routed through a tunnel: the application still sees the Host it was addressed by.
      const headers =
        target.url.host !== original.host &&
        !Object.keys(spec.headers).some((h) => h.toLowerCase() === 'host')
          ? { ...spec.headers, host: original.host }
          : spec.headers;
      try {
        const res = await request(target.url, {
          method: spec.method,
          headers,
          body: spec.body ?? undefined,
          dispatcher: target.dispatcher,
          signal,
        });
        return {
          status: res.statusCode,
          body: (await readTruncated(res.body, MAX_HTTP_BODY_BYTES)).toString('utf8'),
        };
      } catch (err) {
        if (signal.aborted || isEmailValidateError(err)) throw err;
        const code = errorCode(err) ?? (isRecord(err) ? errorCode(err.cause) : undefined);
        throw evError(
          'EV_ERR_FLOW_STEP',
          `${spec.method} ${spec.url} failed: ${code ?? errorMessage(err)}`,
          {
            hint: 'check that the application under test is running and the URL is reachable from here',
            cause: err,
          },
        );
      }
    },

    probeLink(url: string): Promise<LinkProbe> {
      let pending = probes.get(url);
      if (!pending) {
        pending = (async (): Promise<LinkProbe> => {
          try {
            const { request, redirect, probeDispatcher } = await undici();
            const target = await route(url, probeDispatcher);
            const d =
              target.dispatcher === probeDispatcher
                ? probeDispatcher
                : target.dispatcher.compose(
                    redirect({ maxRedirections: LINK_PROBE_MAX_REDIRECTS }),
                  );
            const res = await request(target.url, {
              method: 'GET',
              dispatcher: d,
              signal: AbortSignal.timeout(LINK_PROBE_TIMEOUT_MS),
            });
            await res.body.dump();
            return { status: res.statusCode, error: null };
          } catch (err) {
            const code = errorCode(err) ?? (isRecord(err) ? errorCode(err.cause) : undefined);
            return { status: null, error: code ?? errorMessage(err) };
          }
        })();
        const oldest = probes.keys().next();
        if (probes.size >= MAX_CACHED_PROBES && !oldest.done) probes.delete(oldest.value);
        probes.set(url, pending);
      }
      return pending;
    },

    ...(options.runJob ? { runJob: options.runJob } : {}),

    async close(): Promise<void> {
      transport.close();
      if (http) await (await http).own?.close();
    },
  };
}
