/**
 * MailHog-compatible API (v1 and v2 as MailHog 1.0.1 serves them), so scripts
 * written against `http://mailhog:8025/api/...` keep working unchanged.
 *
 * The message shape is rebuilt from the raw source the way MailHog's `data`
 * package does it, quirks included, because scripts index into it:
 *  - headers are split on the first CRLFCRLF, each line on the first ": ";
 *    folded lines are appended to the previous value without the CRLF; a
 *    repeated header keeps only its last value; keys keep their case and are
 *    serialised in sorted order (Go marshals maps sorted);
 *  - a `Content-Type: multipart/...` body is split on `--boundary` and every
 *    non-empty piece (preamble and the closing `--` included) becomes a part,
 *    trimmed of CR/LF at both ends and parsed the same way, recursively;
 *  - `Message-ID` is added when absent, and `Received` and `Return-Path` are
 *    appended, as MailHog's receiver does;
 *  - empty lists and absent pointers are `null`; sizes are byte lengths;
 *  - JSON is sent as `text/json`, as MailHog does.
 * One deliberate difference: an unknown id is a 404 (MailHog answers 500 or `null`).
 * Bytes are handled as latin1 strings while splitting (so sizes are byte
 * counts and a boundary can never straddle a multi-byte character) and turned
 * into UTF-8 only for output, as Go's JSON encoder would.
 */
import type { MessageSummary } from '../../src/protocol.ts';
import { evError } from '../../src/errors.ts';
import type { MessageQuery, SinkContext } from '../types.ts';
import type { Router } from './router.ts';
import { sendBuffer, sendText, streamJsonArray } from './respond.ts';

/** MailHog's default page size for v2 lists. */
export const MAILHOG_DEFAULT_LIMIT = 50;
/** MailHog's cap on v2 page size; larger values are clamped, as MailHog does. */
export const MAILHOG_MAX_LIMIT = 250;
/** MailHog's v1 list returns at most this many messages (its `List(0, 1000)`). */
export const MAILHOG_V1_LIMIT = 1000;
/** MailHog's default hostname, used in the `Received` header it adds. */
export const MAILHOG_HOSTNAME = 'mailhog.example';
/** The Content-Type MailHog sends with its JSON (sic). */
export const MAILHOG_CONTENT_TYPE = 'text/json';
/** MIME parts rebuilt per message (real mail has a handful); bounds the objects a crafted message can cost. */
export const MAILHOG_MAX_PARTS = 1000;
/** Nesting depth of multipart parts rebuilt; deeper parts are left unsplit (bounds recursion on hostile input). */
export const MAILHOG_MAX_MIME_DEPTH = 32;

export interface MailhogPath {
  Relays: string[] | null;
  Mailbox: string;
  Domain: string;
  Params: string;
}

export interface MailhogMime {
  Parts: MailhogContent[] | null;
}

export interface MailhogContent {
  Headers: Record<string, string[]>;
  Body: string;
  Size: number;
  MIME: MailhogMime | null;
}

export interface MailhogMessage {
  ID: string;
  From: MailhogPath;
  To: MailhogPath[] | null;
  Content: MailhogContent;
  Created: string;
  MIME: MailhogMime | null;
  Raw: { From: string; To: string[] | null; Data: string; Helo: string };
}

/** latin1 (byte) string to the UTF-8 text Go's JSON encoder would emit (invalid bytes become U+FFFD). */
function utf8(bytes: string): string {
  // Fast path: pure ASCII needs no conversion.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}

/** MailHog's PathFromString: `relay1,relay2:mailbox@domain`. */
export function mailhogPath(path: string): MailhogPath {
  let relays: string[] | null = null;
  let email = path;
  const colon = path.indexOf(':');
  if (colon >= 0) {
    relays = path.slice(0, colon).split(',');
    email = path.slice(colon + 1);
  }
  const at = email.indexOf('@');
  return {
    Relays: relays,
    Mailbox: at >= 0 ? email.slice(0, at) : email,
    Domain: at >= 0 ? email.slice(at + 1) : '',
    Params: '',
  };
}

/** Internal form while building: header values still as byte strings. */
interface RawContent {
  headers: Map<string, string[]>;
  body: string;
  size: number;
  mime: RawMime | null;
}
interface RawMime { parts: RawContent[] | null }

/** MailHog's ContentFromString over a byte string. */
function contentFromBytes(data: string): RawContent {
  const headers = new Map<string, string[]>();
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) return { headers, body: data, size: data.length, mime: null };
  let last = '';
  for (const line of data.slice(0, split).split('\r\n')) {
    if (last !== '' && (line.startsWith(' ') || line.startsWith('\t'))) {
      const values = headers.get(last) as string[];
      values[values.length - 1] += line;
    } else {
      const sep = line.indexOf(': ');
      if (sep >= 0) {
        last = line.slice(0, sep);
        headers.set(last, [line.slice(sep + 2)]);
      }
    }
  }
  return { headers, body: data.slice(split + 4), size: data.length, mime: null };
}

