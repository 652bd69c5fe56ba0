/**
 * Link extraction from the text and HTML bodies: `<a href>` targets and bare
 * URLs, only http(s) links a reader can follow (no mailto:, no images),
 * de-duplicated in order of appearance.
 * Every scan is linear and bounded, so a crafted body cannot stall the sink.
 */

/** Unique links kept per message; a long newsletter has about 100. */
export const MAX_LINKS = 500;
/** Characters of one link kept; browsers cope with ~2 KB URLs and longer ones are abuse. */
export const MAX_LINK_CHARS = 2048;
/** Characters of each body (text, HTML) scanned for links; beyond it a body is abusive, not a newsletter. */
export const MAX_LINK_SCAN_CHARS = 2 * 1024 * 1024;
/** Anchors compared with their visible text (for mismatched-link-text). */
export const MAX_ANCHORS_CHECKED = 500;
/** Characters of an anchor's inner HTML examined for its visible text. */
export const MAX_ANCHOR_TEXT_CHARS = 1000;

export interface LinkScan {
  links: string[];
  /** True when a bound stopped the scan early. */
  truncated: boolean;
  /** Anchors whose visible text is a URL or domain that differs from where the href goes. */
  mismatched: Array<{ href: string; text: string }>;
}

const ENTITY: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

/**
 * The character a numeric character reference's digits stand for, as a browser
 * reads them: every digit counts (leading zeros too), and 0, surrogates and
 * values past U+10FFFF become U+FFFD. Never throws.
 */
export function numericReference(digits: string, hex: boolean): string {
  const code = Number.parseInt(digits, hex ? 16 : 10);
  return Number.isFinite(code) &&
    code > 0 &&
    code <= 0x10ffff &&
    !(code >= 0xd800 && code <= 0xdfff)
    ? String.fromCodePoint(code)
    : '\uFFFD';
}

