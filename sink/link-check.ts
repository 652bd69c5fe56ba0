/**
 * Checks that links answer: one request per URL (HEAD, then GET where HEAD is
 * not allowed), a few at a time, each with a deadline, never throwing. Used by
 * the inbox's "Check links" (POST /api/messages/{id}/links/check).
 */
import type { LinkCheck } from '../src/protocol.ts';

/** Links checked per request: a newsletter has dozens, a hostile message could list thousands. */
export const MAX_LINKS_CHECKED = 50;
/** Link checks at once per request. */
export const LINK_CHECK_CONCURRENCY = 4;
/** Time one link may take to answer. */
export const LINK_CHECK_TIMEOUT_MS = 5000;

export interface LinkCheckOptions {
  /** Follow redirects and report the final status (default true). */
  follow?: boolean;
  fetch?: typeof fetch;
}

/** The http(s) links among `links`, at most {@link MAX_LINKS_CHECKED}, checked; results in the same order. */
export async function checkLinks(links: readonly string[], options: LinkCheckOptions = {}): Promise<LinkCheck[]> {
  const doFetch = options.fetch ?? fetch;
  const urls = links.filter((l) => /^https?:\/\//i.test(l)).slice(0, MAX_LINKS_CHECKED);
  const results = new Array<LinkCheck>(urls.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const i = next++;
      results[i] = await checkLink(doFetch, urls[i], options.follow ?? true);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LINK_CHECK_CONCURRENCY, urls.length) }, worker));
  return results;
}

async function checkLink(doFetch: typeof fetch, url: string, follow: boolean): Promise<LinkCheck> {
  const attempt = (method: string) => doFetch(url, { method, redirect: follow ? 'follow' : 'manual', signal: AbortSignal.timeout(LINK_CHECK_TIMEOUT_MS) });
  try {
    let res = await attempt('HEAD');
    if (res.status === 405 || res.status === 501) res = await attempt('GET');
    await res.body?.cancel().catch(() => undefined);
    return { url, status: res.status, ok: res.status >= 200 && res.status < 300, error: null };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { url, status: null, ok: false, error: cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)) };
  }
}
