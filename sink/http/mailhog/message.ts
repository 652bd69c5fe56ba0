/**
 * MailHog's message shape (its `data.Message`, as MailHog 1.0.1 serves it),
 * rebuilt from the raw source the way MailHog's `data` package does it, quirks
 * included, because scripts index into it. Pinned against MailHog 1.0.1's
 * vendored sources (github.com/mailhog/MailHog, vendor/github.com/mailhog/...):
 *  - the CRLF before the final dot is not part of the data: smtp/protocol.go:190
 *    (`TrimSuffix(Data, "\r\n.\r\n")`), so Content.Body, Content.Size and
 *    Raw.Data end without it (our store keeps the bytes as received);
 *  - headers are split on the first CRLFCRLF, each line on the first ": ";
 *    folded lines are appended to the previous value without the CRLF; a
 *    repeated header keeps only its last value (data/message.go:226-246); keys
 *    keep their case and are serialised in sorted order (Go marshals maps sorted);
 *  - a `Content-Type: multipart/...` body is split on `--boundary` and every
 *    non-empty piece (preamble and the closing `--` included) becomes a part,
 *    trimmed of CR/LF at both ends and parsed the same way, recursively
 *    (data/message.go:190-215);
 *  - `Message-ID` is added when absent, and `Received` and `Return-Path` are
 *    appended, as MailHog's receiver does (data/message.go:106-135);
 *  - empty lists and absent pointers are `null`; sizes are byte lengths;
 *  - `Created` is Go's time.Time JSON (RFC 3339 with nanoseconds, trailing
 *    zeros of the fraction dropped): the summary's millisecond time plus the
 *    nanoseconds the store keeps per message (store.ts `subMillisecondClock`);
 *  - `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\u003c`... as Go's
 *    encoding/json does, so the bytes match, not only the parsed value.
 * Bytes are handled as latin1 strings while splitting (so sizes are byte
 * counts and a boundary can never straddle a multi-byte character) and turned
 * into UTF-8 only for output, as Go's JSON encoder would.
 */
import type { MessageSummary } from '../../../src/protocol.ts';

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
  // eslint-disable-next-line no-control-regex -- the ASCII range as a range, starting at NUL
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
interface RawMime {
  parts: RawContent[] | null;
}

