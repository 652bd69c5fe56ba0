/**
 * List-Unsubscribe (RFC 2369) and one-click unsubscription (RFC 8058).
 *
 * RFC 8058 one-click needs: a List-Unsubscribe header with at least one HTTPS
 * URI, a List-Unsubscribe-Post header whose value is exactly
 * `List-Unsubscribe=One-Click`, and both headers covered by a valid DKIM
 * signature. The last condition depends on the DKIM verdict, so it is reported
 * by the caller as a reason rather than folded into `oneClick` here.
 */
import { headerText, lastHeader, type RawHeader } from './headers.ts';

/** URIs kept from List-Unsubscribe; real senders put one or two. */
export const MAX_UNSUBSCRIBE_URIS = 10;
/** Characters of one URI kept; longer ones are cut (they are shown, not fetched, here). */
export const MAX_UNSUBSCRIBE_URI_CHARS = 2048;

export interface ListUnsubscribe {
  present: boolean;
  /** True when the header pair meets RFC 8058 apart from the DKIM coverage (see module comment). */
  oneClick: boolean;
  urls: string[];
  mailto: string[];
  /** A List-Unsubscribe-Post header is present (whatever its value). */
  postHeader: boolean;
  /** The List-Unsubscribe-Post value is exactly `List-Unsubscribe=One-Click`. */
  postValid: boolean;
  /** At least one of `urls` is https. */
  hasHttps: boolean;
}

export function analyzeListUnsubscribe(headers: readonly RawHeader[]): ListUnsubscribe {
  const header = lastHeader(headers, 'list-unsubscribe');
  const post = lastHeader(headers, 'list-unsubscribe-post');
  const urls: string[] = [];
  const mailto: string[] = [];
  if (header) {
    const value = headerText(header.value);
    // RFC 2369: a comma-separated list of URIs, each in angle brackets.
    const re = /<([^<>]*)>/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(value)) !== null && urls.length + mailto.length < MAX_UNSUBSCRIBE_URIS) {
      const uri = m[1].replace(/\s+/g, '').slice(0, MAX_UNSUBSCRIBE_URI_CHARS);
      if (/^mailto:/i.test(uri)) {
        if (!mailto.includes(uri)) mailto.push(uri);
      } else if (/^https?:\/\//i.test(uri)) {
        if (!urls.includes(uri)) urls.push(uri);
      }
    }
  }
  const postValid = post !== undefined && post.value.trim() === 'List-Unsubscribe=One-Click';
  const hasHttps = urls.some((u) => /^https:\/\//i.test(u));
  return {
    present: urls.length + mailto.length > 0,
    oneClick: postValid && hasHttps,
    urls,
    mailto,
    postHeader: post !== undefined,
    postValid,
    hasHttps,
  };
}
