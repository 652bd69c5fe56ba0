/**
 * Groups domains by who runs their mail servers. Google Workspace, Microsoft
 * 365, Yahoo and the big filtering services host the MX of millions of
 * domains: per-domain limits alone would let a list of 10,000 company domains
 * hit the same Microsoft front ends 10,000 times in parallel.
 */

/** MX host suffixes of well-known mail providers (matched on label boundaries). */
export const MAIL_PROVIDER_SUFFIXES: ReadonlyArray<readonly [suffix: string, provider: string]> =
  Object.freeze([
    ['google.com', 'google'],
    ['googlemail.com', 'google'],
    ['gmail-smtp-in.l.google.com', 'google'],
    ['outlook.com', 'microsoft'],
    ['hotmail.com', 'microsoft'],
    ['microsoft.com', 'microsoft'],
    ['office365.us', 'microsoft'],
    ['yahoodns.net', 'yahoo'],
    ['yahoo.com', 'yahoo'],
    ['aol.com', 'yahoo'],
    ['icloud.com', 'apple'],
    ['me.com', 'apple'],
    ['protonmail.ch', 'proton'],
    ['proton.me', 'proton'],
    ['zoho.com', 'zoho'],
    ['zoho.eu', 'zoho'],
    ['zohomail.com', 'zoho'],
    ['yandex.net', 'yandex'],
    ['yandex.ru', 'yandex'],
    ['mail.ru', 'mailru'],
    ['gmx.net', 'united-internet'],
    ['web.de', 'united-internet'],
    ['kundenserver.de', 'united-internet'],
    ['ionos.com', 'united-internet'],
    ['messagingengine.com', 'fastmail'],
    ['mimecast.com', 'mimecast'],
    ['mimecast.co.za', 'mimecast'],
    ['pphosted.com', 'proofpoint'],
    ['ppe-hosted.com', 'proofpoint'],
    ['barracudanetworks.com', 'barracuda'],
    ['secureserver.net', 'godaddy'],
    ['ovh.net', 'ovh'],
    ['qq.com', 'tencent'],
    ['163.com', 'netease'],
    ['126.com', 'netease'],
    ['naver.com', 'naver'],
    ['amazonaws.com', 'amazon'],
  ]);

// Second-level labels that sit under a country code (example.co.uk): the
// registrable name is then three labels long.
const SHORT_SLD = new Set(['co', 'com', 'net', 'org', 'ac', 'gov', 'edu', 'ne', 'or']);

/**
 * The provider key of an MX host: a known provider name, or `mx:` plus the
 * host's registrable-looking domain (so mx1.acme.com and mx2.acme.com share one
 * budget). Lower-cases and drops a trailing dot.
 */
export function mailProviderOf(mxHost: string): string {
  let h = mxHost.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  for (const [suffix, provider] of MAIL_PROVIDER_SUFFIXES) {
    if (h === suffix || (h.endsWith(suffix) && h.charCodeAt(h.length - suffix.length - 1) === 46))
      return provider;
  }
  const labels = h.split('.');
  if (labels.length <= 2) return `mx:${h}`;
  const take =
    labels.length >= 3 &&
    labels[labels.length - 1].length === 2 &&
    SHORT_SLD.has(labels[labels.length - 2])
      ? 3
      : 2;
  return `mx:${labels.slice(-take).join('.')}`;
}
