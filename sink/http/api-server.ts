/**
 * The sink's HTTP server: own JSON API, MailHog-compatible API, probes,
 * Prometheus metrics and the WebSocket event feed, on node:http with a tiny
 * router. The caller owns `listen()`; {@link ApiServer.shutdown} closes every
 * WebSocket with a close frame (1001) and stops accepting.
 *
 * Events of mutations made through the API (`message.deleted`,
 * `messages.cleared`, `rules.updated`) are published by the store and the
 * rules controller, not here, so that every path that mutates publishes once.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { EmailValidateError, evError } from '../../src/errors.ts';
import { FEED_SUBPROTOCOL, SINK_EVENT_TYPES } from '../../src/protocol.ts';
import {
  EventFeed,
  FEED_MAX_CLIENT_PAYLOAD,
  type EventFeedOptions,
  type FeedSubscription,
} from '../feed.ts';
import type { SinkMetrics } from '../metrics.ts';
import type { Logger, SinkContext } from '../types.ts';
import { addApiRoutes } from './api-routes.ts';
import { ConnectionGuard } from './connection-guard.ts';
export { HTTP_MAX_CONNECTIONS } from './connection-guard.ts';
import { TokenVerifier } from './auth.ts';
import { addMailhogRoutes } from './mailhog/routes.ts';
import { addMailpitRoutes } from './mailpit/routes.ts';
import type { Relay } from './mailhog/release.ts';
import type { ReleaseTarget } from '../release-targets.ts';
import { errorBody, sendError, sendJson, sendText } from './respond.ts';
import { Router } from './router.ts';
import type { RouteInfo } from './router.ts';
import { addUiRoutes } from '../ui/routes.ts';

/** Path of the WebSocket event feed. */
export const EVENTS_PATH = '/api/events';
/** Time a client gets to send its request headers (slowloris bound). */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** Time a client gets to send a whole request, body included (bodies are small: rules YAML). */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** Longest request target accepted; filters are bounded too, this bounds URL parsing. */
export const MAX_URL_LENGTH = 8 * 1024;
/** How long shutdown waits for in-flight responses before closing their connections. */
export const SHUTDOWN_GRACE_MS = 5_000;
/** Most event types a feed client may list in `?types=`. */
export const MAX_FEED_TYPES = 32;
/** Feed clients at once: each may hold up to the feed's soft buffer (1 MiB); `tail` and flows use a handful. */
export const MAX_FEED_CLIENTS = 256;

export interface ApiServerOptions {
  /** The API token; null disables authentication (`--no-auth`). */
  token: string | null;
  metrics: SinkMetrics;
  logger: Logger;
  /** Tuning of the event feed (tests shorten the ping interval and buffer bounds). */
  feed?: Omit<
    EventFeedOptions,
    'logger' | 'onClientOpened' | 'onClientClosed' | 'onClientDropped'
  > & { maxClients?: number };
  /** Called after a client joined the event feed (the sink resumes deferred analyses when it takes them). */
  onFeedClientOpened?: () => void;
  /** Hostname MailHog-compatible messages claim in their Received header. */
  mailhogHostname?: string;
  /** MailHog's event-stream keepalive interval (tests shorten MailHog's minute). */
  mailhogSseKeepaliveMs?: number;
  /** `--cors-origin`: Access-Control-Allow-Origin of the MailHog/Mailpit-compatible routes (null: none). */
  corsOrigin?: string | null;
  /** The link check may fetch loopback/private addresses (`--link-check-private`). */
  linkCheckPrivate?: boolean;
  /** `--release-to`: the SMTP servers MailHog/Mailpit releases may go to (none: releases are refused). */
  releaseTo?: readonly ReleaseTarget[];
  /** Sends releases (tests inject one). */
  relay?: Relay;
  /** Where the sink's SMTP listens: Mailpit's send route delivers through it. */
  localSmtp?: () => { host: string; port: number | null };
  /**
   * Extra fields for `GET /api/info`, e.g. `{ smtp: { port: 1025 }, version }`:
   * `send` reads `smtp.port` from there to know where to deliver.
   */
  info?: () => Record<string, unknown>;
}

export interface ApiServer {
  server: Server;
  /** The WebSocket event feed (exposed for stats and tests). */
  feed: EventFeed;
  /** Every HTTP route (the API fuzzer walks them). */
  routes(): RouteInfo[];
  /** Admission of HTTP connections (exposed for tests). */
  connections: ConnectionGuard;
  shutdown(): Promise<void>;
}

