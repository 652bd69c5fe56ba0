/**
 * mailparser's result for the common simple messages, without running mailparser.
 *
 * The background analysis needs only a message's text, HTML and subject from
 * the MIME parse (sink/analysis/index.ts). mailparser's stream pipeline costs
 * several times the rest of the sink's work on a message, and for the shapes
 * most mail has its result is simple. This module recognises exactly these:
 *
 * - a single `text/plain` part, or `multipart/alternative` with a
 *   `text/plain` part and optionally a `text/html` part after it (what
 *   nodemailer, Python's email package and most apps send);
 * - each part ASCII or UTF-8, 7bit, 8bit, quoted-printable or base64, with no
 *   other `Content-*` header (no attachment, no disposition);
 * - CRLF line ends only, a plain ASCII subject on one line;
 *
 * and gives what mailparser gives: each part decoded with CRLF turned into
 * LF, no HTML when there is no HTML part, the subject as written. Anything
 * else (attachments, nested parts, another charset, format=flowed, encoded
 * words, a malformed encoding) returns null and goes through mailparser as
 * before. test/unit/sink/plain-text-parse.test.ts checks the result, and the
 * analysis built on it, against mailparser's on generated messages.
 */
import { isUtf8 } from 'node:buffer';
import { splitMessage } from './analysis/headers.ts';

/** What the analysis reads of a parse: mailparser's ParsedMail has these fields. */
export interface ParsedBodies {
  text?: string | false;
  html?: string | false;
  subject?: string;
}

/** Bodies larger than this go through mailparser (which bounds its own work on huge input). */
export const MAX_PLAIN_FAST_BYTES = 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;

type Charset = 'ascii' | 'utf8';
type Encoding = 'plain' | 'quoted-printable' | 'base64';
type Kind = 'text/plain' | 'text/html' | 'multipart/alternative';

/** A Content-Type taken: its kind, charset and boundary; null for any other. */
function contentTypeOf(
  value: string | undefined,
): { kind: Kind; charset: Charset; boundary: string | null } | null {
  if (value === undefined) return { kind: 'text/plain', charset: 'ascii', boundary: null };
  const params = value.split(';').map((p) => p.trim());
  const kind = (params[0] ?? '').toLowerCase();
  if (kind !== 'text/plain' && kind !== 'text/html' && kind !== 'multipart/alternative')
    return null;
  let charset: Charset = 'ascii';
  let boundary: string | null = null;
  for (const p of params.slice(1)) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) return null;
    const name = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (name === 'charset' && kind !== 'multipart/alternative') {
      const cs = v.toLowerCase();
      if (cs === 'us-ascii') charset = 'ascii';
      else if (cs === 'utf-8') charset = 'utf8';
      else return null;
    } else if (name === 'boundary' && kind === 'multipart/alternative') {
      // Printable ASCII without quotes or spaces at the ends (RFC 2046 bchars, leniently).
      if (
        v === '' ||
        v.length > 70 ||
        v !== v.trim() ||
        !/^[\x20-\x7e]+$/.test(v) ||
        v.includes('"')
      )
        return null;
      boundary = v;
    } else return null;
  }
  if (kind === 'multipart/alternative' && boundary === null) return null;
  return { kind, charset, boundary };
}

/** A subject mailparser returns unchanged (trimmed): printable ASCII, no encoded word. */
function plainSubject(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return !raw.includes('=?');
}

interface Entity {
  kind: Kind;
  charset: Charset;
  boundary: string | null;
  encoding: Encoding;
  body: Buffer;
  subject?: string;
}

/**
 * The MIME headers of a message or part: at most one Content-Type and one
 * Content-Transfer-Encoding of the kinds taken, no other `Content-*` field.
 * Null for anything else.
 */
function entityOf(raw: Buffer, top: boolean): Entity | null {
  const split = splitMessage(raw);
  if (split.truncated || (top && split.headers.length === 0)) return null;
  let contentType: string | undefined;
  let encoding: Encoding | undefined;
  let subjectField: string | undefined;
  for (const h of split.headers) {
    if (h.key === 'content-type') {
      if (contentType !== undefined) return null;
      contentType = h.value;
    } else if (h.key === 'content-transfer-encoding') {
      if (encoding !== undefined) return null;
      const cte = h.value.toLowerCase();
      if (cte === '7bit' || cte === '8bit') encoding = 'plain';
      else if (cte === 'quoted-printable' || cte === 'base64') encoding = cte;
      else return null;
    } else if (h.key.startsWith('content-')) {
      return null; // disposition, id, language…: mailparser may treat the body otherwise
    } else if (top && h.key === 'subject') {
      if (subjectField !== undefined || h.raw.includes('\r\n')) return null;
      subjectField = h.raw.slice(h.raw.indexOf(':') + 1);
      if (!plainSubject(subjectField)) return null;
    }
  }
  const type = contentTypeOf(contentType);
  if (type === null) return null;
  if (type.kind === 'multipart/alternative' && (encoding ?? 'plain') !== 'plain') return null;
  // The header block ends with CRLF CRLF (or the part is all headers and a blank line).
  const start = split.bodyOffset;
  if (start < 2 || start > raw.length || raw[start - 1] !== LF || raw[start - 2] !== CR)
    return null;
  const subject = subjectField?.trim();
  return {
    ...type,
    encoding: encoding ?? 'plain',
    body: raw.subarray(start),
    // An empty Subject is no subject to mailparser.
    ...(subject ? { subject } : {}),
  };
}

