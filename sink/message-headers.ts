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
  while (pos < text.length && fields.length < MAX_INGEST_HEADER_FIELDS) {
    let eol = pos;
    while (eol < text.length && text.charCodeAt(eol) !== 10 && text.charCodeAt(eol) !== 13) eol++;
    const line = text.slice(pos, eol);
    if (eol < text.length && text.charCodeAt(eol) === 13 && text.charCodeAt(eol + 1) === 10) eol++;
    pos = eol + 1;
    if (line === '') break; // end of headers
    const first = line.charCodeAt(0);
    if ((first === 32 || first === 9) && current) {
      current.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      current = null; // not a header line: ignore it, as mail readers do
      continue;
    }
    current = {
      name: line.slice(0, colon).trim().toLowerCase(),
      value: line.slice(colon + 1).trim(),
    };
    fields.push(current);
  }
  return fields;
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
  return out.filter((s) => s !== '');
}

export interface SummaryHeaders {
  from: string | null;
  to: string[];
  subject: string | null;
  messageId: string | null;
}

/** The header values a summary carries, decoded and bounded. */
export function summaryHeaders(fields: readonly HeaderField[]): SummaryHeaders {
  const first = (name: string) => fields.find((f) => f.name === name)?.value ?? null;
  const decode = (v: string | null) => (v === null ? null : clip(decodeEncodedWords(v)));
  const to = fields
    .filter((f) => f.name === 'to')
    .flatMap((f) => splitAddressList(f.value))
    .slice(0, MAX_SUMMARY_ADDRESSES)
    .map((v) => clip(decodeEncodedWords(v)));
  const messageId = first('message-id');
  return {
    from: decode(first('from')),
    to,
    subject: decode(first('subject')),
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
