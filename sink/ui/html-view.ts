/**
 * The HTML part of a captured message, made inert for the inbox's preview.
 *
 * The real defences are the browser's: the preview loads in an iframe with an
 * empty `sandbox` (no scripts, an opaque origin) from a response whose own CSP
 * forbids scripts, frames, forms and (by default) every remote fetch. What CSP
 * cannot stop is done here, in one linear pass over the tags (no regular
 * expression on the mail, no backtracking): `<meta http-equiv>` (a refresh
 * navigates the frame to a remote host) and `<base>` are dropped, `<link>`
 * (prefetch, preconnect, dns-prefetch escape CSP) is dropped unless remote
 * content is on and it is a stylesheet, and `href`/`action` values with a
 * scheme other than http(s), mailto and tel (`javascript:`, `data:`,
 * `vbscript:`, also when hidden by entities or control characters) are
 * replaced by `#blocked`.
 */
import { numericReference } from '../analysis/links.ts';

/** Schemes a link in a preview may keep. */
const SAFE_SCHEMES = ['http:', 'https:', 'mailto:', 'tel:'];
/** Attributes that navigate or submit, checked on every element (SVG's xlink:href included). */
const URL_ATTRIBUTES = new Set(['href', 'xlink:href', 'action', 'formaction']);
/** What a neutralised link points to. */
export const BLOCKED_HREF = '#blocked';
/** Characters of an attribute value decoded to find its scheme; a scheme is short, the rest is irrelevant. */
const SCHEME_PROBE_CHARS = 256;

interface Attribute {
  name: string;
  value: string | null;
}

interface Tag {
  name: string;
  closing: boolean;
  attributes: Attribute[];
  end: number;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Reads the tag starting at `lt` (a `<`), or null when it is not a tag (then `<` is text). */
function readTag(html: string, lt: number): Tag | null {
  let i = lt + 1;
  let closing = false;
  if (html.charCodeAt(i) === 47) {
    closing = true;
    i++;
  }
  if (!isNameStart(html.charCodeAt(i))) return null;
  const nameStart = i;
  while (i < html.length && !isSpace(html.charCodeAt(i)) && html[i] !== '>' && html[i] !== '/') i++;
  const name = html.slice(nameStart, i).toLowerCase();
  const attributes: Attribute[] = [];
  while (i < html.length) {
    const c = html.charCodeAt(i);
    if (c === 62) return { name, closing, attributes, end: i + 1 }; // '>'
    if (isSpace(c) || c === 47) {
      i++;
      continue;
    }
    const attrStart = i;
    while (
      i < html.length &&
      !isSpace(html.charCodeAt(i)) &&
      html[i] !== '=' &&
      html[i] !== '>' &&
      html[i] !== '/'
    )
      i++;
    if (i === attrStart) i++; // a stray character: skip it
    const attrName = html.slice(attrStart, i).toLowerCase();
    let j = i;
    while (j < html.length && isSpace(html.charCodeAt(j))) j++;
    if (html[j] !== '=') {
      attributes.push({ name: attrName, value: null });
      continue;
    }
    j++;
    while (j < html.length && isSpace(html.charCodeAt(j))) j++;
    const quote = html[j];
    let value: string;
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, j + 1);
      const stop = close < 0 ? html.length : close;
      value = html.slice(j + 1, stop);
      i = close < 0 ? html.length : close + 1;
    } else {
      const valueStart = j;
      while (j < html.length && !isSpace(html.charCodeAt(j)) && html[j] !== '>') j++;
      value = html.slice(valueStart, j);
      i = j;
    }
    attributes.push({ name: attrName, value });
  }
  return { name, closing, attributes, end: html.length };
}

const NAMED_ENTITIES: Record<string, string> = {
  colon: ':',
  tab: '\t',
  newline: '\n',
  amp: '&',
  lpar: '(',
  rpar: ')',
};

/**
 * Decodes character references until SCHEME_PROBE_CHARS characters are out,
 * enough to read a scheme. Scans the value itself (not a prefix of it), so a
 * reference padded with zeros is read whole, as the browser reads it.
 */
