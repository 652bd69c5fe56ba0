/**
 * Mailpit's `Snippet`: the start of a message's visible text, whitespace
 * collapsed. The rule follows Mailpit's internal/tools/snippets.go (and its
 * html2text for the HTML body):
 *
 * - the HTML body when there is one, else the text body;
 * - HTML: the text nodes, with the content of script, style, head, title,
 *   link, meta and noscript dropped; a block element's end tag followed by
 *   another tag, a `<br>` and an `<img>` separate words; characters that are
 *   not printable (controls, no-break and other Unicode spaces, U+FEFF)
 *   become spaces; entities are decoded;
 * - text: U+FEFF becomes a space;
 * - runs of ASCII whitespace become one space, the ends are trimmed;
 * - longer than SNIPPET_BYTES bytes of UTF-8: cut there and `...` appended.
 *   Mailpit cuts at a byte and may split a character; we back off to the last
 *   whole character.
 *
 * One linear pass that stops once the snippet is full, so a 25 MiB body costs
 * what its first few hundred characters cost. No regular expression.
 */

/** Mailpit's snippet length, in bytes of UTF-8 (snippets.go `limit`). */
export const SNIPPET_BYTES = 200;

/** Elements whose content is not text (Mailpit's html2text `skip`). */
const SKIP_CONTENT = new Set(['script', 'title', 'head', 'link', 'meta', 'style', 'noscript']);
/** End tags after which html2text inserts a space when another tag follows at once. */
const BLOCK = new Set([
  'div',
  'p',
  'td',
  'th',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'ul',
  'ol',
  'li',
  'address',
  'article',
  'aside',
  'blockquote',
  'dl',
  'dt',
  'footer',
  'header',
  'hr',
  'main',
  'nav',
  'pre',
  'table',
  'thead',
  'tfoot',
  'video',
]);
/** Named entities decoded (the common ones in mail); others stay as written. */
const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  copy: '\u00a9',
  reg: '\u00ae',
  trade: '\u2122',
  hellip: '\u2026',
  mdash: '\u2014',
  ndash: '\u2013',
  lsquo: '\u2018',
  rsquo: '\u2019',
  ldquo: '\u201c',
  rdquo: '\u201d',
  bull: '\u2022',
  middot: '\u00b7',
  euro: '\u20ac',
  pound: '\u00a3',
  zwnj: '\u200c',
  zwj: '\u200d',
};
/** Longest entity name looked for after `&`. */
const MAX_ENTITY_CHARS = 10;

/** Collects collapsed text until one character past the limit is known. */
class SnippetWriter {
  #out = '';
  #bytes = 0;
  #pendingSpace = false;
  /** Byte length of #out at each character boundary up to the limit. */
  #cutAt = -1;

  readonly #printableOnly: boolean;

  constructor(printableOnly: boolean) {
    this.#printableOnly = printableOnly;
  }

  /** True once enough is collected to decide the result. */
  get full(): boolean {
    return this.#bytes > SNIPPET_BYTES + 1;
  }

