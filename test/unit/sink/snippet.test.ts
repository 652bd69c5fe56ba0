/**
 * Mailpit's Snippet rule (sink/snippet.ts). The first cases are the ones
 * Mailpit's own test pins (internal/tools/tools_test.go, TestSnippets), given
 * as both the text and the HTML body as that test does.
 */
import assert from 'node:assert/strict';
import { SNIPPET_BYTES, mailpitSnippet } from '../../../sink/snippet.ts';

describe('sink: Mailpit Snippet', () => {
  const long = Array.from({ length: 9 }, () => 'abcdefghijklmnopqrstuvwxyx0123456789').join(' ');
  const mailpitCases: Array<[string, string]> = [
    ['this is a  test', 'this is a test'],
    ['thiS IS a Test :-)', 'thiS IS a Test :-)'],
    ['<h1>This is a test.</h1> ', 'This is a test.'],
    ['this_is-a     test ', 'this_is-a test'],
    ['this_is-a&^%%(*)@ test', 'this_is-a&^%%(*)@ test'],
    ['<h1>Heading</h1><p>Paragraph</p>', 'Heading Paragraph'],
    ['<h1>Heading</h1>\n\t\t<p>Paragraph</p>', 'Heading Paragraph'],
    [
      '<h1>Heading</h1><p>   <a href="https://github.com">linked text</a></p>',
      'Heading linked text',
    ],
    ['<h1>Heading</h3><p>   <a href="https://github.com">linked text.', 'Heading linked text.'],
    [long, `${long.slice(0, SNIPPET_BYTES)}...`],
  ];
  for (const [input, expected] of mailpitCases)
    it(`Mailpit's case ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.equal(mailpitSnippet(input, input), expected);
    });

  it('HTML wins over text; head, title, style, script and comments are not text; entities decoded', () => {
    const html =
      '<html><head><title>T</title><STYLE>p{}</STYLE></head><body><!-- hidden --><p>a&amp;b&nbsp;c&#x263A;&#33;&bogus;</p><script type="x">never()</script>z<br/>y<img src=x>w</body></html>';
    assert.equal(mailpitSnippet('text body', html), 'a&b c\u263a!&bogus; z y w');
  });

  it('inline tags join words; a block end tag separates only when a tag follows it', () => {
    assert.equal(mailpitSnippet(null, 'foo<b>bar</b> <i>baz</i>'), 'foobar baz');
    assert.equal(mailpitSnippet(null, '<p>one</p><p>two</p>'), 'one two');
  });

  it('text: U+FEFF and runs of ASCII whitespace become one space; the ends are trimmed', () => {
    assert.equal(mailpitSnippet('\r\n  hello\ufeff\t\fworld \r\n', null), 'hello world');
    assert.equal(mailpitSnippet('', ''), '');
    assert.equal(mailpitSnippet(null, '   '), '');
  });

  it('the cut is at 200 bytes of UTF-8, backed off to a whole character', () => {
    assert.equal(mailpitSnippet('é'.repeat(101), null), `${'é'.repeat(100)}...`);
    assert.equal(mailpitSnippet(`x${'é'.repeat(100)}`, null), `x${'é'.repeat(99)}...`);
    assert.equal(mailpitSnippet('é'.repeat(100), null), 'é'.repeat(100));
    assert.equal(mailpitSnippet('😀'.repeat(51), null), `${'😀'.repeat(50)}...`);
    // Exactly 200 bytes after trimming: no ellipsis.
    assert.equal(mailpitSnippet(`${'a'.repeat(200)}   `, null), 'a'.repeat(200));
  });

  it('reads only the start of a huge body, and an unclosed script swallows the rest', () => {
    const huge = `<p>${'word '.repeat(5_000_000)}</p>`;
    assert.equal(mailpitSnippet(null, huge).length, SNIPPET_BYTES + 3);
    assert.equal(mailpitSnippet(null, `ok<script>${'<'.repeat(100_000)}`), 'ok');
    assert.equal(mailpitSnippet(null, '<<<a'), '<<');
  });
});

describe('sink: Mailpit Snippet, case by case', () => {
  const a = (n: number) => 'a'.repeat(n);
  /** [what, text body, HTML body, snippet]. */
  const CASES: [string, string | null, string | null, string][] = [
    // Bytes of UTF-8 at the cut
    ['U+0080 is 2 bytes', `${a(199)}\u0080`, null, `${a(199)}...`],
    ['U+0800 is 3 bytes', `${a(198)}\u0800`, null, `${a(198)}...`],
    ['U+07FF is 2 bytes', `${a(198)}\u07ff`, null, `${a(198)}\u07ff`],
    ['U+FF57 is 3 bytes', '\uff57'.repeat(67), null, `${'\uff57'.repeat(66)}...`],
    ['U+10000 is 4 bytes', '\u{10000}'.repeat(51), null, `${'\u{10000}'.repeat(50)}...`],
    ['U+10FC00 is 4 bytes', '\u{10fc00}'.repeat(51), null, `${'\u{10fc00}'.repeat(50)}...`],
    ['a lone high surrogate at the end is 3 bytes', `${a(197)}\ud800`, null, `${a(197)}\ud800`],
    ['a lone low surrogate is 3 bytes', `${a(197)}\udc00`, null, `${a(197)}\udc00`],
    // Characters that are not printable become spaces in HTML, not in text
    ['a control character in HTML', null, 'a\u0001b', 'a b'],
    ['a control character in text', 'a\u0001b', null, 'a\u0001b'],
    [
      'DEL, C1 controls and no-break space in HTML',
      null,
      'a\u007fb\u0080c\u009fd\u00a0e',
      'a b c d e',
    ],
    ['U+00A1 is printable', null, 'a\u00a1b', 'a\u00a1b'],
    [
      'Unicode spaces in HTML',
      null,
      'a\u1680b\u2000c\u200fd\u2028e\u202ff\u205fg\u3000h\u00adi',
      'a b c d e f g h i',
    ],
    [
      'printable neighbours of the Unicode spaces',
      null,
      '\u167f\u1ffe\u2010\u2027\u2030\u205e\u2070\u3001\u00ac\u00ae',
      '\u167f\u1ffe\u2010\u2027\u2030\u205e\u2070\u3001\u00ac\u00ae',
    ],
    // Which body
    ['an HTML body of white space: the text', 'body', '  \r\n', 'body'],
    ['no HTML body, an empty text', '', null, ''],
    // Tags
    ['tag names of any case and letter', null, 'x<A href="u">l</A><Z>i<z>n<BR>k', 'xlin k'],
    ['a br with attributes', null, 'a<br class="x">b', 'a b'],
    ['< not followed by a letter is text', null, 'a<0>b < c', 'a<0>b < c'],
    [
      '< followed by a letter outside ASCII or by _ is text',
      null,
      'a<\u00e9>b<_>c<[>d',
      'a<\u00e9>b<_>c<[>d',
    ],
    ['an end tag without a name', null, 'a</ >b', 'ab'],
    ['a processing instruction and a doctype', null, '<?xml version="1.0"?><!DOCTYPE html>a', 'a'],
    ['an inline end tag followed by a tag', null, '<b>a</b><i>b</i>', 'ab'],
    ['a block end tag followed by text', null, '<p>a</p>b', 'ab'],
    ['a comment holding >', null, '<!-- a > b -->c', 'c'],
    ['empty comments', null, 'a<!-->b<!--->c', 'abc'],
    ['an unclosed comment', null, 'a<!-- never closed', 'a'],
    ['a tag left open', null, 'a<b', 'a'],
    // Elements whose content is skipped
    ['a self-closing script', null, '<script/>a', 'a'],
    ['a self-closing title', null, '<title/>x</title>y', 'xy'],
    ['another end tag inside style', null, '<style>a</b>   .>q</style>z', 'z'],
    [
      'a longer name that starts like the end tag',
      null,
      '<style>a</stylex>b</style0>c</style9>d</style->e</style>f',
      'f',
    ],
    ['an end tag with a space before >', null, '<style>x</style >z', 'z'],
    ['an end tag in capitals', null, '<style>x</STYLE>z', 'z'],
    ['an end tag without >', null, 'a<style>x</style', 'a'],
    // Character references
    ['an entity first', null, '&amp;x', '&x'],
    ['an & inside a tag after the text', null, 'a<b title="&amp;">c', 'ac'],
    ['a name without ;', null, 'x&hellip!', 'x&hellip!'],
    ['a reference of 10 characters', null, '&#x0001F600;', '\u{1f600}'],
    ['a reference of 11 characters', null, '&#x00001F600;', '&#x00001F600;'],
    ['a reference of 9 characters', null, '&#000065;', 'A'],
    ['an upper-case X', null, '&#X41;', 'A'],
    ['no digits', null, '&#;&#x;', '&#;&#x;'],
    ['not digits', null, '&#1a;&#a1;&#xg1;&#x1g;', '&#1a;&#a1;&#xg1;&#x1g;'],
    [
      'NUL, a surrogate and past U+10FFFF: U+FFFD',
      null,
      'a&#0;b&#xD800;c&#xDFFF;d&#x110000;e',
      'a\ufffdb\ufffdc\ufffdd\ufffde',
    ],
    [
      'the last code point and the neighbours of the surrogates',
      null,
      '&#x10FFFF;&#xD7FF;&#xE000;',
      '\u{10ffff}\ud7ff\ue000',
    ],
  ];
  for (const [what, text, html, expected] of CASES)
    it(what, () => {
      assert.equal(mailpitSnippet(text, html), expected);
    });
});
