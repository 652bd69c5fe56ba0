/**
 * Checks that links answer: one request per URL (HEAD, then GET where HEAD is
 * not allowed), a few at a time, each with a deadline, never throwing. Used by
 * the inbox's "Check links" (POST /api/messages/{id}/links/check) and Mailpit's
 * link-check route.
 *
 * The links come from captured mail, so a message must not make the sink
 * probe its own network: every host (and every redirect hop, followed by hand)
 * is resolved first and refused when any of its addresses is loopback,
 * link-local, private, CGNAT or unspecified, unless the embedder opts in
 * (`allowPrivate`, the sink's `--link-check-private`). The fetch resolves the
 * name again, so a name that changes its answer in between (DNS rebinding)
 * is not covered.
 */
import { lookup } from 'node:dns/promises';
import { isNonPublicIp } from '../src/address/dns.ts';
import type { LinkCheck } from '../src/protocol.ts';
import { causeOf, errorCode, errorMessage, hasMessage } from '../src/guards.ts';

/** Links checked per request: a newsletter has dozens, a hostile message could list thousands. */
export const MAX_LINKS_CHECKED = 50;
/** Link checks at once per request. */
export const LINK_CHECK_CONCURRENCY = 4;
/** Time one link may take to answer. */
export const LINK_CHECK_TIMEOUT_MS = 5000;
/** Redirects followed per link: http→https→canonical host needs two or three; a loop must end. */
export const MAX_LINK_REDIRECTS = 5;

/** Resolves a host name (or IP literal) to its addresses. */
export type LinkLookup = (host: string) => Promise<string[]>;

const systemLookup: LinkLookup = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface LinkCheckOptions {
  /** Follow redirects and report the final status (default true). */
  follow?: boolean;
  fetch?: typeof fetch;
  /** Name resolution used to refuse internal targets (tests inject one); default node:dns lookup. */
  lookup?: LinkLookup;
  /** Check loopback, link-local and private targets too (tests, local development). Default false. */
  allowPrivate?: boolean;
}

/** The http(s) links among `links`, at most {@link MAX_LINKS_CHECKED}, checked; results in the same order. */
export async function checkLinks(
  links: readonly string[],
  options: LinkCheckOptions = {},
): Promise<LinkCheck[]> {
  const doFetch = options.fetch ?? fetch;
  const resolve = options.lookup ?? systemLookup;
  const guard = options.allowPrivate ? async () => null : (url: URL) => refusal(url, resolve);
  const urls = links.filter((l) => /^https?:\/\//i.test(l)).slice(0, MAX_LINKS_CHECKED);
  const results = new Array<LinkCheck>(urls.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const i = next++;
      results[i] = await checkLink(doFetch, guard, urls[i], options.follow ?? true);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LINK_CHECK_CONCURRENCY, urls.length) }, worker));
  return results;
}

/** Why the sink will not fetch `url`, or null when it may. */
async function refusal(url: URL, resolve: LinkLookup): Promise<string | null> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    return errorCode(err) ?? 'host not resolved';
  }
  if (addresses.length === 0) return 'host not resolved';
  const internal = addresses.find(isNonPublicIp);
  return internal === undefined ? null : `refused: private address ${internal}`;
}

async function checkLink(
  doFetch: typeof fetch,
  guard: (url: URL) => Promise<string | null>,
  url: string,
  follow: boolean,
): Promise<LinkCheck> {
  const failed = (error: string, status: number | null = null): LinkCheck => ({
    url,
    status,
    ok: false,
    error,
  });
  try {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const refused = await guard(current);
      if (refused !== null) return failed(refused);
      const attempt = (method: string) =>
        doFetch(current, {
          method,
          redirect: 'manual',
          signal: AbortSignal.timeout(LINK_CHECK_TIMEOUT_MS),
        });
      let res = await attempt('HEAD');
      if (res.status === 405 || res.status === 501) res = await attempt('GET');
      await res.body?.cancel().catch(() => undefined);
      const location = res.headers.get('location');
      if (!follow || res.status < 300 || res.status > 399 || location === null) {
        return { url, status: res.status, ok: res.status >= 200 && res.status < 300, error: null };
      }
      if (hop >= MAX_LINK_REDIRECTS)
        return failed(`more than ${MAX_LINK_REDIRECTS} redirects`, res.status);
      const target = URL.parse(location, current.href);
      if (target === null || (target.protocol !== 'http:' && target.protocol !== 'https:'))
        return failed('redirect to a URL that is not http(s)', res.status);
      current = target;
    }
  } catch (err) {
    const cause = causeOf(err);
    return failed(errorCode(cause) ?? (hasMessage(cause) ? cause.message : errorMessage(err)));
  }
}