  space(): void {
    if (this.#out !== '') this.#pendingSpace = true;
  }

  write(s: string): void {
    for (let i = 0; i < s.length && !this.full; i++) {
      const c = s.charCodeAt(i);
      if (isAsciiSpace(c) || c === 0xfeff || (this.#printableOnly && !isPrintable(c))) {
        this.space();
        continue;
      }
      if (this.#pendingSpace) {
        this.#push(' ', 1);
        this.#pendingSpace = false;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        this.#push(s.slice(i, i + 2), 4);
        i++;
      } else this.#push(s[i] ?? '', c < 0x80 ? 1 : c < 0x800 ? 2 : 3);
    }
  }

  #push(ch: string, bytes: number): void {
    if (this.#bytes + bytes <= SNIPPET_BYTES) this.#cutAt = this.#out.length + ch.length;
    this.#out += ch;
    this.#bytes += bytes;
  }

  result(): string {
    // Trailing whitespace is never written (it stays pending), so #bytes is the trimmed length.
    if (this.#bytes <= SNIPPET_BYTES) return this.#out;
    return `${this.#out.slice(0, this.#cutAt)}...`;
  }
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
}

/** Go's unicode.IsPrint for the characters mail carries: not a control, format or non-ASCII space character. */
function isPrintable(c: number): boolean {
  if (c < 0x20 || (c >= 0x7f && c <= 0xa0)) return false;
  if (c === 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f)) return false;
  if (c === 0x205f || c === 0x3000 || c === 0xfeff || c === 0xad) return false;
  return true;
}

/** The snippet Mailpit shows for a message with these bodies. */
export function mailpitSnippet(text: string | null, html: string | null): string {
  if (html !== null && html.trim() !== '') {
    const w = new SnippetWriter(true);
    htmlText(html, w);
    return w.result();
  }
  if (text !== null && text !== '') {
    const w = new SnippetWriter(false);
    w.write(text);
    return w.result();
  }
  return '';
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isNameChar(c: number): boolean {
  return isAsciiLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
}

/** Writes the visible text of an HTML document until the writer is full. */
function htmlText(html: string, w: SnippetWriter): void {
  let i = 0;
  const n = html.length;
  while (i < n && !w.full) {
    const lt = html.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) writeDecoded(html, i, textEnd, w);
    if (lt < 0) return;
    i = lt + 1;
    if (html.startsWith('!--', i)) {
      // From i + 1: `<!-->` and `<!--->` are empty comments (HTML's abrupt closing of a comment).
      const end = html.indexOf('-->', i + 1);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const closing = html.charCodeAt(i) === 0x2f; // '/'
    let j = closing ? i + 1 : i;
    const nameStart = j;
    while (j < n && isNameChar(html.charCodeAt(j))) j++;
    const first = html.charCodeAt(i);
    if (!closing && !isAsciiLetter(first) && first !== 0x21 && first !== 0x3f) {
      // '<' not followed by a letter, '/', '!' or '?' is text (`<0>`, `< p>`), as in HTML.
      w.write('<');
      continue;
    }
    const name = html.slice(nameStart, j).toLowerCase();
    const gt = html.indexOf('>', j);
    if (gt < 0) return;
    i = gt + 1;
    if (closing) {
      if (BLOCK.has(name) && html.charCodeAt(i) === 0x3c) w.space();
      continue;
    }
    if (name === 'br' || name === 'img') {
      w.space();
      continue;
    }
    if (SKIP_CONTENT.has(name) && html.charCodeAt(gt - 1) !== 0x2f) i = skipElement(html, i, name);
  }
}

/** Index after the end tag `</name>` (ASCII case-insensitive), or the end of the input. */
function skipElement(html: string, from: number, name: string): number {
  let i = from;
  for (;;) {
    const lt = html.indexOf('</', i);
    if (lt < 0) return html.length;
    const after = lt + 2 + name.length;
    if (html.slice(lt + 2, after).toLowerCase() === name && !isNameChar(html.charCodeAt(after))) {
      const gt = html.indexOf('>', after);
      return gt < 0 ? html.length : gt + 1;
    }
    i = lt + 2;
  }
}

/** Writes html[start, end) with character references decoded. */
function writeDecoded(html: string, start: number, end: number, w: SnippetWriter): void {
  let i = start;
  while (i < end && !w.full) {
    const amp = html.indexOf('&', i);
    if (amp < 0 || amp >= end) {
      w.write(html.slice(i, end));
      return;
    }
    if (amp > i) w.write(html.slice(i, amp));
    const semi = html.indexOf(';', amp + 1);
    const decoded =
      semi > amp && semi < end && semi - amp - 1 <= MAX_ENTITY_CHARS
        ? decodeEntity(html.slice(amp + 1, semi))
        : undefined;
    if (decoded === undefined) {
      w.write('&');
      i = amp + 1;
    } else {
      w.write(decoded);
      i = semi + 1;
    }
  }
}

function decodeEntity(name: string): string | undefined {
  if (name.charCodeAt(0) !== 0x23) return ENTITIES[name]; // not '#'
  const hex = name[1] === 'x' || name[1] === 'X';
  const digits = name.slice(hex ? 2 : 1);
  if (digits === '' || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return undefined;
  const code = parseInt(digits, hex ? 16 : 10);
  return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
    ? String.fromCodePoint(code)
    : '\ufffd';
}
