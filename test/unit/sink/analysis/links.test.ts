/**
 * Link extraction at its edges: numeric references, bare-URL trimming with brackets, the link,
 * tag, anchor and scan bounds, entity-decoded hrefs and anchor texts, and the visible-text
 * comparison that flags a link whose text names another domain.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  decodeEntities,
  extractLinks,
  hostOf,
  MAX_ANCHORS_CHECKED,
  MAX_LINK_CHARS,
  MAX_LINK_SCAN_CHARS,
  MAX_LINKS,
  MAX_TAG_CHARS,
  numericReference,
  stripTags,
} from '../../../../sink/analysis/links.ts';

describe('sink/analysis/links: references and hosts', () => {
  it('numeric references: valid code points, and U+FFFD for 0, surrogates and beyond U+10FFFF', () => {
    assert.equal(numericReference('65', false), 'A');
    assert.equal(numericReference('1', false), '\u0001');
    assert.equal(numericReference('10FFFF', true), '\u{10FFFF}');
    assert.equal(numericReference('110000', true), '\uFFFD');
    assert.equal(numericReference('0', false), '\uFFFD');
    assert.equal(numericReference('D7FF', true), '\uD7FF');
    assert.equal(numericReference('D800', true), '\uFFFD');
    assert.equal(numericReference('DFFF', true), '\uFFFD');
    assert.equal(numericReference('E000', true), '\uE000');
    assert.equal(numericReference('9'.repeat(400), false), '\uFFFD');
  });

  it('decodes named, decimal and hex (x or X) references, and leaves unknown names', () => {
    assert.equal(decodeEntities('&AMP;&lt;&#65;&#x42;&#X43;&nbsp;&bogus;&a;'), '&<ABC &bogus;&a;');
  });

  it('hostOf: http(s) only, user info skipped, IPv6 in brackets, final dot dropped', () => {
    assert.equal(hostOf('HTTPS://User:pw@Example.COM./x'), 'example.com');
    assert.equal(hostOf('http://[2001:DB8::1]:8080/'), '[2001:db8::1]');
    assert.equal(hostOf('ftp://example.com/'), null);
    assert.equal(hostOf('see https://example.com/'), null);
  });
});

describe('sink/analysis/links: bare URLs in text', () => {
  const links = (text: string) => extractLinks(text, null).links;

  it('drops trailing sentence punctuation and unbalanced closing brackets', () => {
    assert.deepEqual(links('Go to https://example.com/a.'), ['https://example.com/a']);
    assert.deepEqual(links('(see https://example.com/a),'), ['https://example.com/a']);
    assert.deepEqual(links('[https://example.com/b]'), ['https://example.com/b']);
    assert.deepEqual(links('<https://example.com/c>'), ['https://example.com/c']);
    assert.deepEqual(links('"https://example.com/d"!?'), ['https://example.com/d']);
    assert.deepEqual(links('https://example.com/e).'), ['https://example.com/e']);
    // A run of punctuation, before and after the dropped bracket.
    assert.deepEqual(links('https://example.com/f..,'), ['https://example.com/f']);
    assert.deepEqual(links('(see https://example.com/g.,)'), ['https://example.com/g']);
  });

  it('keeps brackets the URL opened', () => {
    assert.deepEqual(links('https://en.example.org/wiki/A_(b)'), [
      'https://en.example.org/wiki/A_(b)',
    ]);
    assert.deepEqual(links('https://example.com/x[1]'), ['https://example.com/x[1]']);
    // Only a bracket at the very end is looked at.
    assert.deepEqual(links('https://example.com/(a)b'), ['https://example.com/(a)b']);
    assert.deepEqual(links('(https://en.example.org/wiki/A_(b))'), [
      'https://en.example.org/wiki/A_(b)',
    ]);
  });

  it('needs a host after the scheme, and keeps each link once', () => {
    assert.deepEqual(links('http:// https://?x https://a.example https://a.example'), [
      'https://a.example',
    ]);
  });

  it(`cuts a link at ${MAX_LINK_CHARS} characters`, () => {
    const url = `https://example.com/${'x'.repeat(MAX_LINK_CHARS)}`;
    assert.deepEqual(
      links(url).map((l) => l.length),
      [MAX_LINK_CHARS],
    );
  });

  it(`keeps ${MAX_LINKS} links and marks the scan truncated only when there were more`, () => {
    const list = (n: number) =>
      Array.from({ length: n }, (_, i) => `https://example.com/${i}`).join(' ');
    const exact = extractLinks(list(MAX_LINKS), null);
    assert.deepEqual([exact.links.length, exact.truncated], [MAX_LINKS, false]);
    const over = extractLinks(list(MAX_LINKS + 1), null);
    assert.deepEqual([over.links.length, over.truncated], [MAX_LINKS, true]);
    const html = extractLinks(null, list(MAX_LINKS + 1));
    assert.deepEqual([html.links.length, html.truncated], [MAX_LINKS, true]);
  });

  it(`scans ${MAX_LINK_SCAN_CHARS} characters of a body`, () => {
    const pad = ' '.repeat(MAX_LINK_SCAN_CHARS - 'https://a.example'.length);
    const at = extractLinks(`${pad}https://a.example`, null);
    assert.deepEqual([at.links, at.truncated], [['https://a.example'], false]);
    // One character more: the last one is not scanned.
    const over = extractLinks(`${pad} https://a.example`, null);
    assert.deepEqual([over.links, over.truncated], [['https://a.exampl'], true]);
  });
});

describe('sink/analysis/links: anchors', () => {
  it('reads href in double, single or no quotes, entity-decoded, and ignores other schemes', () => {
    const r = extractLinks(
      null,
      `<a href="https://a.example/?x=1&amp;y=2">1</a><A HREF='https://b.example'>2</A><a\thref=https://c.example>3</a><a href="mailto:x@y">4</a><abbr href="https://d.example">5</abbr><a name="x">6</a>`,
    );
    assert.deepEqual(r.links, [
      'https://a.example/?x=1&y=2',
      'https://b.example',
      'https://c.example',
    ]);
  });

  it('flags a visible domain that differs from the target, by base domain', () => {
    const r = extractLinks(
      null,
      [
        '<a href="https://evil.example/login">www.bank.example</a>',
        '<a href="https://login.bank.example/x">https://www.bank.example/</a>',
        '<a href="https://t.example/x"><b>Pay</b> now</a>',
        '<a href="https://x.example">&#98;ank.example</a >',
        '<a href="https://y.example">  other.example  </a>',
      ].join(' '),
    );
    assert.deepEqual(r.mismatched, [
      { href: 'https://evil.example/login', text: 'www.bank.example' },
      { href: 'https://x.example', text: 'bank.example' },
      { href: 'https://y.example', text: 'other.example' },
    ]);
  });

  it('skips a tag longer than MAX_TAG_CHARS and an anchor without a closing tag', () => {
    const long = `<a data-x="${'y'.repeat(MAX_TAG_CHARS)}" href="https://long.example">x</a>`;
    assert.deepEqual(extractLinks(null, long).links, []);
    const open = extractLinks(null, '<a href="https://a.example">other.example');
    assert.deepEqual([open.links, open.mismatched], [['https://a.example'], []]);
    assert.deepEqual(extractLinks(null, '<a href="https://a.example"').links, []);
  });

  it(`compares at most ${MAX_ANCHORS_CHECKED} anchors with their text; later ones still count as links`, () => {
    const anchors = Array.from(
      { length: MAX_ANCHORS_CHECKED + 1 },
      (_, i) => `<a href="https://t${i}.example">shown${i}.example</a>`,
    ).join('');
    const r = extractLinks(null, anchors);
    assert.equal(r.mismatched.length, MAX_ANCHORS_CHECKED);
    assert.equal(r.links.length, MAX_LINKS);
    // A mailto anchor does not use up a comparison.
    const withMail = `<a href="mailto:a@b">x.example</a>${anchors}`;
    assert.equal(extractLinks(null, withMail).mismatched.length, MAX_ANCHORS_CHECKED);
  });

  it('bare URLs in the HTML text are entity-decoded; tags are not read as text', () => {
    const r = extractLinks(
      null,
      '<p>See https://a.example/?a=1&amp;b=2 <img src="https://img.example/x"></p>',
    );
    assert.deepEqual(r.links, ['https://a.example/?a=1&b=2']);
  });
});

describe('sink/analysis/links: more edges', () => {
  it('stripTags puts a blank for each tag, keeps the text after the last one, drops an open tag', () => {
    assert.equal(stripTags('a<b>c</b>d'), 'a c d');
    assert.equal(stripTags('plain'), 'plain');
    assert.equal(stripTags('a<b'), 'a');
  });

  it('an href is a link only when it starts with http(s)://', () => {
    const r = extractLinks(
      null,
      '<a href="javascript:go(\'https://a.example\')">x</a><a href="see https://b.example">y</a>',
    );
    assert.deepEqual(r.links, []);
  });

  it('the text body is not entity-decoded (only HTML is)', () => {
    assert.deepEqual(extractLinks('https://a.example/?a=1&amp;b=2', null).links, [
      'https://a.example/?a=1&amp;b=2',
    ]);
  });

  it(`reads a tag of exactly ${MAX_TAG_CHARS} characters`, () => {
    const head = '<a href="https://edge.example" data-x="';
    const tag = `${head}${'y'.repeat(MAX_TAG_CHARS - head.length - 1)}">`;
    assert.equal(tag.length - 1, MAX_TAG_CHARS);
    assert.deepEqual(extractLinks(null, `${tag}x</a>`).links, ['https://edge.example']);
  });

  it('compares base domains label by label, not as joined text', () => {
    const r = extractLinks(null, '<a href="https://a.bcd">ab.cd</a>');
    assert.deepEqual(r.mismatched, [{ href: 'https://a.bcd', text: 'ab.cd' }]);
  });

  it('an href with blanks around it is still compared with its text', () => {
    const r = extractLinks(null, '<a href=" https://evil.example ">bank.example</a>');
    assert.deepEqual(r.mismatched, [{ href: 'https://evil.example', text: 'bank.example' }]);
  });

  it('blanks inside the visible text are kept, so it is no domain', () => {
    assert.deepEqual(
      extractLinks(null, '<a href="https://evil.example">bank. example</a>').mismatched,
      [],
    );
  });

  it('reads 1000 characters of an anchor text, its closing tag included', () => {
    const text = (n: number) => `${' '.repeat(n - 'other.example</a>'.length)}other.example</a>`;
    const at = extractLinks(null, `<a href="https://t.example">${text(1000)}`);
    assert.deepEqual(at.mismatched, [{ href: 'https://t.example', text: 'other.example' }]);
    const over = extractLinks(null, `<a href="https://t.example">${text(1001)}`);
    assert.deepEqual(over.mismatched, []);
  });

  it('compares the first 300 characters of the visible text and reports 200 of them', () => {
    const shown = `bank.example/${'a'.repeat(290)} b`;
    const r = extractLinks(null, `<a href="https://evil.example">${shown}</a>`);
    assert.deepEqual(r.mismatched, [{ href: 'https://evil.example', text: shown.slice(0, 200) }]);
    const long = `https://evil.example/${'x'.repeat(3000)}`;
    const cut = extractLinks(null, `<a href="${long}">bank.example</a>`);
    assert.deepEqual(cut.mismatched, [
      { href: long.slice(0, MAX_LINK_CHARS), text: 'bank.example' },
    ]);
  });

  it(`compares ${MAX_ANCHORS_CHECKED} anchors even when they repeat a link, and only http(s) ones count`, () => {
    const same = Array.from(
      { length: MAX_ANCHORS_CHECKED + 1 },
      () => '<a href="https://t.example">shown.example</a>',
    ).join('');
    const r = extractLinks(null, same);
    assert.deepEqual([r.links, r.mismatched.length], [['https://t.example'], MAX_ANCHORS_CHECKED]);
    const script = '<a href="javascript:https://t.example">shown.example</a>';
    assert.equal(extractLinks(null, `${script}${same}`).mismatched.length, MAX_ANCHORS_CHECKED);
  });

  it(`a link past the first ${MAX_LINKS} marks the scan truncated, wherever it is (fixed: anchors and the text body did not)`, () => {
    const anchors = (n: number) =>
      Array.from({ length: n }, (_, i) => `<a href="https://t${i}.example">x</a>`).join('');
    assert.equal(extractLinks(null, anchors(MAX_LINKS + 1)).truncated, true);
    assert.equal(extractLinks(null, anchors(MAX_LINKS)).truncated, false);
    const full = anchors(MAX_LINKS);
    assert.equal(extractLinks(null, `${full} https://new.example`).truncated, true);
    assert.equal(extractLinks('https://new.example', full).truncated, true);
    // Links already kept are nothing lost.
    const again = extractLinks(
      'https://t0.example https://t499.example',
      `${full} https://t1.example`,
    );
    assert.deepEqual([again.links.length, again.truncated], [MAX_LINKS, false]);
  });
});
