/**
 * The sink's own JSON API under `/api/`: messages (list, get, raw, attachment,
 * search, delete, clear), rules (get/put YAML), stats and info.
 */
import { PROTOCOL_VERSION, type MessageList } from '../../src/protocol.ts';
import { evError, isEmailValidateError } from '../../src/errors.ts';
import type { MessageQuery, SinkContext } from '../types.ts';
import type { Router } from './router.ts';
import { compileValueMatcher, PatternError } from '../../src/match/value-matcher.ts';
import { readBody, MAX_RULES_BODY_BYTES } from './body.ts';
import { sendBuffer, sendJson, sendText } from './respond.ts';

/** Default page size of `GET /api/messages`. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Largest page: 1,000 summaries is ~1-2 MB of JSON, a bound on one response's memory and time. */
export const MAX_PAGE_LIMIT = 1000;
/** Longest filter value; a substring search over raw messages should not be handed megabytes of pattern. */
export const MAX_FILTER_LENGTH = 1024;

const FILTERS = ['to', 'from', 'subject', 'containing', 'tag'] as const satisfies ReadonlyArray<
  keyof MessageQuery
>;

/** Filters that take a matcher (text, or /…/ for an expression; docs/sink-commands.md#matching); containing is text, tag exact. */
const MATCHED_FILTERS: ReadonlySet<string> = new Set(['to', 'from', 'subject']);

function badRequest(message: string, hint?: string) {
  return evError('EV_ERR_BAD_REQUEST', message, hint === undefined ? undefined : { hint });
}