/** Parses `since`, `instance` and `types` of a feed request. */
export function parseFeedQuery(url: URL): FeedSubscription {
  const sinceRaw = url.searchParams.get('since');
  let since: number | null = null;
  if (sinceRaw !== null && sinceRaw !== '') {
    if (!/^\d{1,16}$/.test(sinceRaw) || !Number.isSafeInteger(Number(sinceRaw))) {
      throw evError(
        'EV_ERR_BAD_REQUEST',
        `since must be a non-negative integer event seq, got ${JSON.stringify(sinceRaw.slice(0, 40))}`,
      );
    }
    since = Number(sinceRaw);
  }
  const instanceRaw = url.searchParams.get('instance');
  const instance = instanceRaw === null || instanceRaw === '' ? null : instanceRaw.slice(0, 200);
  const typesRaw = url.searchParams.get('types');
  let types: Set<string> | null = null;
  if (typesRaw !== null && typesRaw !== '') {
    const wanted = typesRaw
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    if (wanted.length > MAX_FEED_TYPES)
      throw evError('EV_ERR_BAD_REQUEST', `types lists more than ${MAX_FEED_TYPES} entries`);
    types = new Set();
    for (const t of wanted) {
      const matches = t.endsWith('*')
        ? SINK_EVENT_TYPES.filter((k) => k.startsWith(t.slice(0, -1)))
        : SINK_EVENT_TYPES.filter((k) => k === t);
      if (matches.length === 0) {
        throw evError(
          'EV_ERR_BAD_REQUEST',
          `unknown event type ${JSON.stringify(t.slice(0, 60))}`,
          { hint: `known types: ${SINK_EVENT_TYPES.join(', ')}` },
        );
      }
      for (const m of matches) types.add(m);
    }
  }
  return { since, instance, types };
}

function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (
    typeof req.headers.upgrade === 'string' && req.headers.upgrade.toLowerCase() === 'websocket'
  );
}

function unauthorized(): EmailValidateError {
  return evError('EV_ERR_UNAUTHORIZED', 'missing or wrong API token', {
    hint: 'send Authorization: Bearer <token> (the token the sink printed, or its Secret)',
  });
}

function parseUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  if (target.length > MAX_URL_LENGTH)
    throw evError('EV_ERR_BAD_REQUEST', `request URL longer than ${MAX_URL_LENGTH} characters`);
  try {
    return new URL(target, 'http://sink.invalid');
  } catch {
    throw evError('EV_ERR_BAD_REQUEST', 'malformed request URL');
  }
}

/** Answers an upgrade request that will not become a WebSocket, as plain HTTP. */
function rejectUpgrade(socket: Duplex, err: EmailValidateError, statusOverride?: number): void {
  const body = JSON.stringify(errorBody(err));
  const status = statusOverride ?? err.httpStatus;
  const extra =
    err.code === 'EV_ERR_UNAUTHORIZED' ? 'WWW-Authenticate: Bearer realm="email-sink"\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
}

