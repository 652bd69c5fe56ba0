/**
 * Bearer-token authentication of the sink's API and WebSocket feed.
 *
 * Accepted credentials, in order:
 *  - `Authorization: Bearer <token>` (the CLI, curl, scripts);
 *  - `Authorization: Basic base64(<any user>:<token>)`, so MailHog-era scripts
 *    using `curl -u` keep working;
 *  - WebSocket only: a `Sec-WebSocket-Protocol` entry `bearer.<token>` offered
 *    beside {@link FEED_SUBPROTOCOL}, for browsers, which cannot set headers on
 *    a WebSocket. The server selects `email-validate.v1`, never echoing the token.
 * Tokens in the query string are refused on purpose: URLs end up in proxy and
 * access logs.
 *
 * Comparison hashes both sides with SHA-256 and compares the digests with
 * timingSafeEqual, so neither the content nor the length of the token leaks
 * through timing. Tokens are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BEARER_SUBPROTOCOL_PREFIX } from '../../src/protocol.ts';
/** Longest credential looked at; real tokens are ~43 characters, this bounds hashing work per request. */
export const MAX_TOKEN_LENGTH = 4096;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time check of a presented token against the expected digest. */
export class TokenVerifier {
  readonly #expected: Buffer;

  constructor(token: string) {
    if (token.length === 0) throw new RangeError('the API token must not be empty');
    this.#expected = digest(token);
  }

  matches(presented: string | undefined | null): boolean {
    if (
      typeof presented !== 'string' ||
      presented.length === 0 ||
      presented.length > MAX_TOKEN_LENGTH
    )
      return false;
    return timingSafeEqual(digest(presented), this.#expected);
  }

  /** True when the request carries the token in a header (and, for WebSocket upgrades, a subprotocol). */
  authorize(req: IncomingMessage, options: { websocket?: boolean } = {}): boolean {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const space = header.indexOf(' ');
      const scheme = space < 0 ? header : header.slice(0, space);
      const value = space < 0 ? '' : header.slice(space + 1).trim();
      if (/^bearer$/i.test(scheme) && this.matches(value)) return true;
      if (/^basic$/i.test(scheme) && value.length <= MAX_TOKEN_LENGTH * 2) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon >= 0 && this.matches(decoded.slice(colon + 1))) return true;
      }
    }
    if (options.websocket) {
      const token = subprotocolToken(req);
      if (token !== undefined && this.matches(token)) return true;
    }
    return false;
  }
}

/** The token a WebSocket client offered as `bearer.<token>` in Sec-WebSocket-Protocol, if any. */
export function subprotocolToken(req: IncomingMessage): string | undefined {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH * 2) return undefined;
  for (const entry of header.split(',')) {
    const p = entry.trim();
    if (p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return p.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  }
  return undefined;
}