function integerParam(url: URL, name: string, fallback: number, min: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < min) {
    throw badRequest(
      `query parameter ${name} must be an integer >= ${min}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return Number(raw);
}

/** Paging and filters of the list and search routes, validated. */
export function parseListQuery(url: URL): { start: number; limit: number; query: MessageQuery } {
  const start = integerParam(url, 'start', 0, 0);
  const limit = Math.min(integerParam(url, 'limit', DEFAULT_PAGE_LIMIT, 1), MAX_PAGE_LIMIT);
  const query: MessageQuery = {};
  for (const name of FILTERS) {
    const value = url.searchParams.get(name);
    if (value === null || value === '') continue;
    if (value.length > MAX_FILTER_LENGTH)
      throw badRequest(`query parameter ${name} is longer than ${MAX_FILTER_LENGTH} characters`);
    if (MATCHED_FILTERS.has(name)) {
      try {
        compileValueMatcher(value);
      } catch (err) {
        if (!(err instanceof PatternError)) throw err;
        const why = err.kind === 'invalid' ? err.reason : `it ${err.reason}`;
        throw badRequest(
          `query parameter ${name} is not a valid regular expression: ${why}`,
          `/…/ is a regular expression (RE2 syntax: no backreferences or lookaround); without slashes the value is plain text`,
        );
      }
    }
    query[name] = value;
  }
  return { start, limit, query };
}

export interface ApiRoutesOptions {
  /** Whether the API requires a token (reported by /api/info). */
  auth: boolean;
  /** Extra fields of /api/info (SMTP endpoint, version), supplied by the sink's composition. */
  info?: () => Record<string, unknown>;
}

function notFound(what: string) {
  return evError('EV_ERR_NOT_FOUND', what, {
    hint: 'list messages with `kubectl email-validate messages` or GET /api/messages',
  });
}

/** RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name (lone surrogates become U+FFFD: encodeURIComponent throws on them). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(Buffer.from(filename, 'utf8').toString('utf8'))}`;
}

/** `type/subtype` of RFC 2045 (tokens only); parameters are dropped, the bytes are served as a download anyway. */
const MIME_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,127}\/[!#$%&'*+.^_`|~0-9A-Za-z-]{1,127}$/;

/**
 * The Content-Type an attachment is served with: its declared media type when
 * that is a clean `type/subtype`, else application/octet-stream. A declared
 * value with non-ASCII or control characters made Node refuse the header and
 * the download a 500 forever.
 */
export function safeContentType(declared: string | null | undefined): string {
  const type = (declared ?? '').split(';')[0].trim().toLowerCase();
  return MIME_TYPE.test(type) ? type : 'application/octet-stream';
}

export function addApiRoutes(router: Router, ctx: SinkContext, options: ApiRoutesOptions): void {
  const list = (url: URL, extra: MessageQuery = {}): MessageList => {
    const { start, limit, query } = parseListQuery(url);
    const page = ctx.store.list(start, limit, { ...query, ...extra });
    return { total: page.total, start, count: page.items.length, items: page.items };
  };

  router.add('GET', '/api/messages', ({ res, url }) => sendJson(res, 200, list(url)));

  router.add('GET', '/api/search', ({ res, url }) => {
    const q = url.searchParams.get('q');
    if (q !== null && q.length > MAX_FILTER_LENGTH)
      throw badRequest(`query parameter q is longer than ${MAX_FILTER_LENGTH} characters`);
    const hasFilter = FILTERS.some((f) => (url.searchParams.get(f) ?? '') !== '');
    if ((q === null || q === '') && !hasFilter) {
      throw badRequest(
        'search needs q= or a filter (to, from, subject, containing, tag)',
        'e.g. GET /api/search?q=invoice or ?to=alice@example.com',
      );
    }
    sendJson(res, 200, list(url, q === null || q === '' ? {} : { containing: q }));
  });

  router.add('DELETE', '/api/messages', ({ res }) => {
    const count = ctx.store.clear();
    sendJson(res, 200, { deleted: count });
  });

  router.add('GET', '/api/messages/:id', async ({ res, params }) => {
    const detail = await ctx.store.detail(params.id);
    if (detail === undefined)
      throw notFound(`no message with id ${JSON.stringify(params.id.slice(0, 200))}`);
    sendJson(res, 200, detail);
  });

  router.add('DELETE', '/api/messages/:id', ({ res, params }) => {
    if (!ctx.store.delete(params.id))
      throw notFound(`no message with id ${JSON.stringify(params.id.slice(0, 200))}`);
    sendJson(res, 200, { deleted: 1 });
  });

  router.add('GET', '/api/messages/:id/raw', ({ res, params }) => {
    const raw = ctx.store.raw(params.id);
    if (raw === undefined)
      throw notFound(`no message with id ${JSON.stringify(params.id.slice(0, 200))}`);
    sendBuffer(res, 200, raw, {
      'content-type': 'message/rfc822',
      'content-disposition': contentDisposition(`${params.id}.eml`),
    });
  });

  router.add('GET', '/api/messages/:id/attachments/:index', async ({ res, params }) => {
    if (!/^\d{1,6}$/.test(params.index))
      throw badRequest(
        `attachment index must be a non-negative integer, got ${JSON.stringify(params.index.slice(0, 40))}`,
      );
    const found = await ctx.store.attachment(params.id, Number(params.index));
    if (found === undefined)
      throw notFound(
        `no attachment ${params.index} in message ${JSON.stringify(params.id.slice(0, 200))}`,
      );
    const name = found.meta.filename ?? `attachment-${found.meta.index}`;
    sendBuffer(res, 200, found.content, {
      // Served as a download, never rendered: the content is untrusted.
      'content-type': safeContentType(found.meta.contentType),
      'content-disposition': contentDisposition(name),
      'content-security-policy': "default-src 'none'; sandbox",
    });
  });

  router.add('GET', '/api/rules', ({ res }) => {
    res.setHeader('x-rules-count', String(ctx.rules.count()));
    sendText(res, 200, ctx.rules.source(), 'application/yaml; charset=utf-8');
  });

  router.add('PUT', '/api/rules', async ({ req, res }) => {
    const body = await readBody(req, MAX_RULES_BODY_BYTES);
    const text = body.toString('utf8');
    try {
      ctx.rules.replace(text);
    } catch (err) {
      if (isEmailValidateError(err)) throw err;
      throw evError('EV_ERR_RULES_INVALID', err instanceof Error ? err.message : String(err), {
        hint: 'fix the rules YAML; the previous rules stay in force',
      });
    }
    sendJson(res, 200, { count: ctx.rules.count() });
  });

  router.add('GET', '/api/stats', ({ res }) => sendJson(res, 200, ctx.stats()));

  router.add('GET', '/api/info', ({ res }) =>
    sendJson(res, 200, {
      ...options.info?.(),
      name: 'kubectl-email-validate sink',
      protocol: PROTOCOL_VERSION,
      instance: ctx.instance,
      auth: options.auth,
      oldestSeq: ctx.events.oldestSeq,
      lastSeq: ctx.events.lastSeq,
    }),
  );
}