export function createApiServer(ctx: SinkContext, options: ApiServerOptions): ApiServer {
  const { logger, metrics } = options;
  const verifier = options.token === null ? null : new TokenVerifier(options.token);

  const maxFeedClients = options.feed?.maxClients ?? MAX_FEED_CLIENTS;
  const feed = new EventFeed(ctx.events, ctx.instance, {
    ...options.feed,
    logger,
    onClientOpened: () => {
      metrics.feedClientOpened();
      options.onFeedClientOpened?.();
    },
    onClientClosed: () => metrics.feedClientClosed(),
    onClientDropped: (reason) => metrics.feedClientDropped(reason),
  });

  const router = new Router();
  router.add('GET', '/livez', ({ res }) => sendJson(res, 200, { status: 'ok' }), { auth: false });
  router.add(
    'GET',
    '/readyz',
    ({ res }) => {
      if (ctx.ready()) sendJson(res, 200, { status: 'ready' });
      else sendJson(res, 503, { status: 'not ready' });
    },
    { auth: false },
  );
  router.add(
    'GET',
    '/metrics',
    async ({ res }) => {
      const text = await metrics.registry.metrics();
      sendText(res, 200, text, metrics.registry.contentType);
    },
    { auth: false },
  );
  addApiRoutes(router, ctx, { auth: verifier !== null, info: options.info });
  const compatOptions = {
    corsOrigin: options.corsOrigin ?? null,
    releaseTo: options.releaseTo ?? [],
    logger,
    linkCheckPrivate: options.linkCheckPrivate ?? false,
    ...(options.relay ? { relay: options.relay } : {}),
  };
  const compat = [
    addMailhogRoutes(router, ctx, {
      ...compatOptions,
      ...(options.mailhogHostname ? { hostname: options.mailhogHostname } : {}),
      ...(options.mailhogSseKeepaliveMs ? { sseKeepaliveMs: options.mailhogSseKeepaliveMs } : {}),
    }),
    addMailpitRoutes(router, ctx, {
      ...compatOptions,
      ...(options.localSmtp ? { localSmtp: options.localSmtp } : {}),
    }),
  ];
  const compatSockets = new Map(compat.flatMap((c) => [...c.websockets]));
  addUiRoutes(router, ctx, { linkCheckPrivate: options.linkCheckPrivate ?? false });
  router.add('GET', EVENTS_PATH, () => {
    throw evError('EV_ERR_BAD_REQUEST', `${EVENTS_PATH} is a WebSocket endpoint`, {
      hint: 'connect with a WebSocket client (Upgrade: websocket)',
    });
  });

  const server = createServer(
    {
      headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
      // Only WebSocket upgrades take the upgrade path; anything else (e.g. curl's h2c offer) is a plain
      // request (Node >= 24.9; older Nodes ignore this and reach the upgrade handler's refusal).
      shouldUpgradeCallback: (req: IncomingMessage) => isWebSocketUpgrade(req),
    },
    (req, res) => {
      let url: URL;
      try {
        url = parseUrl(req);
        const match = router.match(req.method ?? 'GET', url.pathname);
        if (match.kind === 'not-found') {
          throw evError(
            'EV_ERR_NOT_FOUND',
            `no route ${req.method} ${url.pathname.slice(0, 200)}`,
            { hint: 'see docs/api.md for the routes' },
          );
        }
        if (match.options.auth && verifier !== null && !verifier.authorize(req))
          throw unauthorized();
        if (match.kind === 'method-not-allowed') {
          res.setHeader('allow', match.allow.join(', '));
          throw evError(
            'EV_ERR_METHOD_NOT_ALLOWED',
            `${req.method} is not allowed on ${url.pathname.slice(0, 200)}`,
            { hint: `allowed: ${match.allow.join(', ')}` },
          );
        }
        const result = match.handler({ req, res, params: match.params, url });
        if (result instanceof Promise) {
          result.catch((err: unknown) => fail(err));
        }
      } catch (err) {
        fail(err);
      }
      function fail(err: unknown): void {
        if (err instanceof EmailValidateError && err.code === 'EV_ERR_PAYLOAD_TOO_LARGE')
          res.setHeader('connection', 'close');
        sendError(res, err, logger, req);
      }
    },
  );
  const guard = new ConnectionGuard(server, {
    onShed: (kind, address) => logger.debug(`http connection ${kind}`, { address }),
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
    logger.debug('http client error', { error: err.message });
  });

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: FEED_MAX_CLIENT_PAYLOAD,
    clientTracking: false,
    // Select our protocol when offered; a client that offered only `bearer.<token>` gets none selected.
    handleProtocols: (protocols) => (protocols.has(FEED_SUBPROTOCOL) ? FEED_SUBPROTOCOL : false),
  });
  // MailHog's and Mailpit's feeds: no subprotocol, tiny client frames (MailHog reads at most 1 byte, websockets/connection.go:19).
  const compatWss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 1024,
    clientTracking: false,
  });
  let shuttingDown = false;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let subscription: FeedSubscription;
    if (shuttingDown) {
      // 503: a reconnecting client backs off and finds the replacement pod.
      rejectUpgrade(
        socket,
        evError('EV_ERR_SINK_UNREACHABLE', 'the sink is shutting down', {
          hint: 'reconnect to the replacement sink',
        }),
        503,
      );
      return;
    }
    try {
      if (!isWebSocketUpgrade(req))
        throw evError(
          'EV_ERR_BAD_REQUEST',
          `unsupported upgrade to ${String(req.headers.upgrade).slice(0, 40)}`,
          { hint: 'send plain HTTP/1.1 requests; only the event feed upgrades, to websocket' },
        );
      const url = parseUrl(req);
      const compatSocket = compatSockets.get(url.pathname);
      if (compatSocket !== undefined) {
        if (verifier !== null && !verifier.authorize(req, { websocket: true }))
          throw unauthorized();
        compatWss.handleUpgrade(req, socket, head, compatSocket);
        return;
      }
      if (url.pathname !== EVENTS_PATH)
        throw evError(
          'EV_ERR_NOT_FOUND',
          `no WebSocket endpoint at ${url.pathname.slice(0, 200)}`,
          { hint: `the event feed is at ${EVENTS_PATH}` },
        );
      if (verifier !== null && !verifier.authorize(req, { websocket: true })) throw unauthorized();
      subscription = parseFeedQuery(url);
      if (feed.socketCount >= maxFeedClients) {
        rejectUpgrade(
          socket,
          evError(
            'EV_ERR_SINK_UNREACHABLE',
            `the sink already serves ${maxFeedClients} event feed clients`,
            { hint: 'close other tail or run sessions and retry' },
          ),
          503,
        );
        return;
      }
    } catch (err) {
      const error =
        err instanceof EmailValidateError ? err : evError('EV_ERR_INTERNAL', 'upgrade failed');
      rejectUpgrade(socket, error);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      guard.upgraded(req.socket);
      feed.attach(ws, subscription);
    });
  });

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      const closed = server.listening
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve();
      server.closeIdleConnections();
      for (const c of compat) c.close();
      await feed.close();
      const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      grace.unref();
      await closed;
      clearTimeout(grace);
      wss.close();
      compatWss.close();
    })();
    return shutdownPromise;
  };

  return { server, feed, connections: guard, routes: () => router.list(), shutdown };
}
