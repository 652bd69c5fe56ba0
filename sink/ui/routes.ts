/**
 * HTTP routes of the web inbox: the page and its content-hashed assets, the
 * inbox list with verdicts, the event history, the sandboxed HTML preview and
 * the link check. The page itself carries no data, so `/` and `/ui/*` need no
 * token; everything under `/api/` keeps the bearer token.
 *
 * The preview is loaded by an `<iframe src>`, which cannot send the token, so
 * its URL carries a capability instead: an HMAC of the message id under a key
 * drawn at start, handed out by the authenticated `/api/messages/:id/view`. It
 * opens that one message's HTML and nothing else, and dies with the process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { evError } from '../../src/errors.ts';
import {
  SINK_EVENT_TYPES,
  type EventHistory,
  type HtmlViewLink,
  type InboxItem,
  type InboxPage,
  type MessageSummary,
  type SinkEvent,
} from '../../src/protocol.ts';
import { parseListQuery } from '../http/api-routes.ts';
import { sendBuffer, sendJson, setCommonHeaders } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SinkContext } from '../types.ts';
import { loadUiAssets, type UiAssets } from './assets.ts';
import { htmlViewCsp, neutraliseHtml } from './html-view.ts';
import { checkLinks } from '../link-check.ts';

/** The inbox page's policy: only its own script and style, no inline code, no eval, never framed. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every inbox page and asset response. */
const UI_HEADERS = Object.freeze({
  'content-security-policy': UI_CSP,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
});

/** Ids per `GET /api/ui/inbox?ids=` (verdicts of newly arrived mail, in batches): 200 ids of 36 characters fit the 8 KiB URL limit. */
export const MAX_INBOX_IDS = 200;
/** Events per history response: the timeline shows the recent past; the feed brings the rest live. */
export const MAX_HISTORY_EVENTS = 5000;
/** Bytes of a message's header block searched for its Content-Type (the attachment marker). */
export const MAX_MARKER_SCAN_BYTES = 16 * 1024;
/** Event types of the default history: all but the analyses (one per message, their verdicts come with the inbox list). */
const HISTORY_TYPES = SINK_EVENT_TYPES.filter((t) => t !== 'message.analyzed' && t !== 'gap');

const markerCache = new WeakMap<Buffer, boolean>();

/** Whether the top-level Content-Type is multipart/mixed: a header scan, no MIME parse. */
export function hasAttachmentMarker(raw: Buffer): boolean {
  const known = markerCache.get(raw);
  if (known !== undefined) return known;
  const head = raw.subarray(0, MAX_MARKER_SCAN_BYTES).toString('latin1').toLowerCase();
  const end = head.search(/\r?\n\r?\n/);
  const block = end < 0 ? head : head.slice(0, end);
  let result = false;
  const at = block.startsWith('content-type:') ? 0 : block.indexOf('\ncontent-type:');
  if (at >= 0) {
    const value = block.slice(block.indexOf(':', at) + 1, block.indexOf(':', at) + 200).trimStart();
    result = value.startsWith('multipart/mixed');
  }
  markerCache.set(raw, result);
  return result;
}

function itemOf(ctx: SinkContext, s: MessageSummary): InboxItem {
  const raw = ctx.store.raw(s.id);
  const analysis = ctx.store.analysisOf?.(s.id) ?? null;
  return {
    ...s,
    attachments: raw === undefined ? false : hasAttachmentMarker(raw),
    dkim: analysis?.dkim.result ?? null,
    spamScore: analysis?.spamScore ?? null,
  };
}

function sign(key: Buffer, id: string): string {
  return createHmac('sha256', key).update(id).digest('base64url').slice(0, 32);
}

function sendUi(res: ServerResponse, body: Buffer, contentType: string, cache: string): void {
  setCommonHeaders(res);
  for (const [name, value] of Object.entries(UI_HEADERS)) res.setHeader(name, value);
  sendBuffer(res, 200, body, { 'content-type': contentType, 'cache-control': cache });
}

export interface UiRoutesOptions {
  /** The built assets; default: {@link loadUiAssets}. Null serves a page saying the UI was not built. */
  assets?: UiAssets | null;
  /** Fetch used by the link check (tests inject one). */
  fetch?: typeof fetch;
  /** The link check may fetch loopback/private addresses (`--link-check-private`). */
  linkCheckPrivate?: boolean;
}

