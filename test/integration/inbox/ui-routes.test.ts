/**
 * The inbox's HTTP routes on a real sink (no browser): the page's security
 * headers, long-cache asset names, the preview's capability and CSP, the
 * inbox list's verdicts, the event history, the link check, and a --no-auth
 * sink that opens directly.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import type { EventHistory, HtmlViewLink, InboxPage, LinkCheck } from '../../../src/protocol.ts';

describe('web inbox routes on a real sink (integration)', function () {
  this.timeout(30_000);
  let sink: RunningSink;
  let site: Server;
  let siteUrl: string;
  let siteRequests = 0;
  const auth = () => ({ authorization: `Bearer ${sink.token}` });

  before(async () => {
    sink = await startSink({ logger: silentLogger, linkCheckPrivate: true });
    site = createServer((req, res) => {
      siteRequests++;
      res.writeHead(req.url === '/ok' ? 200 : 404).end();
    }).listen(0, '127.0.0.1');
    await new Promise((r) => site.once('listening', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: sink.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    await t.sendMail({
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'with attachment',
      text: `see ${siteUrl}/ok and ${siteUrl}/missing`,
      attachments: [{ filename: 'a.txt', content: 'x' }],
    });
    await t.sendMail({
      from: 'a@example.com',
      to: 'c@example.com',
      subject: 'plain',
      html: '<p>hi <a href="javascript:alert(1)">x</a></p>',
    });
    await t
      .sendMail({ from: 'a@example.com', to: 'bounce@example.com', subject: 'refused', text: 'x' })
      .catch(() => undefined);
    await sink.analysisIdle();
  });
  after(async () => {
    site?.close();
    await sink?.stop();
  });

  it('serves the page without a token, with a strict CSP, nosniff, no-referrer and frame-ancestors none', async () => {
    const res = await fetch(`${sink.url}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const html = await res.text();
    assert.doesNotMatch(html, /<script>|<style>|style=/, 'no inline script or style');
    for (const asset of html.matchAll(/(?:src|href)="(ui\/[^"]+)"/g)) {
      const a = await fetch(`${sink.url}/${asset[1]}`);
      assert.equal(a.status, 200);
      assert.equal(a.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(a.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    }
    assert.equal((await fetch(`${sink.url}/ui/app-NOPE.js`)).status, 404);
  });

  it('keeps the API behind the token', async () => {
    assert.equal((await fetch(`${sink.url}/api/ui/inbox`)).status, 401);
    assert.equal((await fetch(`${sink.url}/api/ui/events`)).status, 401);
  });

  it('lists the inbox with verdicts and the feed position; events history without the analyses', async () => {
    const page = (await (
      await fetch(`${sink.url}/api/ui/inbox?limit=10`, { headers: auth() })
    ).json()) as InboxPage;
    assert.equal(page.total, 2);
    assert.equal(page.lastSeq, sink.context.events.lastSeq);
    const [plain, withAttachment] = page.items;
    assert.equal(plain.subject, 'plain');
    assert.equal(plain.attachments, false);
    assert.equal(withAttachment.attachments, true);
    assert.equal(withAttachment.dkim, 'none');
    assert.equal(typeof withAttachment.spamScore, 'number');
    const byIds = (await (
      await fetch(`${sink.url}/api/ui/inbox?ids=${withAttachment.id},nope`, { headers: auth() })
    ).json()) as InboxPage;
    assert.deepEqual(
      byIds.items.map((i) => i.id),
      [withAttachment.id],
    );
    const history = (await (
      await fetch(`${sink.url}/api/ui/events`, { headers: auth() })
    ).json()) as EventHistory;
    assert.deepEqual([...new Set(history.events.map((e) => e.type))].sort(), [
      'message.received',
      'message.rejected',
    ]);
  });

  it('hands out a preview link that opens that message only, with its own CSP', async () => {
    const page = (await (
      await fetch(`${sink.url}/api/ui/inbox`, { headers: auth() })
    ).json()) as InboxPage;
    const [plain, other] = page.items;
    const link = (await (
      await fetch(`${sink.url}/api/messages/${plain.id}/view`, { headers: auth() })
    ).json()) as HtmlViewLink;
    const res = await fetch(`${sink.url}${link.path}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const body = await res.text();
    assert.match(body, /href="#blocked"/);
    assert.doesNotMatch(body, /javascript:/);
    const remote = await fetch(`${sink.url}${link.path}?remote=1`);
    assert.match(remote.headers.get('content-security-policy') ?? '', /img-src data: http: https:/);
    const sig = link.path.split('/').pop()!;
    assert.equal(
      (await fetch(`${sink.url}/ui/preview/${other.id}/${sig}`)).status,
      401,
      'the capability is per message',
    );
    assert.equal(
      (await fetch(`${sink.url}/ui/preview/${plain.id}/${'A'.repeat(sig.length)}`)).status,
      401,
    );
  });

  it('checks the links of a message on request', async () => {
    const page = (await (
      await fetch(`${sink.url}/api/ui/inbox`, { headers: auth() })
    ).json()) as InboxPage;
    const withLinks = page.items.find((i) => i.subject === 'with attachment')!;
    const res = await fetch(`${sink.url}/api/messages/${withLinks.id}/links/check`, {
      method: 'POST',
      headers: auth(),
    });
    const body = (await res.json()) as { links: LinkCheck[] };
    const byUrl = new Map(body.links.map((l) => [l.url, l]));
    assert.equal(byUrl.get(`${siteUrl}/ok`)?.ok, true);
    assert.equal(byUrl.get(`${siteUrl}/missing`)?.status, 404);
    assert.equal(byUrl.get(`${siteUrl}/missing`)?.ok, false);
  });

  it('without --link-check-private a link to a loopback site is refused, never fetched', async () => {
    const strict = await startSink({ logger: silentLogger, noAuth: true });
    try {
      const t = nodemailer.createTransport({
        host: '127.0.0.1',
        port: strict.smtpPort,
        secure: false,
        ignoreTLS: true,
      });
      await t.sendMail({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'internal',
        text: `see ${siteUrl}/ok`,
      });
      await strict.analysisIdle();
      const id = strict.context.store.list(0, 1).items[0].id;
      const before = siteRequests;
      const body = (await (
        await fetch(`${strict.url}/api/messages/${id}/links/check`, { method: 'POST' })
      ).json()) as { links: LinkCheck[] };
      assert.deepEqual(body.links, [
        {
          url: `${siteUrl}/ok`,
          status: null,
          ok: false,
          error: 'refused: private address 127.0.0.1',
        },
      ]);
      const mailpit = (await (
        await fetch(`${strict.url}/mailpit/api/v1/message/${id}/link-check`)
      ).json()) as { Links: Array<{ Status: string }> };
      assert.equal(mailpit.Links[0].Status, 'refused: private address 127.0.0.1');
      assert.equal(siteRequests, before);
    } finally {
      await strict.stop();
    }
  });

  it('a --no-auth sink serves its API to the page without a token', async () => {
    const open = await startSink({ logger: silentLogger, noAuth: true });
    try {
      assert.equal((await fetch(`${open.url}/api/ui/inbox`)).status, 200);
      assert.equal(
        ((await (await fetch(`${open.url}/api/info`)).json()) as { auth: boolean }).auth,
        false,
      );
    } finally {
      await open.stop();
    }
  });
});