function decodeProbe(value: string): string {
  let out = '';
  for (let i = 0; i < value.length && out.length < SCHEME_PROBE_CHARS; i++) {
    if (value[i] !== '&') {
      out += value[i];
      continue;
    }
    let decoded: string | undefined;
    let j = i + 1;
    if (value[j] === '#') {
      const hex = value[j + 1] === 'x' || value[j + 1] === 'X';
      j += hex ? 2 : 1;
      const start = j;
      while (j < value.length && (hex ? /[0-9a-fA-F]/ : /[0-9]/).test(value[j])) j++;
      if (j > start) decoded = numericReference(value.slice(start, j), hex);
    } else {
      while (j < value.length && j - i < 12 && /[a-zA-Z0-9]/.test(value[j])) j++;
      decoded = NAMED_ENTITIES[value.slice(i + 1, j).toLowerCase()];
    }
    if (decoded === undefined) {
      out += '&';
      continue;
    }
    out += decoded;
    i = value[j] === ';' ? j : j - 1;
  }
  return out;
}

/** True when a link target is harmless: a safe scheme, a fragment, or a relative reference. */
export function isSafeLink(value: string): boolean {
  let probe = '';
  for (const ch of decodeProbe(value))
    if (ch.charCodeAt(0) > 32 && ch.charCodeAt(0) !== 127) probe += ch;
  probe = probe.toLowerCase();
  const colon = probe.indexOf(':');
  if (colon < 0) return true;
  const firstDelimiter = Math.min(
    ...['/', '?', '#'].map((d) => {
      const k = probe.indexOf(d);
      return k < 0 ? Infinity : k;
    }),
  );
  if (firstDelimiter < colon) return true; // the colon is in a path, query or fragment: relative
  const scheme = probe.slice(0, colon + 1);
  return SAFE_SCHEMES.includes(scheme);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function renderTag(tag: Tag): string {
  const attrs = tag.attributes
    .map((a) => (a.value === null ? ` ${a.name}` : ` ${a.name}="${escapeAttribute(a.value)}"`))
    .join('');
  return `<${tag.closing ? '/' : ''}${tag.name}${attrs}>`;
}

/** The preview's HTML: `html` with the tags and links described above neutralised. */
export function neutraliseHtml(html: string, options: { remote: boolean }): string {
  const out: string[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(html.slice(i));
      break;
    }
    out.push(html.slice(i, lt));
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue; // comments dropped: conditional comments are a parser differential we do not need
    }
    const tag = readTag(html, lt);
    if (tag === null) {
      out.push('&lt;');
      i = lt + 1;
      continue;
    }
    i = tag.end;
    if (tag.name === 'meta' && tag.attributes.some((a) => a.name === 'http-equiv')) continue;
    if (tag.name === 'base') continue;
    if (tag.name === 'link') {
      const rel = tag.attributes
        .find((a) => a.name === 'rel')
        ?.value?.trim()
        .toLowerCase();
      if (!options.remote || rel !== 'stylesheet') continue;
    }
    let changed = false;
    for (const a of tag.attributes) {
      if (a.value !== null && URL_ATTRIBUTES.has(a.name) && !isSafeLink(a.value)) {
        a.value = BLOCKED_HREF;
        changed = true;
      }
    }
    out.push(changed ? renderTag(tag) : html.slice(lt, tag.end));
  }
  return out.join('');
}

/**
 * The CSP of the preview response. No script, frame, object, form or connect
 * source at all; images and fonts from `data:` (mailparser inlines `cid:`
 * parts as data URIs); remote images, styles, fonts and media only when the
 * reader turned remote content on for this message. `sandbox` applies even if
 * the URL is opened outside the inbox's iframe.
 */
export function htmlViewCsp(remote: boolean): string {
  const remoteSrc = remote ? ' http: https:' : '';
  return [
    "default-src 'none'",
    `img-src data:${remoteSrc}`,
    `style-src 'unsafe-inline'${remoteSrc}`,
    `font-src data:${remoteSrc}`,
    `media-src data:${remoteSrc}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    'sandbox',
  ].join('; ');
}