/** MailHog's ContentFromString over a byte string. */
function contentFromBytes(data: string): RawContent {
  const headers = new Map<string, string[]>();
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) return { headers, body: data, size: data.length, mime: null };
  let last = '';
  for (const line of data.slice(0, split).split('\r\n')) {
    if (last !== '' && (line.startsWith(' ') || line.startsWith('\t'))) {
      const values = headers.get(last);
      if (values) values[values.length - 1] += line;
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
  const boundary = extractBoundary(content.headers.get('Content-Type')?.[0] ?? '');
  if (boundary === '') return { parts: null };
  const parts: RawContent[] = [];
  for (const piece of splitBounded(content.body, `--${boundary}`, budget)) {
    if (piece.length === 0) continue;
    const part = contentFromBytes(trimCrLf(piece));
    if (depth < MAILHOG_MAX_MIME_DEPTH && isMime(part))
      part.mime = parseMimeBody(part, depth + 1, budget);
    parts.push(part);
  }
  return { parts: parts.length > 0 ? parts : null };
}

function toContent(raw: RawContent): MailhogContent {
  const headers: Record<string, string[]> = {};
  const keys = [...raw.headers.keys()].sort();
  for (const key of keys) headers[utf8(key)] = (raw.headers.get(key) ?? []).map(utf8);
  return {
    Headers: headers,
    Body: utf8(raw.body),
    Size: raw.size,
    MIME: raw.mime === null ? null : toMime(raw.mime),
  };
}

function toMime(mime: RawMime): MailhogMime {
  return { Parts: mime.parts === null ? null : mime.parts.map(toContent) };
}

/** `Mon, 02 Jan 2006 15:04:05 -0700` in UTC, as Go's time.RFC1123Z prints it. */
export function rfc1123z(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[date.getUTCDay()]}, ${p(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`
  );
}

function findKey(headers: Map<string, string[]>, lower: string): string | undefined {
  for (const key of headers.keys()) if (key.toLowerCase() === lower) return key;
  return undefined;
}

/** The message data as MailHog holds it: the source without the CRLF that preceded the final dot (smtp/protocol.go:190). */
export function mailhogData(raw: Buffer): string {
  const n = raw.length;
  const end = n >= 2 && raw[n - 2] === 13 && raw[n - 1] === 10 ? n - 2 : n;
  return raw.toString('latin1', 0, end);
}

/** Content of a stored message with the headers MailHog's receiver adds (data/message.go:106-135), still as byte strings. */
function receivedContent(summary: MessageSummary, data: string, hostname: string): RawContent {
  const from = summary.envelope.mailFrom?.address ?? '';
  const helo = summary.envelope.helo;
  const content = contentFromBytes(data);
  // What MailHog's receiver adds (as byte strings: envelope values are UTF-8 text).
  const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  const id = summary.id;
  if (findKey(content.headers, 'message-id') === undefined)
    content.headers.set('Message-ID', [bytes(id)]);
  const received = bytes(
    `from ${helo} by ${hostname} (MailHog)\r\n          id ${id}; ${rfc1123z(new Date(summary.time))}`,
  );
  const receivedKey = findKey(content.headers, 'received');
  if (receivedKey === undefined) content.headers.set('Received', [received]);
  else content.headers.get(receivedKey)?.push(received);
  const returnPath = bytes(`<${from}>`);
  const returnPathKey = findKey(content.headers, 'return-path');
  if (returnPathKey === undefined) content.headers.set('Return-Path', [returnPath]);
  else content.headers.get(returnPathKey)?.push(returnPath);
  return content;
}

/**
 * Go's `time.Time` JSON of a UTC time (`RFC3339Nano`: up to nine fraction
 * digits, trailing zeros dropped, no fraction at all when it is zero) from an
 * ISO string with milliseconds and the nanoseconds after that millisecond.
 */
export function goTime(iso: string, nanos = 0): string {
  const dot = iso.indexOf('.');
  if (dot < 0) return iso;
  const digits = `${iso.slice(dot + 1, dot + 4)}${String(nanos).padStart(6, '0')}`;
  let end = digits.length;
  while (end > 0 && digits[end - 1] === '0') end--;
  return end === 0 ? `${iso.slice(0, dot)}Z` : `${iso.slice(0, dot + 1)}${digits.slice(0, end)}Z`;
}

/** Builds the MailHog `Message` of one stored message from its summary and raw source. */
export function toMailhogMessage(
  summary: MessageSummary,
  raw: Buffer,
  hostname = MAILHOG_HOSTNAME,
  nanos = 0,
): MailhogMessage {
  const data = mailhogData(raw);
  const from = summary.envelope.mailFrom?.address ?? '';
  const to = summary.envelope.rcptTo.map((r) => r.address);
  const content = receivedContent(summary, data, hostname);
  let mime: RawMime | null = null;
  if (isMime(content)) mime = parseMimeBody(content, 1, { parts: MAILHOG_MAX_PARTS });
  return {
    ID: summary.id,
    From: mailhogPath(from),
    To: to.length > 0 ? to.map(mailhogPath) : null,
    Content: toContent(content),
    Created: goTime(summary.time, nanos),
    MIME: mime === null ? null : toMime(mime),
    Raw: {
      From: from,
      To: to.length > 0 ? to : null,
      Data: utf8(data),
      Helo: summary.envelope.helo,
    },
  };
}

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
  '\b': '\\u0008',
  '\f': '\\u000c',
};

/** JSON text as Go's encoding/json writes it (HTML-safe escapes; Go 1.19 spells backspace and form feed as \\u0008 and \\u000c). */
export function goJson(value: unknown, indent?: string): string {
  return JSON.stringify(value, null, indent).replace(
    /[<>&\u2028\u2029\b\f]/g,
    (c) => GO_ESCAPES[c] ?? c,
  );
}

export type MailhogSearchKind = 'from' | 'to' | 'containing';

/**
 * MailHog's search predicate (storage/memory.go:41-98 of MailHog 1.0.1):
 * `to` is any envelope recipient or the `To` header, `from` the envelope
 * sender or the `From` header (exact header keys, MailHog's parse), and
 * `containing` the body or any header value, the ones MailHog adds included.
 * `query` must already be lower case.
 */
export function mailhogMatches(
  kind: MailhogSearchKind,
  query: string,
  summary: MessageSummary,
  raw: Buffer,
  hostname = MAILHOG_HOSTNAME,
): boolean {
  const has = (value: string) => utf8(value).toLowerCase().includes(query);
  if (kind === 'to') {
    for (const r of summary.envelope.rcptTo) {
      const p = mailhogPath(r.address);
      if (`${p.Mailbox}@${p.Domain}`.toLowerCase().includes(query)) return true;
    }
  } else if (kind === 'from') {
    const p = mailhogPath(summary.envelope.mailFrom?.address ?? '');
    if (`${p.Mailbox}@${p.Domain}`.toLowerCase().includes(query)) return true;
  }
  const content = receivedContent(summary, mailhogData(raw), hostname);
  if (kind === 'containing') {
    if (has(content.body)) return true;
    for (const values of content.headers.values()) if (values.some(has)) return true;
    return false;
  }
  const header = content.headers.get(kind === 'to' ? 'To' : 'From');
  return header !== undefined && header.some(has);
}