/** Decodes the handful of entities that appear in href values and link texts. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#[xX][0-9a-fA-F]+|#\d+|[a-zA-Z]{2,8});/g, (whole, ent: string) => {
    if (ent[0] === '#')
      return ent[1] === 'x' || ent[1] === 'X'
        ? numericReference(ent.slice(2), true)
        : numericReference(ent.slice(1), false);
    return ENTITY[ent.toLowerCase()] ?? whole;
  });
}

/** The lower-cased host of an http(s) URL, or null. */
export function hostOf(url: string): string | null {
  const m = /^https?:\/\/(?:[^@/?#\s]*@)?(\[[0-9a-f:.]+\]|[^:/?#\s]+)/i.exec(url);
  return m ? m[1].toLowerCase().replace(/\.$/, '') : null;
}

/** Trailing punctuation that ends a sentence rather than a URL in plain text. */
function trimBareUrl(url: string): string {
  let u = url.replace(/[.,;:!?'"]+$/, '');
  // Keep a closing bracket only when the URL opened one (Wikipedia-style links). No `>`:
  // BARE_URL stops before `<` and `>`.
  while (/[)\]]$/.test(u)) {
    const close = u[u.length - 1];
    const open = close === ')' ? '(' : '[';
    if (u.split(open).length >= u.split(close).length) break;
    u = u.slice(0, -1).replace(/[.,;:!?'"]+$/, '');
  }
  return u;
}

class LinkSet {
  readonly links: string[] = [];
  private readonly seen = new Set<string>();
  truncated = false;
  /** A new link came when {@link MAX_LINKS} were kept: it and the rest are dropped, the scans stop. */
  overflowed = false;

  add(candidate: string): void {
    const url = candidate.trim();
    if (!/^https?:\/\/[^\s/?#]/i.test(url)) return;
    const bounded = url.length > MAX_LINK_CHARS ? url.slice(0, MAX_LINK_CHARS) : url;
    if (this.seen.has(bounded)) return;
    if (this.links.length >= MAX_LINKS) {
      this.truncated = true;
      this.overflowed = true;
      return;
    }
    this.seen.add(bounded);
    this.links.push(bounded);
  }
}

function bounded(s: string, set: LinkSet): string {
  if (s.length > MAX_LINK_SCAN_CHARS) {
    set.truncated = true;
    return s.slice(0, MAX_LINK_SCAN_CHARS);
  }
  return s;
}

/** Bare http(s) URLs in plain text; {1,N} bounds each match so the regex stays linear. */
const BARE_URL = new RegExp(`https?://[^\\s<>"'\`{}|\\\\^]{1,${MAX_LINK_CHARS}}`, 'gi');
/** Start of an anchor tag; the rest of the tag is found with indexOf so hostile `<a<a<a` input stays linear. */
const ANCHOR_START = /<a[\s/]/gi;
/** The href attribute inside one (bounded) tag. */
const HREF_ATTR = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
/** Characters of one tag examined for its href; a real anchor tag is well under 1 KiB of attributes plus its URL. */
export const MAX_TAG_CHARS = 16 * 1024;
/** Anchor text that looks like a URL or a bare domain (what a phishing link displays). */
const DOMAIN_LIKE =
  /^(?:https?:\/\/)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})(?:[/:?#]\S*)?$/i;

/** Removes tags in one linear pass (a `<[^>]*>` regex rescans on every `<` of a tagless run). */
export function stripTags(html: string): string {
  let out = '';
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break; // an unterminated tag swallows the rest, as browsers do
    out += ' ';
    i = gt + 1;
  }
  return out;
}

/** The last two labels of a host: a rough registrable domain, good enough to spot a lie. */
function baseDomain(host: string): string {
  const labels = host.split('.');
  return labels.slice(-2).join('.');
}

/**
 * Extracts links from the plain-text and HTML bodies. HTML contributes `<a
 * href>` targets and bare URLs in its text; the text body contributes bare URLs.
 */
export function extractLinks(text: string | null, html: string | null): LinkScan {
  const set = new LinkSet();
  const mismatched: LinkScan['mismatched'] = [];
  if (html) {
    const h = bounded(html, set);
    ANCHOR_START.lastIndex = 0;
    let m: RegExpExecArray | null;
    let anchors = 0;
    while (!set.overflowed && (m = ANCHOR_START.exec(h)) !== null) {
      const end = h.indexOf('>', m.index);
      if (end < 0) break;
      ANCHOR_START.lastIndex = end + 1;
      if (end - m.index > MAX_TAG_CHARS) continue;
      const attr = HREF_ATTR.exec(h.slice(m.index + 2, end));
      if (!attr) continue;
      const href = decodeEntities(attr[1] ?? attr[2] ?? attr[3] ?? '').trim();
      set.add(href);
      if (anchors >= MAX_ANCHORS_CHECKED || !/^https?:/i.test(href)) continue;
      anchors++;
      const after = h.slice(end + 1, end + 1 + MAX_ANCHOR_TEXT_CHARS);
      const close = after.search(/<\/a\s*>/i);
      if (close < 0) continue;
      const visible = decodeEntities(stripTags(after.slice(0, close)))
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300);
      const shown = DOMAIN_LIKE.exec(visible);
      const target = hostOf(href);
      if (shown && target && baseDomain(shown[1].toLowerCase()) !== baseDomain(target)) {
        mismatched.push({ href: href.slice(0, MAX_LINK_CHARS), text: visible.slice(0, 200) });
      }
    }
    // Bare URLs in the HTML's text (outside tags) too.
    if (!set.overflowed) scanBare(stripTags(h), set, true);
  }
  if (text && !set.overflowed) scanBare(bounded(text, set), set, false);
  return { links: set.links, truncated: set.truncated, mismatched };
}

function scanBare(s: string, set: LinkSet, html: boolean): void {
  BARE_URL.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (!set.overflowed && (m = BARE_URL.exec(s)) !== null) {
    const url = trimBareUrl(m[0]);
    set.add(html ? decodeEntities(url) : url);
  }
}
