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