/** True when every CR is followed by LF and every LF preceded by CR. */
function crlfOnly(b: Buffer): boolean {
  for (let i = b.indexOf(CR); i >= 0; i = b.indexOf(CR, i + 1)) if (b[i + 1] !== LF) return false;
  for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1))
    if (i === 0 || b[i - 1] !== CR) return false;
  return true;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Quoted-printable as mailparser (libqp) decodes valid input: spaces and tabs
 * at line ends dropped, `=` CRLF joins lines, `=XX` is a byte. Null on any
 * other `=` (libqp keeps those as written; not worth matching).
 */
function decodeQuotedPrintable(body: Buffer): Buffer | null {
  const out = Buffer.allocUnsafe(body.length);
  let o = 0;
  let lineStart = 0;
  while (lineStart <= body.length) {
    let lineEnd = body.indexOf(CR, lineStart);
    const last = lineEnd < 0;
    if (last) lineEnd = body.length;
    let end = lineEnd;
    while (end > lineStart && (body[end - 1] === 0x20 || body[end - 1] === 0x09)) end--;
    let soft = false;
    for (let i = lineStart; i < end; i++) {
      const c = body[i];
      if (c !== 0x3d) {
        out[o++] = c;
        continue;
      }
      if (i === end - 1) {
        soft = true;
        break;
      }
      const hi = hexValue(body[i + 1]);
      const lo = i + 2 < end ? hexValue(body[i + 2]) : -1;
      if (hi < 0 || lo < 0) return null;
      out[o++] = hi * 16 + lo;
      i += 2;
    }
    if (last) break;
    if (!soft) {
      out[o++] = CR;
      out[o++] = LF;
    }
    lineStart = lineEnd + 2;
  }
  return out.subarray(0, o);
}

/** Base64 made only of the alphabet and line breaks; null otherwise. */
function decodeBase64(body: Buffer): Buffer | null {
  const text = body.toString('latin1').replaceAll('\r\n', '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Buffer.from(text, 'base64');
}

/** A text part's content as mailparser gives it: decoded, CRLF as LF. Null when not taken. */
function textOf(e: Entity): string | null {
  if (!crlfOnly(e.body)) return null;
  const bytes =
    e.encoding === 'quoted-printable'
      ? decodeQuotedPrintable(e.body)
      : e.encoding === 'base64'
        ? decodeBase64(e.body)
        : e.body;
  if (bytes === null || bytes.length === 0) return null;
  if (e.charset === 'ascii') {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return null;
  } else if (!isUtf8(bytes)) return null;
  // Decoded content may use bare LF (mailparser keeps it); a lone CR is not taken.
  for (let i = bytes.indexOf(CR); i >= 0; i = bytes.indexOf(CR, i + 1))
    if (bytes[i + 1] !== LF) return null;
  return bytes.toString('utf8').replaceAll('\r\n', '\n');
}

/** The parts of a multipart body split on its boundary: null unless cleanly delimited. */
function partsOf(body: Buffer, boundary: string): Buffer[] | null {
  if (!crlfOnly(body)) return null;
  const text = body.toString('latin1'); // one char per byte: offsets are byte offsets
  const delimiter = `--${boundary}`;
  const parts: Buffer[] = [];
  let open = -1; // offset where the current part starts
  let closed = false;
  let lineStart = 0;
  while (lineStart < text.length && !closed) {
    let lineEnd = text.indexOf('\r\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    if (text.startsWith(delimiter, lineStart)) {
      const rest = text.slice(lineStart + delimiter.length, lineEnd);
      if (rest !== '' && rest !== '--') return null; // a line that only looks like a delimiter
      // The CRLF before a delimiter belongs to it.
      if (open >= 0) parts.push(body.subarray(open, Math.max(open, lineStart - 2)));
      if (rest === '--') closed = true;
      else open = lineEnd + 2;
    }
    lineStart = lineEnd + 2;
  }
  return closed ? parts : null;
}

/**
 * mailparser's text, HTML and subject for a message in one of the shapes
 * described at the top of this module; null for any other.
 */
export function parsePlainText(raw: Buffer): ParsedBodies | null {
  if (raw.length > MAX_PLAIN_FAST_BYTES) return null;
  const top = entityOf(raw, true);
  if (top === null) return null;
  const subject = top.subject !== undefined ? { subject: top.subject } : {};
  if (top.kind === 'text/plain') {
    const text = textOf(top);
    return text === null ? null : { text, html: false, ...subject };
  }
  if (top.kind !== 'multipart/alternative' || top.boundary === null) return null;
  const parts = partsOf(top.body, top.boundary);
  // A text part, then an optional HTML part; other layouts go to mailparser.
  if (parts === null || parts.length < 1 || parts.length > 2) return null;
  const first = entityOf(parts[0], false);
  if (first === null || first.kind !== 'text/plain') return null;
  const text = textOf(first);
  if (text === null) return null;
  if (parts.length === 1) return { text, html: false, ...subject };
  const second = entityOf(parts[1], false);
  if (second === null || second.kind !== 'text/html') return null;
  const html = textOf(second);
  return html === null ? null : { text, html, ...subject };
}