function isMime(content: RawContent): boolean {
  const ct = content.headers.get('Content-Type');
  return ct !== undefined && ct[0].startsWith('multipart/');
}

/** The `boundary` parameter of a Content-Type value, or '' (Go's mime.ParseMediaType, leniently). */
export function extractBoundary(contentType: string): string {
  const params = contentType.split(';').slice(1);
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      const end = value.indexOf('"', 1);
      value = end < 0 ? '' : value.slice(1, end);
    }
    return value;
  }
  return '';
}

function trimCrLf(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s[start] === '\r' || s[start] === '\n')) start++;
  while (end > start && (s[end - 1] === '\r' || s[end - 1] === '\n')) end--;
  return s.slice(start, end);
}

/**
 * Splits like Go's strings.Split, but stops after `budget.parts` pieces in total
 * across the message: the rest stays in the last piece. A crafted body of a
 * million boundaries must not become a million objects.
 */
function splitBounded(body: string, separator: string, budget: { parts: number }): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (;;) {
    const at = body.indexOf(separator, from);
    if (at < 0 || budget.parts <= 1) break;
    pieces.push(body.slice(from, at));
    budget.parts--;
    from = at + separator.length;
  }
  pieces.push(body.slice(from));
  return pieces;
}

/** MailHog's ParseMIMEBody: split on `--boundary`, every non-empty piece is a part. */
function parseMimeBody(content: RawContent, depth: number, budget: { parts: number }): RawMime {
  const boundary = extractBoundary((content.headers.get('Content-Type') as string[])[0]);
  if (boundary === '') return { parts: null };
  const parts: RawContent[] = [];
  for (const piece of splitBounded(content.body, `--${boundary}`, budget)) {
    if (piece.length === 0) continue;
    const part = contentFromBytes(trimCrLf(piece));
    if (depth < MAILHOG_MAX_MIME_DEPTH && isMime(part)) part.mime = parseMimeBody(part, depth + 1, budget);
    parts.push(part);
  }
  return { parts: parts.length > 0 ? parts : null };
}

function toContent(raw: RawContent): MailhogContent {
  const headers: Record<string, string[]> = {};
  const keys = [...raw.headers.keys()].sort();
  for (const key of keys) headers[utf8(key)] = (raw.headers.get(key) as string[]).map(utf8);
  return { Headers: headers, Body: utf8(raw.body), Size: raw.size, MIME: raw.mime === null ? null : toMime(raw.mime) };
}

function toMime(mime: RawMime): MailhogMime {
  return { Parts: mime.parts === null ? null : mime.parts.map(toContent) };
}

