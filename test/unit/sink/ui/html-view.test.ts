import assert from 'node:assert/strict';
import {
  BLOCKED_HREF,
  htmlViewCsp,
  isSafeLink,
  neutraliseHtml,
} from '../../../../sink/ui/html-view.ts';

const off = { remote: false };

describe('inbox HTML preview: neutraliseHtml', () => {
  it('drops <meta http-equiv> (refresh) and <base>, keeps other meta and the text', () => {
    const out = neutraliseHtml(
      '<head><meta charset="utf-8"><META HTTP-EQUIV="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/"></head><p>hi</p>',
      off,
    );
    assert.equal(out, '<head><meta charset="utf-8"></head><p>hi</p>');
  });

  it('drops <link> unless remote content is on and it is a stylesheet', () => {
    const html =
      '<link rel="stylesheet" href="https://x.example/a.css"><link rel="prefetch" href="https://x.example/p"><link rel=dns-prefetch href="//x.example">';
    assert.equal(neutraliseHtml(html, off), '');
    assert.equal(
      neutraliseHtml(html, { remote: true }),
      '<link rel="stylesheet" href="https://x.example/a.css">',
    );
  });

  it('neutralises javascript:, data: and vbscript: targets, also hidden by entities, case or whitespace', () => {
    const cases = [
      '<a href="javascript:alert(1)">',
      "<a href='JaVaScRiPt:alert(1)'>",
      '<a href=" java\tscript:alert(1)">',
      '<a href="&#106;avascript:alert(1)">',
      '<a href="&#x6A;avascript&colon;alert(1)">',
      '<a href=javascript:alert(1)>',
      '<a href="data:text/html,<script>alert(1)</script>">',
      '<a href="vbscript:msgbox">',
      '<svg><a xlink:href="javascript:alert(1)">',
      '<form action="javascript:alert(1)">',
      '<button formaction="data:x">',
    ];
    for (const html of cases) {
      const out = neutraliseHtml(html, off);
      assert.ok(out.includes(`"${BLOCKED_HREF}"`), `${html} -> ${out}`);
      assert.ok(!/script:|data:/i.test(out), `${html} -> ${out}`);
    }
  });

  it('keeps http(s), mailto, tel, fragments and relative links as they were', () => {
    const html =
      '<a href="https://example.com/a?b=c:d">x</a><a href="mailto:a@b">m</a><a href="tel:+1">t</a><a href="#top">f</a><a href="/x:y">r</a>';
    assert.equal(neutraliseHtml(html, off), html);
  });

  it('treats a lone < as text and strips comments (conditional comments included)', () => {
    assert.equal(
      neutraliseHtml(
        '1 < 2 <!--[if mso]><meta http-equiv="refresh" content="0"><![endif]--> ok',
        off,
      ),
      '1 &lt; 2  ok',
    );
  });

  it('is linear on hostile input (a long attribute, an unterminated quote, many tags)', () => {
    const big = `<a href="${'j'.repeat(2_000_000)}`;
    const many = '<a href=javascript:x>'.repeat(100_000);
    assert.equal(neutraliseHtml(big, off), big);
    const out = neutraliseHtml(many, off);
    assert.equal(out.split(BLOCKED_HREF).length - 1, 100_000);
  });

  it('isSafeLink: schemes in paths are relative', () => {
    assert.equal(isSafeLink('folder/javascript:x'), true);
    assert.equal(isSafeLink('?q=javascript:x'), true);
    assert.equal(isSafeLink('javascript&#58;x'), false);
  });

  it('isSafeLink: references padded with zeros are read whole; out-of-range ones never throw', () => {
    assert.equal(isSafeLink('javascript&#0000000000058;alert(1)'), false);
    assert.equal(isSafeLink(`javascript&#x${'0'.repeat(300)}3a;alert(1)`), false);
    assert.equal(isSafeLink(`${'&#0;'.repeat(10)}javascript&#58;x`), false);
    assert.equal(isSafeLink('&#99999999;x/y'), true);
    assert.equal(isSafeLink('&#x110000;x'), true);
    assert.equal(
      neutraliseHtml(
        '<a href="javascript&#0000000000058;alert(1)">x</a><a href="&#99999999;">y</a>',
        { remote: false },
      ),
      '<a href="#blocked">x</a><a href="&#99999999;">y</a>',
    );
  });

  it('the CSP forbids scripts and remote content by default, allows remote images/styles/fonts only when asked', () => {
    const csp = htmlViewCsp(false);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src|https:/);
    assert.match(csp, /sandbox/);
    assert.match(csp, /form-action 'none'/);
    const remote = htmlViewCsp(true);
    assert.match(remote, /img-src data: http: https:/);
    assert.doesNotMatch(remote, /script-src/);
  });
});
