/**
 * mailparser's result for the simplest messages, without running mailparser.
 *
 * The background analysis needs only a message's text, HTML and subject from
 * the MIME parse (sink/analysis/index.ts). For a single-part plain-text
 * message in ASCII or UTF-8 — what scripts, cron jobs and many apps send —
 * mailparser's stream pipeline costs several times the rest of the sink's
 * work on the message, and its result is simple: the body with CRLF turned
 * into LF, no HTML, the subject as written. This module recognises exactly
 * those messages and builds that result; anything else (MIME parts, another
 * charset or transfer encoding, format=flowed, a disposition, encoded words,
 * folded or non-ASCII subjects, a stray CR, invalid UTF-8) returns null and
 * goes through mailparser as before. test/unit/sink/plain-text-parse.test.ts
 * checks the result against mailparser's on generated messages.
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

/** The `text/plain` Content-Type values taken: no parameter but an ASCII or UTF-8 charset. */
function plainCharset(value: string | undefined): 'ascii' | 'utf8' | null {
  if (value === undefined) return 'ascii';
  const params = value.split(';').map((p) => p.trim().toLowerCase());
  if (params[0] !== 'text/plain') return null;
  let charset: 'ascii' | 'utf8' = 'ascii';
  for (const p of params.slice(1)) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim() !== 'charset') return null;
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (v === 'us-ascii') charset = 'ascii';
    else if (v === 'utf-8') charset = 'utf8';
    else return null;
  }
  return charset;
}

/** A subject mailparser returns unchanged (trimmed): printable ASCII, no encoded word. */
function plainSubject(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return !raw.includes('=?');
}

/** mailparser's text, HTML and subject for a single-part ASCII/UTF-8 text message; null for any other. */
export function parsePlainText(raw: Buffer): ParsedBodies | null {
  if (raw.length > MAX_PLAIN_FAST_BYTES) return null;
  const split = splitMessage(raw);
  if (split.truncated || split.headers.length === 0) return null;
  let contentType: string | undefined;
  let subjectField: string | undefined;
  for (const h of split.headers) {
    if (h.raw.includes('\r\n')) {
      // A folded field: only ordinary headers may be folded.
      if (h.key.startsWith('content-') || h.key === 'subject' || h.key === 'mime-version')
        return null;
    }
    if (h.key === 'content-type') {
      if (contentType !== undefined) return null;
      contentType = h.value;
    } else if (h.key === 'content-transfer-encoding') {
      const cte = h.value.toLowerCase();
      if (cte !== '7bit' && cte !== '8bit') return null;
    } else if (h.key.startsWith('content-')) {
      return null; // disposition, id, language…: mailparser may treat the body otherwise
    } else if (h.key === 'subject') {
      if (subjectField !== undefined) return null;
      subjectField = h.raw.slice(h.raw.indexOf(':') + 1);
    }
  }
  const charset = plainCharset(contentType);
  if (charset === null) return null;
  // The header block must end with CRLF CRLF, and the body have no CR but before LF.
  const start = split.bodyOffset;
  if (start < 4 || start > raw.length || raw[start - 1] !== LF || raw[start - 2] !== CR)
    return null;
  const body = raw.subarray(start);
  if (body.length === 0) return null; // mailparser gives no text at all then
  let crlf = 0;
  for (let i = body.indexOf(CR); i >= 0; i = body.indexOf(CR, i + 1)) {
    if (body[i + 1] !== LF) return null;
    crlf++;
  }
  if (charset === 'ascii') {
    for (let i = 0; i < body.length; i++) if (body[i] > 0x7f) return null;
  } else if (!isUtf8(body)) return null;
  if (subjectField !== undefined && !plainSubject(subjectField)) return null;
  let text = body.toString('utf8');
  if (crlf > 0) text = text.replaceAll('\r\n', '\n');
  return {
    text,
    html: false,
    // An empty Subject is no subject to mailparser.
    ...(subjectField !== undefined && subjectField.trim() !== ''
      ? { subject: subjectField.trim() }
      : {}),
  };
}