/** `Mon, 02 Jan 2006 15:04:05 -0700` in UTC, as Go's time.RFC1123Z prints it. */
export function rfc1123z(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${p(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} `
    + `${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function findKey(headers: Map<string, string[]>, lower: string): string | undefined {
  for (const key of headers.keys()) if (key.toLowerCase() === lower) return key;
  return undefined;
}

/** Builds the MailHog `Message` of one stored message from its summary and raw source. */
export function toMailhogMessage(summary: MessageSummary, raw: Buffer, hostname = MAILHOG_HOSTNAME): MailhogMessage {
  const data = raw.toString('latin1');
  const from = summary.envelope.mailFrom?.address ?? '';
  const to = summary.envelope.rcptTo.map((r) => r.address);
  const helo = summary.envelope.helo;
  const content = contentFromBytes(data);
  let mime: RawMime | null = null;
  if (isMime(content)) mime = parseMimeBody(content, 1, { parts: MAILHOG_MAX_PARTS });

  // What MailHog's receiver adds (as byte strings: envelope values are UTF-8 text).
  const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  const id = summary.id;
  if (findKey(content.headers, 'message-id') === undefined) content.headers.set('Message-ID', [bytes(id)]);
  const received = bytes(`from ${helo} by ${hostname} (MailHog)\r\n          id ${id}; ${rfc1123z(new Date(summary.time))}`);
  const receivedKey = findKey(content.headers, 'received');
  if (receivedKey === undefined) content.headers.set('Received', [received]);
  else (content.headers.get(receivedKey) as string[]).push(received);
  const returnPath = bytes(`<${from}>`);
  const returnPathKey = findKey(content.headers, 'return-path');
  if (returnPathKey === undefined) content.headers.set('Return-Path', [returnPath]);
  else (content.headers.get(returnPathKey) as string[]).push(returnPath);

  return {
    ID: id,
    From: mailhogPath(from),
    To: to.length > 0 ? to.map(mailhogPath) : null,
    Content: toContent(content),
    Created: summary.time,
    MIME: mime === null ? null : toMime(mime),
    Raw: { From: from, To: to.length > 0 ? to : null, Data: utf8(data), Helo: helo },
  };
}

/** MailHog's getStartLimit: invalid or non-positive values fall back to the defaults silently. */
export function mailhogStartLimit(url: URL): { start: number; limit: number } {
  const parse = (name: string) => {
    const raw = url.searchParams.get(name);
    if (raw === null || !/^[+-]?\d+$/.test(raw)) return undefined;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  const start = parse('start') ?? 0;
  const limit = Math.min(parse('limit') ?? MAILHOG_DEFAULT_LIMIT, MAILHOG_MAX_LIMIT);
  return { start, limit };
}

/** The three search kinds MailHog understands, mapped to the store's filters. */
const SEARCH_KINDS: Record<string, keyof MessageQuery> = { from: 'from', to: 'to', containing: 'containing' };

export interface MailhogRoutesOptions {
  hostname?: string;
}

/** Registers the MailHog v1/v2 routes (all behind the token, like every API route). */
export function addMailhogRoutes(router: Router, ctx: SinkContext, options: MailhogRoutesOptions = {}): void {
  const hostname = options.hostname ?? MAILHOG_HOSTNAME;

  /** Pairs each summary with its raw source now, so a delete mid-stream cannot change the count. */
  const withRaw = (items: MessageSummary[]) => items
    .map((summary) => ({ summary, raw: ctx.store.raw(summary.id) }))
    .filter((x): x is { summary: MessageSummary; raw: Buffer } => x.raw !== undefined);
  const serialise = (x: { summary: MessageSummary; raw: Buffer }) => JSON.stringify(toMailhogMessage(x.summary, x.raw, hostname));

  const page = async (res: Parameters<typeof streamJsonArray>[0], start: number, total: number, items: MessageSummary[]) => {
    const rows = withRaw(items);
    await streamJsonArray(res, rows, serialise, { prefix: `{"total":${total},"count":${rows.length},"start":${start},"items":`, suffix: '}', contentType: MAILHOG_CONTENT_TYPE });
  };

  router.add('GET', '/api/v2/messages', async ({ res, url }) => {
    const { start, limit } = mailhogStartLimit(url);
    const result = ctx.store.list(start, limit);
    await page(res, start, ctx.store.count, result.items);
  });

  router.add('GET', '/api/v2/search', async ({ res, url }) => {
    const { start, limit } = mailhogStartLimit(url);
    const kind = url.searchParams.get('kind') ?? '';
    const query = url.searchParams.get('query') ?? '';
    const field = Object.hasOwn(SEARCH_KINDS, kind) ? SEARCH_KINDS[kind] : undefined;
    if (field === undefined || query === '') {
      // MailHog answers a bad kind or an empty query with a bare 400.
      res.writeHead(400, { 'content-length': 0 });
      res.end();
      return;
    }
    const result = ctx.store.list(start, limit, { [field]: query.toLowerCase() });
    await page(res, start, result.total, result.items);
  });

  router.add('GET', '/api/v1/messages', async ({ res }) => {
    const result = ctx.store.list(0, MAILHOG_V1_LIMIT);
    await streamJsonArray(res, withRaw(result.items), serialise, { contentType: MAILHOG_CONTENT_TYPE });
  });

  router.add('DELETE', '/api/v1/messages', ({ res }) => {
    ctx.store.clear();
    res.writeHead(200, { 'content-type': 'text/json', 'content-length': 0 });
    res.end();
  });

  router.add('GET', '/api/v1/messages/:id', ({ res, params }) => {
    const summary = ctx.store.get(params.id);
    const raw = summary === undefined ? undefined : ctx.store.raw(params.id);
    if (summary === undefined || raw === undefined) throw notFound(params.id);
    sendText(res, 200, JSON.stringify(toMailhogMessage(summary, raw, hostname)), MAILHOG_CONTENT_TYPE);
  });

  router.add('DELETE', '/api/v1/messages/:id', ({ res, params }) => {
    if (!ctx.store.delete(params.id)) throw notFound(params.id);
    res.writeHead(200, { 'content-type': 'text/json', 'content-length': 0 });
    res.end();
  });

  router.add('GET', '/api/v1/messages/:id/download', ({ res, params }) => {
    const raw = ctx.store.raw(params.id);
    if (raw === undefined) throw notFound(params.id);
    sendBuffer(res, 200, raw, {
      'content-type': 'message/rfc822',
      'content-disposition': `attachment; filename="${params.id.replace(/[^\w.@=+-]/g, '_')}.eml"`,
    });
  });
}

function notFound(id: string) {
  return evError('EV_ERR_NOT_FOUND', `no message with id ${JSON.stringify(id.slice(0, 200))}`, { hint: 'list messages with GET /api/v2/messages' });
}