export function addUiRoutes(router: Router, ctx: SinkContext, options: UiRoutesOptions = {}): void {
  const assets = options.assets === undefined ? loadUiAssets() : options.assets;
  const viewKey = randomBytes(32);
  const doFetch = options.fetch ?? fetch;

  router.add(
    'GET',
    '/',
    ({ res }) => {
      if (assets === null) {
        sendUi(
          res,
          Buffer.from(
            'The inbox was not built into this sink: run `npm run build`. The API is under /api/.\n',
          ),
          'text/plain; charset=utf-8',
          'no-store',
        );
        return;
      }
      sendUi(res, assets.index, 'text/html; charset=utf-8', 'no-cache');
    },
    { auth: false },
  );

  router.add(
    'GET',
    '/ui/:file',
    ({ res, params }) => {
      const file = assets?.files.get(params.file);
      if (file === undefined)
        throw evError(
          'EV_ERR_NOT_FOUND',
          `no inbox asset ${JSON.stringify(params.file.slice(0, 100))}`,
          { hint: 'reload the page: the sink may have been upgraded' },
        );
      sendUi(
        res,
        file.body,
        file.contentType,
        file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
    { auth: false },
  );

  router.add(
    'GET',
    '/favicon.ico',
    ({ res }) => {
      setCommonHeaders(res);
      res.writeHead(204).end();
    },
    { auth: false },
  );

  router.add('GET', '/api/ui/inbox', ({ res, url }) => {
    const idsParam = url.searchParams.get('ids');
    if (idsParam !== null) {
      const ids = idsParam.split(',').filter((s) => s.length > 0);
      if (ids.length > MAX_INBOX_IDS)
        throw evError('EV_ERR_BAD_REQUEST', `ids lists more than ${MAX_INBOX_IDS} messages`);
      const items: InboxItem[] = [];
      for (const id of ids) {
        const s = ctx.store.get(id);
        if (s !== undefined) items.push(itemOf(ctx, s));
      }
      const page: InboxPage = {
        total: items.length,
        start: 0,
        items,
        instance: ctx.instance,
        lastSeq: ctx.events.lastSeq,
      };
      sendJson(res, 200, page);
      return;
    }
    const { start, limit, query } = parseListQuery(url);
    // Taken synchronously together: the feed resumed from lastSeq brings exactly what came after this page.
    const lastSeq = ctx.events.lastSeq;
    const found = ctx.store.list(start, limit, query);
    const page: InboxPage = {
      total: found.total,
      start,
      items: found.items.map((s) => itemOf(ctx, s)),
      instance: ctx.instance,
      lastSeq,
    };
    sendJson(res, 200, page);
  });

  router.add('GET', '/api/ui/events', ({ res, url }) => {
    // ?types=a,b (default: all but the analyses) &limit=N (the newest N, at most MAX_HISTORY_EVENTS)
    const typesParam = url.searchParams.get('types');
    const types = new Set<string>(
      typesParam === null || typesParam === ''
        ? HISTORY_TYPES
        : typesParam.split(',').filter((t) => (SINK_EVENT_TYPES as readonly string[]).includes(t)),
    );
    const limitParam = url.searchParams.get('limit');
    const limit =
      limitParam !== null && /^\d{1,6}$/.test(limitParam)
        ? Math.min(Math.max(1, Number(limitParam)), MAX_HISTORY_EVENTS)
        : MAX_HISTORY_EVENTS;
    const { events } = ctx.events.replaySince(0);
    const wanted: SinkEvent[] = [];
    for (const e of events) if (types.has(e.type)) wanted.push(e);
    const history: EventHistory = {
      events: wanted.length > limit ? wanted.slice(-limit) : wanted,
      oldestSeq: ctx.events.oldestSeq,
      lastSeq: ctx.events.lastSeq,
      truncated: wanted.length > limit,
    };
    sendJson(res, 200, history);
  });

  router.add('GET', '/api/messages/:id/view', ({ res, params }) => {
    if (ctx.store.get(params.id) === undefined)
      throw evError(
        'EV_ERR_NOT_FOUND',
        `no message with id ${JSON.stringify(params.id.slice(0, 200))}`,
      );
    const link: HtmlViewLink = {
      path: `/ui/preview/${encodeURIComponent(params.id)}/${sign(viewKey, params.id)}`,
    };
    sendJson(res, 200, link);
  });

  router.add(
    'GET',
    '/ui/preview/:id/:sig',
    async ({ res, params, url }) => {
      const expected = Buffer.from(sign(viewKey, params.id));
      const given = Buffer.from(params.sig);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw evError('EV_ERR_UNAUTHORIZED', 'this preview link is not valid for this sink', {
          hint: 'open the message from the inbox again',
        });
      }
      const detail = await ctx.store.detail(params.id);
      if (detail === undefined)
        throw evError('EV_ERR_NOT_FOUND', 'the message is gone (deleted or evicted)');
      const remote = url.searchParams.get('remote') === '1';
      const html =
        detail.html ??
        '<p style="font-family:sans-serif;color:#777">This message has no HTML part.</p>';
      setCommonHeaders(res);
      res.setHeader('content-security-policy', htmlViewCsp(remote));
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('x-dns-prefetch-control', 'off');
      sendBuffer(res, 200, Buffer.from(neutraliseHtml(html, { remote }), 'utf8'), {
        'content-type': 'text/html; charset=utf-8',
      });
    },
    { auth: false },
  );

  router.add('POST', '/api/messages/:id/links/check', async ({ res, params }) => {
    const detail = await ctx.store.detail(params.id);
    if (detail === undefined)
      throw evError(
        'EV_ERR_NOT_FOUND',
        `no message with id ${JSON.stringify(params.id.slice(0, 200))}`,
      );
    const links = await checkLinks(detail.analysis?.links ?? [], {
      fetch: doFetch,
      allowPrivate: options.linkCheckPrivate ?? false,
    });
    sendJson(res, 200, { links, checked: links.length, total: detail.analysis?.links.length ?? 0 });
  });
}
