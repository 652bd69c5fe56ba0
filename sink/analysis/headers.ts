/**
 * Raw header access for the analysis: the header block is split straight from
 * the received bytes, so it works when the MIME parse failed, and it keeps the
 * exact bytes of each field, which DKIM canonicalization needs.
 */

/** Bytes of the header block examined; a real header block is a few KiB, 10,000 hostile headers fit well inside. */
export const MAX_HEADER_BLOCK_BYTES = 4 * 1024 * 1024;
/** Header fields kept; smtp-server's hostile corpus goes to 10,000, a real message has well under 200. */
export const MAX_HEADER_FIELDS = 20_000;
/** Characters of a decoded header value the heuristics look at (RFC 5322 line limit is 998). */
export const MAX_HEADER_VALUE_CHARS = 4096;

export interface RawHeader {
  /** Field name as written. */
  name: string;
  /** Lower-cased name, for lookups. */
  key: string;
  /** The whole field as received (name, colon, value, folding), without the final line break, latin1-decoded so bytes round-trip. */
  raw: string;
  /** The value after the colon, unfolded and trimmed (latin1: bytes round-trip; see {@link headerText}). */
  value: string;
}

export interface SplitMessage {
  headers: RawHeader[];
  /** Offset of the first body byte in the raw message (raw.length when there is no body). */
  bodyOffset: number;
  /** True when the header block exceeded a bound and fields were dropped. */
  truncated: boolean;
}

/**
 * Splits a raw message into header fields and the body offset. Accepts CRLF,
 * bare LF and a trailing header block without a blank line. Never throws.
 */
export function splitMessage(raw: Buffer): SplitMessage {
  const scanLength = Math.min(raw.length, MAX_HEADER_BLOCK_BYTES);
  // latin1 maps each byte to one UTF-16 unit, so offsets in the string are byte offsets.
  const text = raw.toString('latin1', 0, scanLength);
  let end = -1;
  let bodyOffset = raw.length;
  const m = /\r?\n\r?\n/.exec(text);
  if (m) {
    end = m.index;
    bodyOffset = m.index + m[0].length;
  } else if (raw.length > scanLength) {
    end = scanLength;
  } else {
    end = text.length;
  }
  // A message starting with a blank line has no headers at all.
  if (/^\r?\n/.test(text)) {
    return { headers: [], bodyOffset: text.startsWith('\r\n') ? 2 : 1, truncated: false };
  }
  const block = text.slice(0, end);
  const headers: RawHeader[] = [];
  let truncated = raw.length > scanLength && !m;
  const lines = block.split(/\r?\n/);
  let current: string[] = [];
  const flush = (): void => {
    if (current.length === 0) return;
    const field = current.join('\r\n');
    current = [];
    const colon = field.indexOf(':');
    if (colon <= 0) return; // not a header field (garbage line): ignore it
    const name = field.slice(0, colon).trim();
    // eslint-disable-next-line no-control-regex -- RFC 5322 field names exclude control characters
    if (name === '' || /[\s\x00-\x1f]/.test(name)) return;
    if (headers.length >= MAX_HEADER_FIELDS) {
      truncated = true;
      return;
    }
    const value = field
      .slice(colon + 1)
      .replace(/\r\n/g, '')
      .trim();
    headers.push({ name, key: name.toLowerCase(), raw: field, value });
  };
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && current.length > 0) {
      current.push(line);
    } else {
      flush();
      current.push(line);
    }
  }
  flush();
  return { headers, bodyOffset, truncated };
}

/** The last field named `key` (lower-case), or undefined. */
export function lastHeader(headers: readonly RawHeader[], key: string): RawHeader | undefined {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i].key === key) return headers[i];
  return undefined;
}

/**
 * A header value as text: raw bytes read as UTF-8 (RFC 6532) and RFC 2047
 * encoded-words decoded for the common charsets (UTF-8, ASCII, Latin-1).
 * Bounded to {@link MAX_HEADER_VALUE_CHARS}.
 */
export function headerText(value: string): string {
  const bounded =
    value.length > MAX_HEADER_VALUE_CHARS ? value.slice(0, MAX_HEADER_VALUE_CHARS) : value;
  const utf8 = Buffer.from(bounded, 'latin1').toString('utf8');
  // Whitespace between two adjacent encoded-words is not displayed (RFC 2047 section 6.2).
  const joined = utf8.replace(/(=\?[^?\s]{1,40}\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)/g, '$1');
  return joined.replace(
    /=\?([^?\s]{1,40})\?([bBqQ])\?([^?\s]*)\?=/g,
    (whole, charset: string, enc: string, data: string) => {
      const cs = charset.toLowerCase().replace(/\*.*$/, '');
      const encoding: BufferEncoding | null =
        cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii'
          ? 'utf8'
          : cs === 'iso-8859-1' || cs === 'latin1' || cs === 'windows-1252'
            ? 'latin1'
            : null;
      if (encoding === null) return whole;
      let bytes: Buffer;
      if (enc === 'b' || enc === 'B') {
        bytes = Buffer.from(data, 'base64');
      } else {
        const q = data
          .replace(/_/g, ' ')
          .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
            String.fromCharCode(parseInt(hex, 16)),
          );
        bytes = Buffer.from(q, 'latin1');
      }
      return bytes.toString(encoding);
    },
  );
}

export interface RequiredHeaders {
  from: boolean;
  date: boolean;
  messageId: boolean;
}

/** RFC 5322 section 3.6: From and Date are required; Message-ID is a SHOULD that every bulk sender is expected to meet. */
export function requiredHeaders(headers: readonly RawHeader[]): RequiredHeaders {
  const has = (key: string): boolean => headers.some((h) => h.key === key && h.value !== '');
  return { from: has('from'), date: has('date'), messageId: has('message-id') };
}
