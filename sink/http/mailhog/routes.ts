/**
 * MailHog's API (v1 and v2 as MailHog 1.0.1 serves them), so scripts and
 * clients written against `http://mailhog:8025/api/...` keep working
 * unchanged. Every behaviour below is pinned to MailHog 1.0.1's vendored
 * sources (github.com/mailhog/MailHog, vendor/github.com/mailhog/...), cited
 * as `api/v1.go:LINE` (MailHog-Server), `storage/memory.go:LINE`, and checked
 * against the MailHog 1.0.1 binary:
 *  - unknown ids: GET answers 200 `null` (v1.go:150-165, Load returns nil),
 *    DELETE 500 (v1.go:352-356, memory.go:170-172); download, part download and
 *    release of an unknown id crash MailHog's handler (the client sees the
 *    connection close), we answer 500 with an empty body;
 *  - paging: `start`/`limit` silently default (v2.go:79-97); a list or search
 *    `start` equal to the total returns the oldest message, one past it
 *    returns nothing, and for a search also a total of 0 (memory.go:102-127);
 *  - JSON is `text/json` except search, Jim and outgoing-smtp, which are
 *    `application/json` (v2.go:119, 152, 167, 244);
 *  - OPTIONS on every route answers 200 with an empty body, and `--cors-origin`
 *    adds the Access-Control-Allow-* headers to every answer (v1.go:86-92,
 *    v2.go:64-70); HEAD is not routed by MailHog (gorilla mux matches GET
 *    only): 404 `404 page not found`.
 * Every route needs the API token like the rest of the API (HTTP Basic with
 * the token as password works for MailHog clients' `auth` option), except
 * OPTIONS and HEAD, which carry no data.
 */
import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { MessageSummary, SinkEvent } from '../../../src/protocol.ts';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import type { ReleaseTarget } from '../../release-targets.ts';
import { formatReleaseTarget } from '../../release-targets.ts';
import type { Logger, SinkContext } from '../../types.ts';
import { declaresJson, readBody } from '../body.ts';
import { CompatStream, type CompatHandle } from '../compat-streams.ts';
import { setCommonHeaders, streamJsonArray } from '../respond.ts';
import type { Router, RouteHandler } from '../router.ts';
import {
  JIM_DEFAULTS,
  MAX_JIM_BODY_BYTES,
  jimRules,
  parseJimBody,
  type JimSettings,
} from './jim.ts';
import {
  MAILHOG_CONTENT_TYPE,
  MAILHOG_DEFAULT_LIMIT,
  MAILHOG_HOSTNAME,
  MAILHOG_MAX_LIMIT,
  MAILHOG_V1_LIMIT,
  goJson,
  mailhogMatches,
  toMailhogMessage,
  type MailhogContent,
  type MailhogSearchKind,
} from './message.ts';
import { release, smtpRelay, type Relay } from './release.ts';

/**
 * Raw message bytes per list page (v1 list, v2 list and search): a MailHog message
 * serialises to about three times its raw size (Raw.Data, Content.Body, MIME parts),
 * so five 24 MiB messages made a ~250 MB response. A page stops before the message
 * that would pass this (it always holds at least one); `count` says how many came,
 * and a client pages on with `start`.
 */
export const MAX_MAILHOG_PAGE_RAW_BYTES = 32 * 1024 * 1024;

/** The leading rows whose raw sizes fit {@link MAX_MAILHOG_PAGE_RAW_BYTES} (at least one). */
export function capPageBytes<T extends { raw: Buffer }>(
  rows: readonly T[],
  maxBytes = MAX_MAILHOG_PAGE_RAW_BYTES,
): T[] {
  let bytes = 0;
  let n = 0;
  while (n < rows.length && (n === 0 || bytes + rows[n].raw.length <= maxBytes))
    bytes += rows[n++].raw.length;
  return rows.slice(0, n);
}

