/**
 * The CLI's client of a sink's HTTP API and WebSocket event feed, used by
 * `tail`, `messages`, `rules`, `send`, the flow runner and the tunnels (the URL
 * is often a localhost port-forward).
 *
 * HTTP goes through an undici dispatcher (a private keep-alive Agent unless one
 * is injected). The feed follows the sink with reconnects: bounded exponential
 * backoff with jitter, resume with `?since=<last seq seen>&instance=<id>`,
 * dedupe by seq, and detection of a sink restart (a different `instance` in
 * the hello frame, after which the new sink replays from its start).
 *
 * Errors are catalog errors: EV_ERR_SINK_UNREACHABLE (network), EV_ERR_UNAUTHORIZED
 * (401), EV_ERR_NOT_FOUND (404), the sink's own code when it sent one (e.g.
 * EV_ERR_RULES_INVALID), else EV_ERR_SINK_RESPONSE; each with a hint.
 */
import { Agent, request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { sleep, type Clock } from '../../src/clock.ts';
import {
  ERROR_CODES,
  EmailValidateError,
  evError,
  isEmailValidateError,
  type ErrorCode,
} from '../../src/errors.ts';
import { backoffDelay } from '../../src/limits/backoff.ts';
import {
  FEED_CLOSE_TOO_SLOW,
  FEED_PING_INTERVAL_MS,
  FEED_SUBPROTOCOL,
} from '../../src/protocol.ts';
import type {
  HelloFrame,
  MessageDetail,
  MessageList,
  SinkEvent,
  SinkStats,
} from '../../src/protocol.ts';
import { readAtMost } from './read-bounded.ts';
import { systemClock } from '../../src/system-clock.ts';
import { codeInCauses } from '../../src/guards.ts';

/** First reconnect delay; doubles per failed attempt. */
export const RECONNECT_INITIAL_DELAY_MS = 250;
/** Longest wait between reconnect attempts: a restarted pod or tunnel is picked up within this. */
export const RECONNECT_MAX_DELAY_MS = 10_000;
/** Give up (EV_ERR_SINK_UNREACHABLE) after the sink has been unreachable this long without a single hello. */
export const RECONNECT_GIVE_UP_MS = 5 * 60_000;
/** No frame or ping from the sink for this long (three missed pings) means a dead tunnel: reconnect. */
export const FEED_IDLE_TIMEOUT_MS = 3 * FEED_PING_INTERVAL_MS;
/** WebSocket opening handshake bound. */
export const FEED_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Largest event frame accepted; a summary with thousands of recipients is well under this. */
export const FEED_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest HTTP response body read: above the sink's default store cap (256 MiB), so any one message fits. */
export const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;
/** Time to wait for response headers from the sink. */
export const REQUEST_HEADERS_TIMEOUT_MS = 30_000;

export interface SinkClientOptions {
  /** Base URL of the sink's HTTP API (a path prefix is kept, e.g. an API-server proxy path); a function for tunnels whose port can change. */
  url: string | URL | (() => string | URL);
  /** The API token; omit or null for a sink started with --no-auth. */
  token?: string | null;
  /** undici dispatcher for HTTP; default: a private keep-alive Agent closed by {@link SinkClient.close}. */
  dispatcher?: Dispatcher;
}

export interface ListQuery {
  start?: number;
  limit?: number;
  to?: string;
  from?: string;
  subject?: string;
  containing?: string;
  tag?: string;
}

/** What `/api/info` returns. */
export interface SinkInfo {
  name?: string;
  protocol: number;
  instance: string;
  auth?: boolean;
  oldestSeq?: number;
  lastSeq: number;
  smtp?: { host?: string; port?: number } | null;
  [key: string]: unknown;
}

export type FeedStatus =
  | { state: 'connecting'; attempt: number; since: number | null }
  | { state: 'connected'; instance: string; since: number; lastSeq: number; resumed: boolean }
  | {
      state: 'disconnected';
      code: number | null;
      reason: string;
      retryInMs: number;
      attempt: number;
    }
  | { state: 'restarted'; previousInstance: string; instance: string };

export interface EventsOptions {
  /** Replay events after this seq (0 = everything retained); omitted = live events only. */
  since?: number;
  /** Only these types (`message.*` wildcards allowed); gaps always come through. */
  types?: readonly string[];
  /** Stops following; events() then resolves. */
  signal?: AbortSignal;
  /** Every event, in seq order, exactly once per sink instance; `gap` events included. */
  onEvent(event: SinkEvent): void;
  /** Called before a `gap` event is passed to onEvent. */
  onGap?(gap: SinkEvent<'gap'>): void;
  /** Each (re)connection's hello frame. */
  onHello?(hello: HelloFrame): void;
  onStatus?(status: FeedStatus): void;
  /** Reconnect tuning (tests shorten it). */
  reconnect?: {
    initialDelayMs?: number;
    maxDelayMs?: number;
    giveUpAfterMs?: number;
    idleTimeoutMs?: number;
  };
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** Reconnect waits and the give-up deadline run on this clock (default: real time). */
  clock?: Clock;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Errors of a reused keep-alive connection that the peer (or a tunnel) closed meanwhile. */
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
/** Retries of a request that failed on a stale pooled connection (all sink routes are idempotent). */
export const STALE_CONNECTION_RETRIES = 1;

function errorCodeOf(err: unknown): string | undefined {
  return codeInCauses(err, (code) => NETWORK_CODES.has(code), 4);
}

function unreachable(url: string, cause: unknown): EmailValidateError {
  const code = errorCodeOf(cause);
  return evError(
    'EV_ERR_SINK_UNREACHABLE',
    `cannot reach the sink at ${url}${code ? ` (${code})` : ''}`,
    {
      hint: 'check --sink or the tunnel, and that the sink pod is running (kubectl email-validate status)',
      cause,
    },
  );
}

/** Maps a non-2xx answer of the sink to a catalog error. */
export function responseError(status: number, body: string, what: string): EmailValidateError {
  let sent: { code?: unknown; message?: unknown; hint?: unknown } | undefined;
  try {
    const parsed = JSON.parse(body) as {
      error?: { code?: unknown; message?: unknown; hint?: unknown };
    };
    sent = parsed?.error;
  } catch {
    /* not JSON: a proxy or something that is not a sink */
  }
  const message =
    typeof sent?.message === 'string' ? sent.message : `the sink answered ${status} to ${what}`;
  const hint = typeof sent?.hint === 'string' ? sent.hint : undefined;
  if (status === 401) {
    return evError('EV_ERR_UNAUTHORIZED', `the sink refused the API token (401) for ${what}`, {
      hint: "pass the sink's token with --token or --token-file (printed by `sink`, stored in the sink's Secret)",
    });
  }
  if (status === 404) {
    return evError('EV_ERR_NOT_FOUND', message, {
      hint: hint ?? 'list messages with `kubectl email-validate messages list`',
    });
  }
  if (typeof sent?.code === 'string' && Object.hasOwn(ERROR_CODES, sent.code)) {
    return new EmailValidateError(
      sent.code as ErrorCode,
      message,
      hint === undefined ? {} : { hint },
    );
  }
  return evError('EV_ERR_SINK_RESPONSE', `the sink answered ${status} to ${what}`, {
    hint: 'check that --sink points at a kubectl-email-validate sink of a matching version',
    details: { status, body: body.slice(0, 200) },
  });
}

function readLimited(
  body: Dispatcher.ResponseData['body'],
  limit: number,
  what: string,
): Promise<Buffer> {
  return readAtMost(body, limit, () => {
    body.destroy();
    throw evError(
      'EV_ERR_SINK_RESPONSE',
      `the sink's answer to ${what} is larger than ${limit} bytes`,
    );
  });
}

type ConnectionOutcome =
  | { kind: 'closed'; code: number | null; reason: string; hello: boolean }
  | { kind: 'fatal'; error: unknown }
  | { kind: 'aborted' };

export class SinkClient {
  readonly #url: () => URL;
  readonly #token: string | null;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;

  constructor(options: SinkClientOptions) {
    const url = options.url;
    const normalise = (u: string | URL): URL => {
      const parsed = new URL(String(u));
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw evError('EV_ERR_INVALID_OPTION', `sink URL must be http(s), got ${parsed.protocol}`, {
          hint: 'e.g. --sink http://127.0.0.1:8025',
        });
      }
      if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
      parsed.search = '';
      parsed.hash = '';
      return parsed;
    };
    if (typeof url === 'function') this.#url = () => normalise(url());
    else {
      const fixed = normalise(url);
      this.#url = () => fixed;
    }
    this.#token = options.token ?? null;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        keepAliveTimeout: 4_000,
        connections: 16,
        headersTimeout: REQUEST_HEADERS_TIMEOUT_MS,
      });
  }

  /** The base URL currently in use. */
  get url(): string {
    return this.#url().href;
  }

  /** Closes the private dispatcher (not an injected one). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  #endpoint(path: string, query?: Record<string, string | number | undefined>): URL {
    const url = new URL(path.replace(/^\//, ''), this.#url());
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    return url;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token === null ? extra : { ...extra, authorization: `Bearer ${this.#token}` };
  }

  async #request(
    method: Dispatcher.HttpMethod,
    path: string,
    options: RequestParams = {},
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }> {
    const url = this.#endpoint(path, options.query);
    const what = `${method} ${url.pathname}`;
    let res: Dispatcher.ResponseData | undefined;
    for (let attempt = 0; res === undefined; attempt++) {
      try {
        res = await request(url, {
          method,
          dispatcher: this.#dispatcher,
          headers: this.#headers(
            options.contentType ? { 'content-type': options.contentType } : {},
          ),
          body: options.body,
          signal: options.signal,
        });
      } catch (err) {
        if (options.signal?.aborted) throw err;
        // A pooled connection that died with its tunnel: every route is idempotent, so try once more on a fresh one.
        if (
          attempt < STALE_CONNECTION_RETRIES &&
          STALE_CONNECTION_CODES.has(errorCodeOf(err) ?? '')
        )
          continue;
        throw unreachable(this.#url().origin, err);
      }
    }
    let body: Buffer;
    try {
      body = await readLimited(res.body, MAX_RESPONSE_BYTES, what);
    } catch (err) {
      if (isEmailValidateError(err) || options.signal?.aborted) throw err;
      throw unreachable(this.#url().origin, err);
    }
    if (res.statusCode < 200 || res.statusCode > 299)
      throw responseError(res.statusCode, body.toString('utf8'), what);
    return { status: res.statusCode, headers: res.headers, body };
  }

  async #json<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    options: RequestParams = {},
  ): Promise<T> {
    const { body } = await this.#request(method, path, options);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (err) {
      throw evError('EV_ERR_SINK_RESPONSE', `the sink's answer to ${method} ${path} is not JSON`, {
        hint: 'check that --sink points at a kubectl-email-validate sink',
        cause: err,
      });
    }
  }

  list(query: ListQuery = {}, options: { signal?: AbortSignal } = {}): Promise<MessageList> {
    return this.#json('GET', '/api/messages', { query: { ...query }, signal: options.signal });
  }

  /** Free-text search over whole messages (`q`), with the list filters. */
  search(
    q: string | (ListQuery & { q?: string }),
    options: { signal?: AbortSignal } = {},
  ): Promise<MessageList> {
    const query = typeof q === 'string' ? { q } : { ...q };
    return this.#json('GET', '/api/search', { query, signal: options.signal });
  }

  get(id: string, options: { signal?: AbortSignal } = {}): Promise<MessageDetail> {
    return this.#json('GET', `/api/messages/${encodeURIComponent(id)}`, { signal: options.signal });
  }

  /** The message exactly as received (.eml bytes). */
  async raw(id: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return (
      await this.#request('GET', `/api/messages/${encodeURIComponent(id)}/raw`, {
        signal: options.signal,
      })
    ).body;
  }

  async attachment(
    id: string,
    index: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ content: Buffer; contentType: string; filename: string | null }> {
    const res = await this.#request(
      'GET',
      `/api/messages/${encodeURIComponent(id)}/attachments/${index}`,
      { signal: options.signal },
    );
    const disposition = String(res.headers['content-disposition'] ?? '');
    const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
    const plain = /filename="([^"]*)"/i.exec(disposition);
    let filename: string | null = null;
    try {
      filename = star ? decodeURIComponent(star[1]) : plain ? plain[1] : null;
    } catch {
      filename = plain ? plain[1] : null;
    }
    return {
      content: res.body,
      contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
      filename,
    };
  }

  async delete(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#request('DELETE', `/api/messages/${encodeURIComponent(id)}`, {
      signal: options.signal,
    });
  }

  /** Deletes every message; returns how many there were. */
  clear(options: { signal?: AbortSignal } = {}): Promise<{ deleted: number }> {
    return this.#json('DELETE', '/api/messages', { signal: options.signal });
  }

  /** The YAML of the rules in force. */
  async rules(options: { signal?: AbortSignal } = {}): Promise<string> {
    return (await this.#request('GET', '/api/rules', { signal: options.signal })).body.toString(
      'utf8',
    );
  }

  /** Replaces the rules; EV_ERR_RULES_INVALID (with the sink's message) when they do not validate. */
  setRules(yaml: string, options: { signal?: AbortSignal } = {}): Promise<{ count: number }> {
    return this.#json('PUT', '/api/rules', {
      body: yaml,
      contentType: 'application/yaml',
      signal: options.signal,
    });
  }

  stats(options: { signal?: AbortSignal } = {}): Promise<SinkStats> {
    return this.#json('GET', '/api/stats', { signal: options.signal });
  }

  info(options: { signal?: AbortSignal } = {}): Promise<SinkInfo> {
    return this.#json('GET', '/api/info', { signal: options.signal });
  }

  /** True when /readyz answers 200; false for 503 or when unreachable. Needs no token. */
  async ready(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      const res = await request(this.#endpoint('/readyz'), {
        method: 'GET',
        dispatcher: this.#dispatcher,
        signal: options.signal,
      });
      await res.body.dump();
      return res.statusCode === 200;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return false;
    }
  }

  /**
   * Follows the event feed until `signal` aborts (then resolves). Reconnects
   * on its own; rejects with EV_ERR_UNAUTHORIZED on a refused token, with
   * EV_ERR_SINK_UNREACHABLE when no connection succeeded for
   * `giveUpAfterMs`, or with whatever `onEvent` threw.
   */
  async events(options: EventsOptions): Promise<void> {
    const signal = options.signal;
    const initial = options.reconnect?.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS;
    const max = options.reconnect?.maxDelayMs ?? RECONNECT_MAX_DELAY_MS;
    const giveUp = options.reconnect?.giveUpAfterMs ?? RECONNECT_GIVE_UP_MS;
    const idle = options.reconnect?.idleTimeoutMs ?? FEED_IDLE_TIMEOUT_MS;
    const random = options.random ?? Math.random;
    const clock = options.clock ?? systemClock;
    const state: FeedState = { lastSeq: options.since ?? null, instance: null };
    let attempt = 0;
    let failingSince: number | null = null;
    let lastError: unknown = null;

    while (!signal?.aborted) {
      options.onStatus?.({ state: 'connecting', attempt, since: state.lastSeq });
      const outcome = await this.#followOnce(state, options, idle);
      if (outcome.kind === 'aborted' || signal?.aborted) return;
      if (outcome.kind === 'fatal') throw outcome.error;
      if (outcome.hello) {
        attempt = 0;
        failingSince = null;
      } else {
        failingSince ??= clock.now();
        lastError = outcome.reason;
        if (clock.now() - failingSince >= giveUp) {
          throw unreachable(this.#url().origin, lastError);
        }
      }
      // A sink that dropped us for being slow wants us back at once; everything else backs off.
      attempt++;
      const delay =
        outcome.code === FEED_CLOSE_TOO_SLOW && outcome.hello
          ? 0
          : backoffDelay(attempt, { baseMs: initial, maxMs: max, jitter: 'equal', random });
      options.onStatus?.({
        state: 'disconnected',
        code: outcome.code,
        reason: outcome.reason,
        retryInMs: delay,
        attempt,
      });
      // An abort ends the wait early; the loop condition then returns.
      if (delay > 0) await sleep(clock, delay, signal).catch(() => undefined);
    }
  }

  #feedUrl(state: FeedState, types?: readonly string[]): URL {
    const url = this.#endpoint('/api/events', {
      since: state.lastSeq ?? undefined,
      instance: state.instance ?? undefined,
      types: types && types.length > 0 ? types.join(',') : undefined,
    });
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url;
  }

  /** One connection: resolves when it ends, with whether a hello was received. */
  #followOnce(
    state: FeedState,
    options: EventsOptions,
    idleTimeoutMs: number,
  ): Promise<ConnectionOutcome> {
    const signal = options.signal;
    return new Promise((resolve) => {
      let settled = false;
      let hello = false;
      let idleTimer: NodeJS.Timeout | undefined;
      const ws = new WebSocket(this.#feedUrl(state, options.types), [FEED_SUBPROTOCOL], {
        headers: this.#headers(),
        handshakeTimeout: FEED_HANDSHAKE_TIMEOUT_MS,
        maxPayload: FEED_MAX_FRAME_BYTES,
        perMessageDeflate: false,
      });
      const finish = (outcome: ConnectionOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(idleTimer);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => {
        finish({ kind: 'aborted' });
        ws.close(1000, 'client done');
        const t = setTimeout(() => ws.terminate(), 1000);
        t.unref();
      };
      const armIdle = (): void => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          ws.terminate();
          finish({
            kind: 'closed',
            code: null,
            reason: `no data from the sink for ${idleTimeoutMs} ms`,
            hello,
          });
        }, idleTimeoutMs);
        idleTimer.unref();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return onAbort();

      ws.on('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 64 * 1024) chunks.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const error = responseError(
            status,
            Buffer.concat(chunks).toString('utf8'),
            'GET /api/events',
          );
          ws.terminate();
          // 401/400/404 will not fix themselves; 5xx from a proxy or a restarting pod may.
          if (status === 401 || status === 400 || status === 404 || status === 403)
            finish({ kind: 'fatal', error });
          else finish({ kind: 'closed', code: null, reason: error.message, hello });
        });
        res.on('error', () =>
          finish({ kind: 'closed', code: null, reason: `HTTP ${res.statusCode}`, hello }),
        );
      });
      ws.on('open', armIdle);
      ws.on('ping', armIdle);
      ws.on('message', (data: Buffer) => {
        armIdle();
        if (settled) return;
        let frame: HelloFrame | SinkEvent;
        try {
          frame = JSON.parse(data.toString('utf8')) as HelloFrame | SinkEvent;
        } catch {
          ws.terminate();
          finish({
            kind: 'closed',
            code: null,
            reason: 'the sink sent a frame that is not JSON',
            hello,
          });
          return;
        }
        try {
          if (frame.type === 'hello') {
            hello = true;
            this.#onHello(state, frame, options);
            return;
          }
          if (!hello) return;
          const event = frame;
          if (event.type === 'gap') {
            const gap = event;
            state.lastSeq = Math.max(state.lastSeq ?? 0, gap.data.to);
            options.onGap?.(gap);
            options.onEvent(gap);
            return;
          }
          if (state.lastSeq !== null && event.seq <= state.lastSeq) return;
          state.lastSeq = event.seq;
          options.onEvent(event);
        } catch (err) {
          ws.terminate();
          finish({ kind: 'fatal', error: err });
        }
      });
      ws.on('error', (err) => {
        finish({ kind: 'closed', code: null, reason: err.message, hello });
        ws.terminate();
      });
      ws.on('close', (code, reason) =>
        finish({
          kind: 'closed',
          code,
          reason: reason.toString('utf8') || `closed with code ${code}`,
          hello,
        }),
      );
    });
  }

  #onHello(state: FeedState, hello: HelloFrame, options: EventsOptions): void {
    const previous = state.instance;
    let resumed = previous === hello.instance;
    if (previous !== null && previous !== hello.instance) {
      // A new sink process: its seqs restarted, and (because we sent our
      // instance) it replays from the start of its window.
      options.onStatus?.({
        state: 'restarted',
        previousInstance: previous,
        instance: hello.instance,
      });
      state.lastSeq = typeof hello.since === 'number' ? hello.since : 0;
      resumed = false;
    } else if (typeof hello.since === 'number') {
      state.lastSeq = hello.since;
    } else if (state.lastSeq === null) {
      state.lastSeq = hello.lastSeq;
    }
    state.instance = hello.instance;
    options.onHello?.(hello);
    options.onStatus?.({
      state: 'connected',
      instance: hello.instance,
      since: state.lastSeq ?? 0,
      lastSeq: hello.lastSeq,
      resumed,
    });
  }
}

interface RequestParams {
  query?: Record<string, string | number | undefined>;
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

interface FeedState {
  /** Last seq delivered (or the replay start); null = live only, not yet connected. */
  lastSeq: number | null;
  instance: string | null;
}
