/**
 * Renders the screenshots of docs/img/ (the inbox, one message, the events
 * timeline) from a real sink with realistic mail, in Debian's Chromium:
 *   npm run build && node test/integration/inbox/support/screenshots.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inboxUrl, launchBrowser, startMailSink } from './browser.ts';

const out = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'docs',
  'img',
);
mkdirSync(out, { recursive: true });

const app = createServer((req, res) => {
  req.resume();
  res.writeHead(202).end();
}).listen(0, '127.0.0.1');
await new Promise((r) => app.once('listening', r));
const hook = `http://127.0.0.1:${(app.address() as AddressInfo).port}/email-events`;

const mail = await startMailSink({
  rules: `rules:
  - name: mailbox-full
    match: { recipient: "full@*" }
    bounce: { status: 5.2.2, diagnostic: "smtp; 552 5.2.2 Mailbox full" }
  - name: esp-events
    match: { recipient: "*@hooks.example" }
    webhook: { url: "${hook}", format: sendgrid, event: delivered }
  - name: blocked-domain
    match: { recipient: "*@blocked.example" }
    reject: { code: 550, enhanced: 5.7.1, text: "Relay access denied" }
`,
});
const shop = '"Acme Shop" <orders@acme.example>';
const send = (m: Parameters<typeof mail.send>[0]) => mail.send(m).catch(() => undefined);
await send({
  from: '"Acme" <hello@acme.example>',
  to: 'new.user@example.com',
  subject: 'Welcome to Acme, confirm your address',
  text: 'Confirm: https://acme.example/confirm/abc',
  html: '<h2>Welcome!</h2><p>Please <a href="https://acme.example/confirm/abc">confirm your address</a>.</p>',
});
await send({
  from: '"Acme" <security@acme.example>',
  to: 'jane@example.com',
  subject: 'Reset your password',
  text: 'Reset: https://acme.example/reset/123 (valid 1 hour)',
});
await send({
  from: 'app@acme.example',
  to: 'someone@blocked.example',
  subject: 'Should be refused',
  text: 'x',
});
await send({
  from: 'app@acme.example',
  to: 'defer@example.com',
  subject: 'Greylisted once',
  text: 'x',
});
await send({
  from: shop,
  to: 'full@example.com',
  subject: 'Your order #1042 has shipped',
  text: 'Tracking: https://acme.example/t/1042',
});
await send({
  from: shop,
  to: 'events@hooks.example',
  subject: 'Order #1043 confirmed',
  text: 'Thanks!',
});
await send({
  from: shop,
  to: 'jane@example.com',
  subject: 'Receipt for order #1041',
  headers: {
    'List-Unsubscribe': '<https://acme.example/unsub/jane>, <mailto:unsub@acme.example>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
  text: 'Thanks for your order.\n\nTotal: $42.00\nView it online: https://acme.example/orders/1041',
  html: `<div style="font-family:Helvetica,Arial,sans-serif;max-width:560px;margin:auto">
<div style="background:#1f3b73;color:#fff;padding:18px 24px;font-size:20px;font-weight:bold">Acme Shop</div>
<div style="padding:20px 24px;border:1px solid #e3e6ea">
<h2 style="margin-top:0">Thanks for your order, Jane!</h2>
<p>Order <b>#1041</b> is confirmed and will ship within 2 business days.</p>
<table style="width:100%;border-collapse:collapse;margin:16px 0">
<tr><td style="padding:6px 0;border-bottom:1px solid #eee">Espresso beans, 1 kg</td><td style="text-align:right;border-bottom:1px solid #eee">$28.00</td></tr>
<tr><td style="padding:6px 0;border-bottom:1px solid #eee">Ceramic cup</td><td style="text-align:right;border-bottom:1px solid #eee">$14.00</td></tr>
<tr><td style="padding:6px 0"><b>Total</b></td><td style="text-align:right"><b>$42.00</b></td></tr></table>
<p><a style="display:inline-block;background:#1f3b73;color:#fff;padding:10px 18px;border-radius:4px;text-decoration:none" href="https://acme.example/orders/1041">View your order</a></p>
<img src="https://tracker.acme.example/open.gif" width="1" height="1" alt="">
<p style="color:#888;font-size:12px">You get this because you shopped at Acme. <a href="https://acme.example/unsub/jane">Unsubscribe</a>.</p>
</div></div>`,
  attachments: [{ filename: 'invoice-1041.pdf', content: Buffer.from('%PDF-1.4 invoice') }],
});
await send({
  from: '"Acme Newsletter" <news@acme.example>',
  to: 'list@example.com',
  subject: 'FREE SHIPPING THIS WEEKEND!!!',
  text: 'Click here now!!! https://bit.ly/xyz',
});
await mail.sink.analysisIdle();

const b = await launchBrowser({ width: 1280, height: 760 });
const page = b.page;
await page.emulateMedia({ colorScheme: 'light' });
await page.goto(inboxUrl(mail.sink));
await page.waitForSelector('.row >> text=Receipt for order #1041');
await page.waitForSelector('.row:has-text("Receipt for order #1041") .attach');
await page.click('.row >> text=Receipt for order #1041');
await page.keyboard.press('Escape');
await page.screenshot({ path: join(out, 'inbox.png') });
await page.click('.row >> text=Receipt for order #1041');
await page.frameLocator('iframe.html-frame').locator('h2').waitFor();
await page.screenshot({ path: join(out, 'message.png') });
await page.click('button[data-tab=analysis]');
await page.waitForSelector('.analysis');
await page.screenshot({ path: join(out, 'message-analysis.png') });
await page.click('button[data-view=events]');
await page.waitForSelector('.event[data-type="webhook.sent"]');
await page.waitForSelector('.event[data-type="message.bounced"]');
await page.screenshot({ path: join(out, 'events.png') });
await page.emulateMedia({ colorScheme: 'dark' });
await page.setViewportSize({ width: 390, height: 760 });
await page.click('button[data-view=inbox]');
await page.keyboard.press('Escape');
await page.waitForSelector('.row');
await page.screenshot({ path: join(out, 'inbox-phone-dark.png') });
await b.close();
await mail.close();
app.close();
process.stderr.write(`screenshots written to ${out}\n`);