/** A release body is a handful of short strings. */
export const MAX_RELEASE_BODY_BYTES = 64 * 1024;
/** Path of MailHog's Server-Sent Events feed. */
export const MAILHOG_EVENTS_PATH = '/api/v1/events';
/** Path of MailHog's WebSocket feed (what its own UI uses). */
export const MAILHOG_WEBSOCKET_PATH = '/api/v2/websocket';
/** MailHog sends an SSE keepalive once a minute (v1.go:67-80). */
export const MAILHOG_SSE_KEEPALIVE_MS = 60_000;

export interface MailhogRoutesOptions {
  /** Hostname in the Received header MailHog adds, and in the release's envelope sender. */
  hostname?: string;
  /** `--cors-origin`: the Access-Control-Allow-Origin value, or null for none (MailHog's default). */
  corsOrigin?: string | null;
  /** `--release-to`: the only SMTP servers a release may go to. */
  releaseTo?: readonly ReleaseTarget[];
  /** Sends a release (tests inject a failing one). */
  relay?: Relay;
  logger?: Logger;
  /** The event stream's keepalive interval (MailHog's minute; tests shorten it). */
  sseKeepaliveMs?: number;
}

/**
 * A number as Go's strconv.Atoi reads it, which MailHog uses for the numbers in its URLs
 * (v2.go:79-97, v1.go:199-237): an optional sign, then decimal digits; undefined where Go
 * reports a syntax error. (A value too large for Go's int, which Go clamps, stays a large
 * number here: past every range either way.)
 */
export function goAtoi(text: string): number | undefined {
  return /^[+-]?\d+$/.test(text) ? Number(text) : undefined;
}

/** MailHog's getStartLimit (v2.go:79-97): invalid or non-positive values fall back to the defaults silently. */
export function mailhogStartLimit(url: URL): { start: number; limit: number } {
  const parse = (name: string) => {
    const raw = url.searchParams.get(name);
    const n = raw === null ? undefined : goAtoi(raw);
    return n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  const start = parse('start') ?? 0;
  const limit = Math.min(parse('limit') ?? MAILHOG_DEFAULT_LIMIT, MAILHOG_MAX_LIMIT);
  return { start, limit };
}

/**
 * MailHog's window over `total` items newest first (memory.go:107-127):
 * `[from, from + count)`, or null when `start` is past the end. At
 * `start === total` its arithmetic yields the oldest item.
 */
export function mailhogWindow(
  total: number,
  start: number,
  limit: number,
): { from: number; count: number } | null {
  if (total === 0 || start > total) return null;
  if (start === total) return { from: total - 1, count: 1 };
  return { from: start, count: Math.min(limit, total - start) };
}

const SEARCH_KINDS: ReadonlySet<string> = new Set(['from', 'to', 'containing']);

interface ReleaseBody {
  Host: string;
  Port: string;
  Email: string;
  Name: string;
  Save: boolean;
  Username: string;
  Password: string;
  Mechanism: string;
}

/** Decodes a release body as Go's json.Decode into ReleaseConfig would (field names case-insensitive); null on failure. */
export function parseReleaseBody(text: string): ReleaseBody | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const out: ReleaseBody = {
    Host: '',
    Port: '',
    Email: '',
    Name: '',
    Save: false,
    Username: '',
    Password: '',
    Mechanism: '',
  };
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const field = (Object.keys(out) as Array<keyof ReleaseBody>).find(
      (f) => f.toLowerCase() === key.toLowerCase(),
    );
    if (field === undefined || value === null) continue;
    if (field === 'Save') {
      if (typeof value !== 'boolean') return null;
      out.Save = value;
    } else if (field === 'Port' && typeof value === 'number' && Number.isInteger(value)) {
      // Go would refuse a number here; clients (the mailhog npm client's docs) send either.
      out.Port = String(value);
    } else {
      if (typeof value !== 'string') return null;
      out[field] = value;
    }
  }
  return out;
}

