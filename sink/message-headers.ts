/**
 * The cheap header parse done on the ingest path: enough for the summary
 * (From, To, Subject, Message-ID) and header rules, without the full MIME
 * parse (which runs later, off the event loop: see parse-worker.ts).
 *
 * Input is hostile: bare LF, bare CR, NUL bytes, no blank line, huge header
 * blocks. Everything here is bounded and never throws.
 */

/** Header bytes looked at on ingest; a header block larger than this is cut (the raw message is kept whole). */
export const MAX_INGEST_HEADER_BYTES = 256 * 1024;
/** Header fields kept for the summary and header rules; more is abuse (the raw message is kept whole). */
export const MAX_INGEST_HEADER_FIELDS = 1000;
/** Decoded summary values (Subject, From...) are cut to this length for events and lists. */
export const MAX_SUMMARY_VALUE_LENGTH = 2000;
/** Addresses listed from a To/Cc header in a summary. */
export const MAX_SUMMARY_ADDRESSES = 100;

export interface HeaderField {
  /** Lower-case name. */
  name: string;
  /** Unfolded value, raw (encoded words not decoded). */
  value: string;
}

/** Parses the header block of a raw message (CRLF, LF or CR line ends). */
export function parseHeaderBlock(raw: Buffer): HeaderField[] {
  // Decode only the header block: values are slices of this string, and a
  // slice keeps its whole parent string alive for as long as the summary lives.
  const end = headerBlockEnd(raw, Math.min(raw.length, MAX_INGEST_HEADER_BYTES));
  const text = raw.toString('utf8', 0, end);
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  let pos = 0;
  // Lines are read by offsets into `text`, not sliced out first: one string
  // fewer per field on the ingest path (bench:sink scenario 6).
  while (pos < text.length && fields.length < MAX_INGEST_HEADER_FIELDS) {
    const start = pos;
    let end = pos;
    while (end < text.length && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
    pos = end + 1;
    if (end < text.length && text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10) pos++;
    if (end === start) break; // end of headers
    const first = text.charCodeAt(start);
    if ((first === 32 || first === 9) && current) {
      current.value += ' ' + trimmed(text, start, end);
      continue;
    }
    const colon = text.indexOf(':', start);
    if (colon <= start || colon >= end) {
      current = null; // not a header line: ignore it, as mail readers do
      continue;
    }
    current = {
      name: trimmed(text, start, colon).toLowerCase(),
      value: trimmed(text, colon + 1, end),
    };
    fields.push(current);
  }
  return fields;
}

/** `text.slice(start, end).trim()`, without the untrimmed slice when the ends are spaces or tabs. */
function trimmed(text: string, start: number, end: number): string {
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return text.slice(start, end).trim(); // other white space (rare) as trim() has it
}

/** Offset of the blank line ending the header block (CRLF, LF or CR), or `limit`. */
function headerBlockEnd(raw: Buffer, limit: number): number {
  for (let i = 0; i < limit; i++) {
    const c = raw[i];
    if (c !== 10 && c !== 13) continue;
    const next = raw[i + 1];
    if (c === 13 && next === 10) {
      if (raw[i + 2] === 13 && raw[i + 3] === 10) return Math.min(i + 4, limit);
      if (raw[i + 2] === 10 || raw[i + 2] === 13) return Math.min(i + 3, limit);
      i++;
    } else if (next === c || next === 10 || next === 13) {
      return Math.min(i + 2, limit);
    }
  }
  return limit;
}

/** Decodes RFC 2047 encoded words (`=?charset?B|Q?...?=`); unknown charsets are left as they are. */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value; // most header values: no regex run
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1')
    .replace(
      /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g,
      (word, charset: string, enc: string, text: string) => {
        try {
          const bytes =
            enc.toUpperCase() === 'B'
              ? Buffer.from(text, 'base64')
              : Buffer.from(
                  text
                    .replace(/_/g, ' ')
                    .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) =>
                      String.fromCharCode(parseInt(h, 16)),
                    ),
                  'latin1',
                );
          return new TextDecoder(charset.split('*')[0].toLowerCase()).decode(bytes);
        } catch {
          return word;
        }
      },
    );
}

/** Splits an address list on commas outside quotes, comments and angle brackets. */
export function splitAddressList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length && out.length < MAX_SUMMARY_ADDRESSES; i++) {
    const c = value[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && depth === 0 && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (out.length < MAX_SUMMARY_ADDRESSES) out.push(value.slice(start).trim());
  return out.includes('') ? out.filter((s) => s !== '') : out;
}

export interface SummaryHeaders {
  from: string | null;
  to: string[];
  subject: string | null;
  messageId: string | null;
}

/**
 * The header values a summary carries, decoded and bounded: the first From,
 * Subject and Message-ID, and the addresses of every To field. One pass and
 * one array (it runs for every message received).
 */
export function summaryHeaders(fields: readonly HeaderField[]): SummaryHeaders {
  let from: string | null = null;
  let subject: string | null = null;
  let messageId: string | null = null;
  const to: string[] = [];
  for (const f of fields) {
    if (f.name === 'from') from ??= f.value;
    else if (f.name === 'subject') subject ??= f.value;
    else if (f.name === 'message-id') messageId ??= f.value;
    else if (f.name === 'to' && to.length < MAX_SUMMARY_ADDRESSES)
      for (const a of splitAddressList(f.value)) if (to.push(a) === MAX_SUMMARY_ADDRESSES) break;
  }
  for (let i = 0; i < to.length; i++) to[i] = clip(decodeEncodedWords(to[i]));
  return {
    from: from === null ? null : clip(decodeEncodedWords(from)),
    to,
    subject: subject === null ? null : clip(decodeEncodedWords(subject)),
    messageId: messageId === null ? null : clip(messageId),
  };
}

function clip(s: string): string {
  // eslint-disable-next-line no-control-regex -- strips control characters from a header for display
  const clean = s.replace(/[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
  // A slice of the header block is fine: the store keeps the summary as its
  // JSON (store.ts), so no value outlives the ingest of its message.
  return clean.length > MAX_SUMMARY_VALUE_LENGTH ? clean.slice(0, MAX_SUMMARY_VALUE_LENGTH) : clean;
}
