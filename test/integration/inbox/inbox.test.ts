/**
 * The web inbox in a real Chromium against a real sink (SMTP in, HTTP +
 * WebSocket out): token handling, live arrival and a cut feed that resumes,
 * search and filters, every tab of a message, downloads, delete and clear,
 * keyboard navigation, rules editing with an error, the events timeline and
 * phone width. One browser and one page for the file, used in order.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocketRoute } from 'playwright-core';
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
declare const sessionStorage: { clear(): void };

describe('web inbox in Chromium (integration)', function () {
  this.timeout(60_000);
  let mail: MailSink;
  let b: BrowserHarness;
  const feedSockets: WebSocketRoute[] = [];
  let feedCut = false;

  before(async function () {
    requireBrowser(this);
    mail = await startMailSink({ linkCheckPrivate: true }); // the link check test's site is on loopback
    b = await launchBrowser();
    // The feed goes through Playwright's WebSocket routing so that a test can cut it as a network failure would.
    await b.page.routeWebSocket(/\/api\/events/, (ws) => {
      if (feedCut) {
        void ws.close({ code: 1011, reason: 'cut by the test' });
        return;
      }
      ws.connectToServer();
      feedSockets.push(ws);
    });
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !b) return;
    const file = join(tmpdir(), `ev-inbox-failure-${Date.now()}.png`);
    await b.page.screenshot({ path: file }).catch(() => undefined);
    process.stderr.write(`  screenshot of the failure: ${file}\n`);
  });
  after(async () => {
    await b?.close();
    await mail?.close();
  });

  const page = () => b.page;

  it('without a token shows the token form; a wrong token is refused; the right one opens the inbox and leaves no token in the URL', async () => {
    await page().goto(`${mail.sink.url}/`);
    await page().waitForSelector('form.token-form');
    await page().fill('input[name=token]', 'wrong-token');
    await page().click('form.token-form button[type=submit]');
    await page().waitForSelector('text=That token was refused.');
    await page().fill('input[name=token]', mail.sink.token!);
    await page().click('form.token-form button[type=submit]');
    await page().waitForSelector('.feed-state[data-state=live]');
    // Now the usual way in: the token in the fragment, which the page removes at once.
    await page().goto(inboxUrl(mail.sink));
    await page().waitForFunction(
      () => location.hash === '' && document.querySelector('.feed-state[data-state=live]') !== null,
    );
    assert.equal(new URL(page().url()).hash, '');
    assert.ok(!page().url().includes(mail.sink.token!));
  });

  it('shows mail arriving while the page is open, newest first', async () => {
    await mail.send({
      from: 'alice@example.com',
      to: 'bob@example.com',
      subject: 'First live message',
      text: 'one',
    });
    await page().waitForSelector('.row >> text=First live message');
    await mail.send({
      from: 'carol@example.com',
      to: 'dave@example.com',
      subject: 'Second live message',
      text: 'two',
      html: '<p>two</p>',
    });
    await page().waitForSelector('.row >> text=Second live message');
    const subjects = await page().locator('.row .row-subject').allTextContents();
    assert.deepEqual(subjects.slice(0, 2), ['Second live message', 'First live message']);
  });

  it('says when the feed is cut, and after it resumes shows what arrived meanwhile', async () => {
    feedCut = true;
    for (const ws of feedSockets.splice(0))
      await ws.close({ code: 1011, reason: 'cut by the test' });
    await page().waitForSelector('.feed-state[data-state=reconnecting]');
    assert.match((await page().locator('.feed-state').textContent()) ?? '', /reconnecting/);
    await mail.send({
      from: 'erin@example.com',
      to: 'frank@example.com',
      subject: 'Sent while the feed was down',
      text: 'three',
    });
    assert.equal(await page().locator('text=Sent while the feed was down').count(), 0);
    feedCut = false;
    await page().waitForSelector('.feed-state[data-state=live]', { timeout: 20_000 });
    await page().waitForSelector('.row >> text=Sent while the feed was down');
    await page().waitForSelector('.notice >> text=/resumed after event #\\d+/');
  });

  it('searches by text, from and subject on the sink and filters by event type', async () => {
    await mail.send({
      from: 'zed@example.org',
      to: 'ops@example.com',
      subject: 'Invoice 42',
      text: 'your invoice needle-xyz is attached',
    });
    await page().waitForSelector('.row >> text=Invoice 42');
    await page().fill('input.search', 'needle-xyz');
    await page().waitForFunction(() => document.querySelectorAll('.row').length === 1);
    assert.equal(await page().locator('.row .row-subject').textContent(), 'Invoice 42');
    await page().fill('input.search', 'from:carol@');
    await page().waitForFunction(
      () =>
        document.querySelectorAll('.row').length === 1 &&
        document.querySelector('.row .row-subject')?.textContent === 'Second live message',
    );
    await page().fill('input.search', 'subject:nothing-like-this');
    await page().waitForSelector('.list .empty');
    await page().fill('input.search', '');
    await page().waitForFunction(() => document.querySelectorAll('.row').length === 4);
    // A deferral (built-in convention: a recipient starting with defer gets 451 on its first attempt).
    await assert.rejects(
      mail.send({
        from: 'app@example.com',
        to: 'defer-me@example.com',
        subject: 'deferred one',
        text: 'x',
      }),
    );
    await page().waitForSelector('.row-deferred');
    await page().click('button[data-verdict=deferred]');
    await page().waitForFunction(
      () =>
        document.querySelectorAll('.row').length === 1 &&
        document.querySelector('.row')!.classList.contains('row-deferred'),
    );
    await page().click('button[data-verdict=received]');
    await page().waitForFunction(
      () =>
        document.querySelectorAll('.row').length === 4 &&
        document.querySelectorAll('.row-deferred').length === 0,
    );
    await page().click('button[data-verdict=all]');
  });

  it('opens a message: every tab shows its part, the source and each attachment download', async () => {
    await mail.send({
      from: '"Shop" <shop@example.com>',
      to: 'buyer@example.com',
      subject: 'Your receipt',
      text: 'Thanks for your order. https://shop.example.com/orders/1',
      html: '<h1>Receipt</h1><p>Thanks for your <a href="https://shop.example.com/orders/1">order</a>.</p>',
      headers: {
        'List-Unsubscribe': '<https://shop.example.com/u/1>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      attachments: [
        { filename: 'receipt.pdf', content: Buffer.from('%PDF-1.4 fake receipt') },
        { filename: 'notes.txt', content: 'line one' },
      ],
    });
    await page().waitForSelector('.row >> text=Your receipt');
    await page().waitForSelector('.row:has-text("Your receipt") .attach');
    await page().click('.row >> text=Your receipt');
    await page().waitForSelector('.message h2.subject >> text=Your receipt');
    // HTML: the sandboxed frame shows the mail's HTML.
    const frame = page().frameLocator('iframe.html-frame');
    await frame.locator('h1').waitFor();
    assert.equal(await frame.locator('h1').textContent(), 'Receipt');
    assert.equal(await page().locator('iframe.html-frame').getAttribute('sandbox'), '');
    for (const width of ['tablet', 'phone'] as const) {
      await page().click(`button[data-width=${width}]`);
      const px = await page()
        .locator('iframe.html-frame')
        .evaluate((el) => (el as unknown as PageElement).getBoundingClientRect().width);
      assert.equal(Math.round(px), width === 'tablet' ? 768 : 375);
    }
    await page().click('button[data-tab=text]');
    assert.match(
      (await page().locator('pre.text-body').textContent()) ?? '',
      /Thanks for your order/,
    );
    await page().click('button[data-tab=source]');
    await page().waitForSelector('pre.source >> text=/List-Unsubscribe-Post/');
    const emlDownload = page().waitForEvent('download');
    await page().click('.tab-body button >> text=Download .eml');
    const eml = await emlDownload;
    assert.match(eml.suggestedFilename(), /\.eml$/);
    assert.match(await readFile(await eml.path(), 'utf8'), /Subject: Your receipt/);
    await page().click('button[data-tab=headers]');
    await page().waitForSelector('table.headers th >> text=list-unsubscribe-post');
    await page().click('button[data-tab=parts]');
    assert.equal(await page().locator('tr.attachment-row').count(), 2);
    const pdf = page().waitForEvent('download');
    await page().click('button[data-attachment="0"]');
    const pdfDownload = await pdf;
    assert.equal(pdfDownload.suggestedFilename(), 'receipt.pdf');
    assert.equal(await readFile(await pdfDownload.path(), 'utf8'), '%PDF-1.4 fake receipt');
    await page().click('button[data-tab=links]');
    await page().waitForSelector('td.link-url >> text=https://shop.example.com/orders/1');
    await page().click('button[data-tab=analysis]');
    await page().waitForSelector('.analysis >> text=RFC 8058 one-click');
    assert.match(
      (await page().locator('.analysis').textContent()) ?? '',
      /yes \(List-Unsubscribe-Post with an https URI\)/,
    );
    await page().waitForSelector('.analysis h3 >> text=/Spam signals: score/');
  });

  it('moves with j/k, opens with Enter, searches with /, deletes with Delete', async () => {
    await page().keyboard.press('Escape');
    await page().waitForSelector('.message-pane >> text=Select a message.');
    await page().click('button[data-verdict=received]');
    await page().waitForFunction(() => document.querySelector('.row-deferred') === null);
    const subjects = await page().locator('.row .row-subject').allTextContents();
    const start = subjects.indexOf(
      (await page().locator('.row.selected .row-subject').textContent()) ?? '',
    );
    assert.ok(
      start >= 0 && start + 2 < subjects.length,
      'a row is selected and two more follow it',
    );
    const selectedIs = (subject: string) =>
      page().waitForSelector(`.row.selected .row-subject >> text=${JSON.stringify(subject)}`);
    await page().keyboard.press('j');
    await selectedIs(subjects[start + 1]);
    await page().keyboard.press('j');
    await selectedIs(subjects[start + 2]);
    await page().keyboard.press('k');
    await selectedIs(subjects[start + 1]);
    await page().keyboard.press('Enter');
    await page().waitForSelector(
      `.message h2.subject >> text=${JSON.stringify(subjects[start + 1])}`,
    );
    await page().keyboard.press('Delete');
    await page().waitForFunction(
      (n) => document.querySelectorAll('.row').length === n - 1,
      subjects.length,
    );
    assert.deepEqual(
      await page().locator('.row .row-subject').allTextContents(),
      subjects.filter((_, i) => i !== start + 1),
    );
    await page().keyboard.press('/');
    assert.equal(
      await page().evaluate(() => document.activeElement?.classList.contains('search')),
      true,
    );
    await page().keyboard.press('Escape');
    await page().click('button[data-verdict=all]');
  });

  it('shows the events timeline: received, deferred with stage, code and rule, async bounces with their DSN, deletions', async () => {
    await mail.send({
      from: 'app@example.com',
      to: 'asyncbounce-1@example.com',
      subject: 'will bounce later',
      text: 'x',
    });
    await page().click('button[data-view=events]');
    await page().waitForSelector('.event[data-type="message.bounced"]');
    const deferred = page().locator('.event[data-type="message.deferred"]').first();
    assert.match((await deferred.textContent()) ?? '', /451.*stage rcpt.*rule builtin:defer/s);
    const bounced = page().locator('.event[data-type="message.bounced"]').first();
    assert.match((await bounced.textContent()) ?? '', /asyncbounce-1@example\.com/);
    assert.equal(await page().locator('.event[data-type="message.deleted"]').count(), 1);
    await bounced.locator('button >> text=/^DSN to/').click();
    await page().waitForSelector(
      '.message h2.subject >> text=/Undelivered|Delivery Status|failure/i',
    );
  });

  it("edits the rules: an invalid file shows the sink's error with its line; a valid one is saved", async () => {
    await page().click('button[data-view=rules]');
    await page().waitForSelector('textarea.rules-editor');
    await page().fill(
      'textarea.rules-editor',
      'rules:\n  - name: broken\n    match: { recipient: "x@example.com" }\n    explode: true\n',
    );
    await page().click('button >> text=Save rules');
    await page().waitForSelector('.rules-error');
    const text = (await page().locator('.rules-error').textContent()) ?? '';
    assert.match(text, /EV_ERR_RULES_INVALID/);
    assert.match(text, /:\d+/); // file:line as the CLI shows it
    await page().fill(
      'textarea.rules-editor',
      'rules:\n  - name: gone\n    match: { recipient: "gone@example.com" }\n    bounce: { status: 5.1.1 }\n',
    );
    await page().click('button >> text=Save rules');
    await page().waitForSelector('.rules .ok >> text=/saved: 1 rule in force/');
  });

  it('clears everything after a confirmation', async () => {
    await page().click('button[data-view=inbox]');
    await page().waitForSelector('.row');
    await page().click('button[data-action=clear]');
    await page().click('button[data-confirm=clear]');
    await page().waitForFunction(() => document.querySelectorAll('.row-message').length === 0);
    const res = await fetch(`${mail.sink.url}/api/messages`, {
      headers: { authorization: `Bearer ${mail.sink.token}` },
    });
    assert.equal(((await res.json()) as { total: number }).total, 0);
  });

  it('works at phone width: the list, then one message full screen with a way back', async () => {
    await page().setViewportSize({ width: 375, height: 740 });
    await mail.send({
      from: 'mobile@example.com',
      to: 'me@example.com',
      subject: 'Read me on a phone',
      text: 'small screen',
      html: '<p>small screen</p>',
    });
    await page().waitForSelector('.row >> text=Read me on a phone');
    assert.equal(await page().locator('.message-pane').isVisible(), false);
    await page().click('.row >> text=Read me on a phone');
    await page().waitForSelector('.message h2.subject >> text=Read me on a phone');
    assert.equal(await page().locator('.list-pane').isVisible(), false);
    const overflow = await page().evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await page().click('.message-bar .back');
    await page().waitForSelector('.list-pane');
    assert.equal(await page().locator('.list-pane').isVisible(), true);
    await page().setViewportSize({ width: 1280, height: 800 });
  });

  it('a --no-auth sink opens directly, without the token form', async () => {
    const open = await startMailSink({ noAuth: true });
    try {
      await page().evaluate(() => sessionStorage.clear());
      await page().goto(`${open.sink.url}/`);
      await page().waitForSelector('.feed-state[data-state=live]');
      assert.equal(await page().locator('form.token-form').count(), 0);
      await open.send({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'open sink',
        text: 'x',
      });
      await page().waitForSelector('.row >> text=open sink');
    } finally {
      await open.close();
    }
  });

  it('after a cut longer than the sink retains, says how many events were lost and reloads the inbox', async () => {
    const small = await startMailSink({ noAuth: true, eventWindow: 100 });
    try {
      await page().goto(`${small.sink.url}/`);
      await page().waitForSelector('.feed-state[data-state=live]');
      feedCut = true;
      for (const ws of feedSockets.splice(0))
        await ws.close({ code: 1011, reason: 'cut by the test' });
      await page().waitForSelector('.feed-state[data-state=reconnecting]');
      for (let i = 0; i < 60; i++)
        await small.send({
          from: 'a@example.com',
          to: `many${i}@example.com`,
          subject: `burst ${i}`,
          text: 'x',
        });
      await small.sink.analysisIdle();
      assert.ok(
        small.sink.context.events.oldestSeq > 1,
        'the sink no longer holds the first events',
      );
      feedCut = false;
      await page().waitForSelector('.notice >> text=/\\d+ events were no longer retained/', {
        timeout: 20_000,
      });
      await page().waitForFunction(
        () => document.querySelector('button[data-view=inbox]')?.textContent === 'Inbox (60)',
      );
      await page().waitForSelector('.row >> text="burst 59"');
    } finally {
      await small.close();
    }
  });

  it("when the sink is replaced (a new process on the same address), says so and shows the new sink's mail", async () => {
    const first = await startMailSink({ token: 'restart-token-0123456789' });
    const port = first.sink.httpPort;
    let second: MailSink | undefined;
    try {
      await page().goto(`${first.sink.url}/#token=restart-token-0123456789`);
      await page().waitForSelector('.feed-state[data-state=live]');
      await first.send({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'from the old sink',
        text: 'x',
      });
      await page().waitForSelector('.row >> text=from the old sink');
      await first.close();
      await page().waitForSelector('.feed-state[data-state=reconnecting]');
      second = await startMailSink({ token: 'restart-token-0123456789', httpPort: port });
      await second.send({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'from the new sink',
        text: 'x',
      });
      await page().waitForSelector('.notice >> text=/sink restarted/', { timeout: 20_000 });
      await page().waitForSelector('.row >> text=from the new sink');
      assert.equal(await page().locator('.row >> text=from the old sink').count(), 0);
    } finally {
      await second?.close();
    }
  });

  it('a token a WebSocket subprotocol cannot carry is reported on the page (the list still loads over HTTP)', async () => {
    const odd = await startMailSink({ token: 'slash/and=equals-0123456789' });
    // A page without the test's WebSocket routing: Playwright's routed sockets skip the browser's own checks.
    const plain = await b.context.newPage();
    try {
      await odd.send({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'listed over HTTP',
        text: 'x',
      });
      await plain.goto(
        `${odd.sink.url}/#token=${encodeURIComponent('slash/and=equals-0123456789')}`,
      );
      await plain.waitForSelector('.row >> text=listed over HTTP');
      await plain.waitForSelector(
        '.feed-state[data-state=failed] >> text=/live feed cannot be opened/',
      );
    } finally {
      await plain.close();
      await odd.close();
    }
  });

  it("checks a message's links on request and shows each status", async () => {
    const site = createServer((req, res) => {
      res.writeHead(req.url === '/fine' ? 200 : 404).end();
    }).listen(0, '127.0.0.1');
    await once(site, 'listening');
    const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    try {
      await page().goto(inboxUrl(mail.sink));
      await mail.send({
        from: 'links@example.com',
        to: 'me@example.com',
        subject: 'Links to check',
        text: `ok ${base}/fine broken ${base}/gone`,
      });
      await page().click('.row >> text=Links to check');
      await page().click('button[data-tab=links]');
      await page().waitForSelector(`td.link-url >> text=${base}/gone`);
      await page().click('button >> text=/Check links/');
      await page().waitForSelector('td.link-status .badge >> text=404');
      assert.equal(
        await page()
          .locator('tr:has(td.link-url:text-is("' + base + '/fine")) .badge')
          .textContent(),
        '200',
      );
    } finally {
      site.close();
    }
  });
});