/** Registers MailHog's v1/v2 routes; returns its WebSocket endpoint and a close for its streams. */
export function addMailhogRoutes(
  router: Router,
  ctx: SinkContext,
  options: MailhogRoutesOptions = {},
): CompatHandle {
  const hostname = options.hostname ?? MAILHOG_HOSTNAME;
  const cors = options.corsOrigin ?? null;
  const releaseTo = options.releaseTo ?? [];
  const relay = options.relay ?? smtpRelay;
  let jim: JimSettings | null = null;

  const corsHeaders = (res: ServerResponse, methods: string) => {
    if (cors === null) return;
    res.setHeader('access-control-allow-origin', cors);
    res.setHeader('access-control-allow-methods', methods);
    // MailHog allows Content-Type only; the token needs Authorization too.
    res.setHeader('access-control-allow-headers', 'Content-Type, Authorization');
  };
  const V1 = 'OPTIONS,GET,POST,DELETE';
  const V2 = 'OPTIONS,GET,PUT,POST,DELETE';

  /** Registers HEAD (404, as gorilla mux) and OPTIONS (200, CORS) before the real methods of a path. */
  const path = (
    pattern: string,
    methods: string,
    handlers: Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', RouteHandler>>,
  ) => {
    router.add(
      'HEAD',
      pattern,
      ({ res }) => {
        res.writeHead(404, {
          'content-type': 'text/plain; charset=utf-8',
          'x-content-type-options': 'nosniff',
          'content-length': 19,
        });
        res.end();
      },
      { auth: false },
    );
    router.add(
      'OPTIONS',
      pattern,
      ({ res }) => {
        corsHeaders(res, methods);
        res.writeHead(200, { 'content-length': 0 });
        res.end();
      },
      { auth: false },
    );
    for (const [method, handler] of Object.entries(handlers)) {
      router.add(method, pattern, (rc) => {
        corsHeaders(rc.res, methods);
        return handler(rc);
      });
    }
  };

  const empty = (res: ServerResponse, status: number, contentType: string | null = 'text/json') => {
    setCommonHeaders(res);
    res.writeHead(
      status,
      contentType === null
        ? { 'content-length': 0 }
        : { 'content-type': contentType, 'content-length': 0 },
    );
    res.end();
  };
  const json = (res: ServerResponse, status: number, text: string, contentType: string) => {
    setCommonHeaders(res);
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  /** The nanoseconds of a message's `Created` under its millisecond (0 for a store that keeps none). */
  const nanosOf = (id: string) => ctx.store.createdNanos?.(id) ?? 0;
  /** Pairs each summary with its raw source now, so a delete mid-stream cannot change the count. */
  const withRaw = (items: readonly MessageSummary[]) =>
    capPageBytes(
      items
        .map((summary) => ({ summary, raw: ctx.store.raw(summary.id) }))
        .filter((x): x is { summary: MessageSummary; raw: Buffer } => x.raw !== undefined),
    );
  const serialise = (x: { summary: MessageSummary; raw: Buffer }) =>
    goJson(toMailhogMessage(x.summary, x.raw, hostname, nanosOf(x.summary.id)));
  const page = async (
    res: ServerResponse,
    start: number,
    total: number,
    items: MessageSummary[],
    contentType: string,
  ) => {
    const rows = withRaw(items);
    await streamJsonArray(res, rows, serialise, {
      prefix: `{"total":${total},"count":${rows.length},"start":${start},"items":`,
      suffix: '}',
      contentType,
    });
  };
  const loaded = (id: string) => {
    const summary = ctx.store.get(id);
    const raw = summary === undefined ? undefined : ctx.store.raw(id);
    return summary === undefined || raw === undefined ? undefined : { summary, raw };
  };

  path('/api/v2/messages', V2, {
    GET: async ({ res, url }) => {
      const { start, limit } = mailhogStartLimit(url);
      const total = ctx.store.count;
      const w = mailhogWindow(total, start, limit);
      await page(
        res,
        start,
        total,
        w === null ? [] : ctx.store.list(w.from, w.count).items,
        MAILHOG_CONTENT_TYPE,
      );
    },
  });

  path('/api/v2/search', V2, {
    GET: async ({ res, url }) => {
      const { start, limit } = mailhogStartLimit(url);
      const kind = url.searchParams.get('kind') ?? '';
      const query = url.searchParams.get('query') ?? '';
      // A bad kind or an empty query is a bare 400 (v2.go:130-140).
      if (!SEARCH_KINDS.has(kind) || query === '') return empty(res, 400, null);
      const needle = query.toLowerCase();
      const matched: MessageSummary[] = [];
      for (const s of ctx.store.list(0, ctx.store.count).items) {
        const raw = ctx.store.raw(s.id);
        if (
          raw !== undefined &&
          mailhogMatches(kind as MailhogSearchKind, needle, s, raw, hostname)
        )
          matched.push(s);
      }
      const w = mailhogWindow(matched.length, start, limit);
      await page(
        res,
        start,
        w === null ? 0 : matched.length,
        w === null ? [] : matched.slice(w.from, w.from + w.count),
        'application/json',
      );
    },
  });

  path('/api/v1/messages', V1, {
    GET: async ({ res }) => {
      const result = ctx.store.list(0, MAILHOG_V1_LIMIT);
      await streamJsonArray(res, withRaw(result.items), serialise, {
        contentType: MAILHOG_CONTENT_TYPE,
      });
    },
    DELETE: ({ res }) => {
      ctx.store.clear();
      empty(res, 200);
    },
  });

  path('/api/v1/messages/:id', V1, {
    GET: ({ res, params }) => {
      const m = loaded(params.id);
      json(res, 200, m === undefined ? 'null' : serialise(m), MAILHOG_CONTENT_TYPE);
    },
    DELETE: ({ res, params }) => empty(res, ctx.store.delete(params.id) ? 200 : 500),
  });

  path('/api/v1/messages/:id/download', V1, {
    GET: ({ res, params }) => {
      const raw = ctx.store.raw(params.id);
      if (raw === undefined) return empty(res, 500, null);
      setCommonHeaders(res);
      res.writeHead(200, {
        'content-type': 'message/rfc822',
        'content-disposition': `attachment; filename="${params.id.replace(/[^\w.@=+-]/g, '_')}.eml"`,
        'content-length': raw.length,
      });
      res.end(raw);
    },
  });

  path('/api/v1/messages/:id/mime/part/:part/download', V1, {
    GET: ({ res, params }) => {
      const m = loaded(params.id);
      // `pid, _ := strconv.Atoi(part)` (v1.go:199-237): text that is no number is part 0, the
      // error ignored; a negative index or one past the parts crashes MailHog's handler (our
      // empty 500). The file name keeps the part as the URL spelled it.
      const index = goAtoi(params.part) ?? 0;
      const part =
        m === undefined
          ? undefined
          : toMailhogMessage(m.summary, m.raw, hostname, nanosOf(m.summary.id)).MIME?.Parts?.[
              index
            ];
      if (part === undefined) return empty(res, 500, null);
      sendPart(res, part, `${params.id}-part-${params.part}`);
    },
  });

  path('/api/v1/messages/:id/release', V1, {
    POST: async ({ req, res, params }) => {
      // The mailhog npm client sends no Content-Type; any other type than JSON is what a
      // web page can send cross-origin without a preflight, so it is refused.
      if (req.headers['content-type'] !== undefined && !declaresJson(req))
        return json(res, 415, 'Content-Type must be application/json', 'text/plain; charset=utf-8');
      const m = loaded(params.id);
      const body = parseReleaseBody((await readBody(req, MAX_RELEASE_BODY_BYTES)).toString('utf8'));
      if (body === null) return json(res, 500, 'Error decoding request body', 'text/json'); // v1.go:265-273
      if (m === undefined) return empty(res, 500);
      // Named servers are the --release-to entries (GET /api/v2/outgoing-smtp); saving new ones is not offered.
      if (body.Save) return empty(res, 400);
      if (body.Name !== '') {
        const named = releaseTo.find(
          (t) => formatReleaseTarget(t) === body.Name && t.port !== null,
        );
        if (named === undefined) return empty(res, 400); // v1.go:302-305: unknown server name
        body.Host = named.host;
        body.Port = String(named.port);
      }
      let auth: { user: string; pass: string; method: 'PLAIN' | 'CRAM-MD5' } | undefined;
      if (body.Username !== '' || body.Password !== '') {
        // MailHog knows CRAMMD5 and PLAIN only, anything else is a 400 (v1.go:321-333).
        if (body.Mechanism !== 'PLAIN' && body.Mechanism !== 'CRAMMD5') return empty(res, 400);
        auth = {
          user: body.Username,
          pass: body.Password,
          method: body.Mechanism === 'PLAIN' ? 'PLAIN' : 'CRAM-MD5',
        };
      }
      // MailHog dials `Host + ":" + Port` (v1.go:336), and Go's net reads the port as decimal
      // digits after an optional sign (net/port.go parsePort; release() then wants 1-65535).
      // A service name (`smtp`), which Go would look up in /etc/services, is refused.
      const port = goAtoi(body.Port) ?? NaN;
      try {
        await release(
          ctx,
          relay,
          releaseTo,
          hostname,
          options.logger,
          'mailhog',
          m.summary.id,
          m.raw,
          body.Host,
          port,
          [body.Email],
          auth,
        );
      } catch (err) {
        // A relay that fails is MailHog's bare 500 (v1.go:336-340); a refused target stays our explained 403.
        if (isEmailValidateError(err) && err.code === 'EV_ERR_RELEASE_FAILED')
          return empty(res, 500);
        throw err;
      }
      empty(res, 200);
    },
  });

  // Jim (v2.go:156-236), mapped onto rules layered after the user's.
  const setJim = (settings: JimSettings | null) => {
    if (ctx.rules.overlay === undefined)
      throw evError('EV_ERR_NOT_IMPLEMENTED', "this sink cannot layer Jim's rules", {
        hint: 'use PUT /api/rules',
      });
    ctx.rules.overlay(settings === null ? null : jimRules(settings), 'jim');
    jim = settings;
  };
  path('/api/v2/jim', V2, {
    GET: ({ res }) =>
      jim === null
        ? empty(res, 404, null)
        : json(res, 200, JSON.stringify(jim), 'application/json'),
    POST: async ({ req, res }) => {
      if (jim !== null) return empty(res, 400, null);
      const body = parseJimBody((await readBody(req, MAX_JIM_BODY_BYTES)).toString('utf8'));
      setJim(body ?? { ...JIM_DEFAULTS });
      empty(res, 201, null);
    },
    PUT: async ({ req, res }) => {
      if (jim === null) return empty(res, 404, null);
      const body = parseJimBody((await readBody(req, MAX_JIM_BODY_BYTES)).toString('utf8'));
      if (body === null) return empty(res, 400, null);
      setJim(body);
      empty(res, 200, null);
    },
    DELETE: ({ res }) => {
      if (jim === null) return empty(res, 404, null);
      setJim(null);
      empty(res, 200, null);
    },
  });

  // MailHog's configured outgoing servers (v2.go:238-246): here, the --release-to entries that name a port.
  path('/api/v2/outgoing-smtp', V2, {
    GET: ({ res }) => {
      const servers: Record<string, unknown> = {};
      for (const t of releaseTo) {
        if (t.port === null) continue;
        const name = formatReleaseTarget(t);
        servers[name] = {
          Name: name,
          Save: false,
          Email: '',
          Host: t.host,
          Port: String(t.port),
          Username: '',
          Password: '',
          Mechanism: '',
        };
      }
      json(res, 200, JSON.stringify(servers), 'application/json');
    },
  });

  // Live feeds: the message JSON MailHog broadcasts, SSE pretty-printed (v1.go:71-76, goose's `data: ` lines), WebSocket as Go's json.Encoder writes it.
  const message = (event: SinkEvent): ReturnType<typeof toMailhogMessage> | undefined => {
    if (event.type !== 'message.received') return undefined;
    const summary = event.data;
    const raw = ctx.store.raw(summary.id);
    return raw === undefined
      ? undefined
      : toMailhogMessage(summary, raw, hostname, nanosOf(summary.id));
  };
  const sse = new CompatStream(ctx.events, (event) => {
    const m = message(event);
    return m === undefined
      ? undefined
      : `${goJson(m, '  ')
          .split('\n')
          .map((line) => `data: ${line}\n`)
          .join('')}\n`;
  });
  const ws = new CompatStream(ctx.events, (event) => {
    const m = message(event);
    return m === undefined ? undefined : `${goJson(m)}\n`;
  });
  const keepalive = setInterval(
    () => sse.broadcast('keepalive: \n\n'),
    options.sseKeepaliveMs ?? MAILHOG_SSE_KEEPALIVE_MS,
  );
  keepalive.unref();

  path(MAILHOG_EVENTS_PATH, V1, {
    GET: ({ req, res }) => {
      if (sse.full)
        throw evError('EV_ERR_SINK_UNREACHABLE', 'too many event stream clients', {
          hint: 'close other /api/v1/events clients and retry',
        });
      res.removeHeader('access-control-allow-headers'); // the event stream sets Origin and Methods only (v1.go:114-117)
      setCommonHeaders(res);
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.flushHeaders();
      req.socket.setTimeout(0);
      sse.addResponse(res);
    },
  });

  return {
    websockets: new Map([
      [
        MAILHOG_WEBSOCKET_PATH,
        (socket: WebSocket) => {
          if (ws.full) socket.close(1013, 'too many clients');
          else ws.addWebSocket(socket);
        },
      ],
    ]),
    close: () => {
      clearInterval(keepalive);
      sse.close();
      ws.close();
    },
  };
}

/**
 * A part as MailHog's download_part sends it (v1.go:199-237): the part's
 * headers become response headers (Content-Disposition replaced, not added),
 * the body is base64-decoded when its Content-Transfer-Encoding says so.
 */
function sendPart(res: ServerResponse, part: MailhogContent, filename: string): void {
  let cte = '';
  const headers: Record<string, string | string[]> = {
    'content-disposition': `attachment; filename="${filename.replace(/["\\\r\n]/g, '_')}"`,
  };
  for (const [name, values] of Object.entries(part.Headers)) {
    const lower = name.toLowerCase();
    // Only values Node can send as a header; a crafted part cannot inject a response header.
    const safe = values.filter((v) => /^[\t\x20-\x7e]*$/.test(v));
    if (safe.length === 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) continue;
    if (lower === 'content-disposition') headers[lower] = safe[safe.length - 1]!;
    else {
      if (lower === 'content-transfer-encoding' && cte === '') cte = safe[0]!;
      if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection')
        continue;
      const prev = headers[lower];
      headers[lower] =
        prev === undefined ? safe : [...(Array.isArray(prev) ? prev : [prev]), ...safe];
    }
  }
  const body =
    cte.toLowerCase() === 'base64'
      ? Buffer.from(part.Body, 'base64')
      : Buffer.from(part.Body, 'utf8');
  // Go sniffs a type when the part has none; a download is served as bytes, never rendered.
  headers['content-type'] ??= 'application/octet-stream';
  headers['content-security-policy'] = "default-src 'none'; sandbox";
  setCommonHeaders(res);
  res.writeHead(200, { ...headers, 'content-length': body.length });
  res.end(body);
}
