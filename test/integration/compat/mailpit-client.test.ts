/**
 * Mailpit compatibility: the real `mailpit-api` client (2.x) given
 * `http://sink/mailpit` as its base URL, every one of its methods either
 * working against the real sink or failing with the documented 501 that names
 * what to use instead (docs/compatibility.md).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { send } from './support/send.ts';
import { MailpitClient } from 'mailpit-api';
import { WebSocket } from 'ws';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import { waitForEvent } from '../sink/wait-event.ts';
import { MAX_RELEASE_RECIPIENTS } from '../../../sink/http/mailpit/routes.ts';

/** Asserts the client's error for a 501 and that our hint is in it. */
async function rejects501(promise: Promise<unknown>, hint: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.match(err.message, /Mailpit API Error: 501/);
    assert.match(err.message, /EV_ERR_NOT_IMPLEMENTED/);
    assert.match(err.message, hint);
    return true;
  });
}

describe('Mailpit drop-in: the mailpit-api client against the real sink under /mailpit (integration)', function () {
  this.timeout(30_000);
  let sink: RunningSink;
  let relayTarget: RunningSink;
  let links: Server;
  let mp: MailpitClient;

  before(async () => {
    relayTarget = await startSink({ logger: silentLogger, noAuth: true });
    sink = await startSink({
      logger: silentLogger,
      releaseTo: `127.0.0.1:${relayTarget.smtpPort}`,
      linkCheckPrivate: true,
    }); // the link check's site is on loopback
    mp = new MailpitClient(`${sink.url}/mailpit`, {
      auth: { username: 'mailpit', password: sink.token! },
    });
    links = createServer((req, res) => {
      res.writeHead(req.url === '/ok' ? 200 : 404);
      res.end();
    });
    await new Promise<void>((resolve) => links.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await sink?.stop();
    await relayTarget?.stop();
    await new Promise<void>((resolve) => links?.close(() => resolve()));
  });
  beforeEach(async () => {
    await mp.deleteMessages();
  });

  it('list, latest, get, headers, raw, part, views, read status, search, delete by search and by IDs', async () => {
    const linkBase = `http://127.0.0.1:${(links.address() as AddressInfo).port}`;
    await send(sink.smtpPort, {
      from: 'Shop <shop@example.com>',
      to: 'Alice <alice+orders@example.com>',
      cc: 'bob@example.com',
      subject: 'Invoice 7',
      text: 'Your invoice.',
      html: `<p>Your <a href="${linkBase}/ok">invoice</a>, <a href="${linkBase}/missing">terms</a></p>`,
      attachments: [
        {
          filename: 'invoice.pdf',
          content: Buffer.from('%PDF-1.4'),
          contentType: 'application/pdf',
        },
      ],
    });
    await send(sink.smtpPort, {
      from: 'news@example.com',
      to: 'carol@example.com',
      subject: 'Newsletter',
      text: 'Hello',
    });

    const list = await mp.listMessages();
    assert.equal(list.total, 2);
    assert.equal(list.messages_count, 2);
    assert.equal(list.unread, 2);
    assert.equal(list.messages[0].Subject, 'Newsletter');
    const invoice = list.messages[1];
    assert.deepEqual(invoice.From, { Name: 'Shop', Address: 'shop@example.com' });
    assert.deepEqual(invoice.To, [{ Name: 'Alice', Address: 'alice+orders@example.com' }]);
    assert.deepEqual(invoice.Tags, ['orders']);
    assert.equal(invoice.Attachments, 1);
    assert.deepEqual(list.tags, ['orders']);
    assert.deepEqual(await mp.getTags(), ['orders']);

    assert.equal((await mp.getMessageSummary()).Subject, 'Newsletter'); // "latest"
    const full = await mp.getMessageSummary(invoice.ID);
    assert.equal(full.Text.trim(), 'Your invoice.');
    assert.match(full.HTML, /<p>Your/);
    assert.deepEqual(full.Cc, [{ Name: '', Address: 'bob@example.com' }]);
    assert.equal(full.ReturnPath, 'shop@example.com');
    assert.equal(full.Attachments.length, 1);
    assert.equal(full.Attachments[0].FileName, 'invoice.pdf');
    const part = await mp.getMessageAttachment(invoice.ID, full.Attachments[0].PartID);
    assert.equal(Buffer.from(await part.arrayBuffer()).toString(), '%PDF-1.4');
    const headers = await mp.getMessageHeaders(invoice.ID);
    assert.deepEqual(headers.Subject, ['Invoice 7']);
    assert.ok(headers['Content-Type']);
    assert.match(await mp.getMessageSource(invoice.ID), /^Subject: Invoice 7\r$/m);
    assert.match(await mp.renderMessageHTML(invoice.ID), /<p>Your/);
    assert.equal((await mp.renderMessageText(invoice.ID)).trim(), 'Your invoice.');

    // Getting a message marks it read, as in Mailpit (both were opened above).
    assert.equal((await mp.listMessages()).unread, 0);
    assert.equal(await mp.setReadStatus({ IDs: [invoice.ID], Read: false }), 'ok');
    const unread = await mp.searchMessages({ query: 'is:unread' });
    assert.deepEqual(
      [unread.messages_count, unread.messages[0].ID, unread.messages[0].Read],
      [1, invoice.ID, false],
    );

    const links2 = await mp.linkCheck(invoice.ID);
    assert.equal(links2.Links.length, 2);
    assert.equal(links2.Errors, 1);
    assert.deepEqual(
      links2.Links.map((l) => (l as { StatusCode: number }).StatusCode).sort(),
      [200, 404],
    );

    assert.equal((await mp.searchMessages({ query: 'tag:orders' })).messages[0].ID, invoice.ID);
    assert.equal((await mp.searchMessages({ query: 'from:news@example.com' })).messages_count, 1);
    assert.equal(
      (await mp.searchMessages({ query: '"your invoice" has:attachment' })).messages_count,
      1,
    );
    assert.equal((await mp.searchMessages({ query: '-subject:newsletter' })).messages_count, 1);
    await assert.rejects(mp.searchMessages({ query: 'before:2020-01-01' }), /400/);

    assert.equal(await mp.deleteMessagesBySearch({ query: 'subject:newsletter' }), 'ok');
    assert.equal((await mp.listMessages()).total, 1);
    assert.equal(await mp.deleteMessages({ IDs: [invoice.ID] }), 'ok');
    assert.equal((await mp.listMessages()).total, 0);
    await assert.rejects(mp.getMessageSummary(), /404/);
  });

  it("Snippet: the HTML body's text (else the text body), whitespace collapsed, 200 bytes then ...", async () => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join('  \r\n\t');
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'html',
      text: 'the text body loses to the HTML one',
      html: '<html><head><title>Title</title><style>p { color: red }</style></head><body><h1>Hi&nbsp;there</h1><p>Tom &amp; Jerry<br>say&#33;</p><script>x()</script></body></html>',
    });
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'text',
      text: long,
    });
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'utf8',
      text: `${'é'.repeat(150)}`,
    });
    const bySubject = (list: Awaited<ReturnType<MailpitClient['listMessages']>>) =>
      Object.fromEntries(list.messages.map((m) => [m.Subject, m.Snippet]));
    const expectedText = long.replace(/\s+/g, ' ');
    const snippets = bySubject(await mp.listMessages());
    assert.equal(snippets.html, 'Hi there Tom & Jerry say!');
    assert.equal(snippets.text, `${expectedText.slice(0, 200)}...`);
    // 200 bytes of UTF-8 are 100 two-byte characters.
    assert.equal(snippets.utf8, `${'é'.repeat(100)}...`);
    // Search results carry it too (cached from the list above, or parsed now).
    assert.equal(
      bySubject(await mp.searchMessages({ query: 'subject:html' })).html,
      'Hi there Tom & Jerry say!',
    );
  });

  it("send delivers through the sink's own SMTP (rules and events apply); wait helpers find it", async () => {
    const sent = await mp.sendMessage({
      From: { Email: 'app@example.com', Name: 'App' },
      To: [{ Email: 'dora@example.com' }],
      Subject: 'Sent via API',
      Text: 'body text',
      Attachments: [{ Content: Buffer.from('hi').toString('base64'), Filename: 'hi.txt' }],
    });
    assert.ok(sent.ID.length > 0);
    const found = await mp.waitForMessage(
      { query: 'subject:"Sent via API"' },
      { timeout: 5000, interval: 50 },
    );
    assert.equal(found.ID, sent.ID);
    assert.equal(found.Attachments[0].FileName, 'hi.txt');
    assert.equal(
      (await mp.waitForMessages({ count: 1 }, { timeout: 5000, interval: 50 })).messages_count,
      1,
    );
  });

  it('release relays through the first --release-to server', async () => {
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'Relay me',
      text: 't',
    });
    const id = (await mp.listMessages()).messages[0].ID;
    assert.equal(await mp.releaseMessage(id, { To: ['ext@example.net'] }), 'ok');
    // Recipients are bounded and must be envelope-safe mailboxes: 400 with the reason.
    const post = (to: string[]) =>
      fetch(`${sink.url}/mailpit/api/v1/message/${id}/release`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sink.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ To: to }),
      });
    const many = await post(
      Array.from({ length: MAX_RELEASE_RECIPIENTS + 1 }, (_, i) => `r${i}@example.net`),
    );
    assert.deepEqual(
      [many.status, await many.text()],
      [
        400,
        `at most ${MAX_RELEASE_RECIPIENTS} recipients per release (got ${MAX_RELEASE_RECIPIENTS + 1})`,
      ],
    );
    const crafted = await post(['ok@example.net', 'x@example.net>\r\nRCPT TO:<y@example.net']);
    assert.equal(crafted.status, 400);
    assert.match(await crafted.text(), /not a mailbox an SMTP envelope can carry/);
    // The same body as text/plain (what a web page can send cross-origin without a preflight) is refused.
    for (const route of ['/mailpit/api/v1/message/latest/release', '/mailpit/api/v1/send']) {
      const forged = await fetch(`${sink.url}${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sink.token}`, 'content-type': 'text/plain' },
        body: JSON.stringify({
          To: ['ext@example.net'],
          From: { Email: 'a@example.com' },
          Subject: 'x',
        }),
      });
      assert.deepEqual(
        [forged.status, await forged.text()],
        [400, 'Content-Type must be application/json'],
        route,
      );
    }
    const arrived = await waitForEvent(
      relayTarget.context.events,
      (e) => e.type === 'message.received' && e.data.subject === 'Relay me',
    );
    assert.deepEqual(
      (arrived as SinkEvent<'message.received'>).data.envelope.rcptTo.map((r) => r.address),
      ['ext@example.net'],
    );
  });

  it('info, web UI config and chaos (mapped onto rules: a 100 % recipient trigger rejects)', async () => {
    const info = await mp.getInfo();
    assert.equal(info.Messages, 0);
    assert.match(info.Version, /kubectl-email-validate/);
    const config = await mp.getConfiguration();
    assert.equal(config.MessageRelay.SMTPServer, `127.0.0.1:${relayTarget.smtpPort}`);
    assert.deepEqual((await mp.getChaosTriggers()).Recipient, { ErrorCode: 451, Probability: 0 });
    const set = await mp.setChaosTriggers({ Recipient: { ErrorCode: 550, Probability: 100 } });
    assert.deepEqual(set.Recipient, { ErrorCode: 550, Probability: 100 });
    await assert.rejects(
      send(sink.smtpPort, {
        from: 'a@example.com',
        to: 'chaos@example.com',
        subject: 's',
        text: 't',
      }),
      (err: { responseCode?: number }) => err.responseCode === 550,
    );
    await mp.setChaosTriggers({});
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'chaos@example.com',
      subject: 's',
      text: 't',
    });
  });

  it('the methods the sink does not implement answer 501 naming what to use instead', async () => {
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 's',
      text: 't',
      attachments: [{ filename: 'x.png', content: Buffer.from('x') }],
    });
    const id = (await mp.listMessages()).messages[0].ID;
    await rejects501(mp.htmlCheck(id), /analysis/);
    await rejects501(mp.spamAssassinCheck(id), /spamScore/);
    await rejects501(mp.getAttachmentThumbnail(id, '0'), /part/);
    await rejects501(mp.setTags({ IDs: [id], Tags: ['x'] }), /plus-address/);
    await rejects501(mp.renameTag('a', 'b'), /plus-address/);
    await rejects501(mp.deleteTag('a'), /plus-address/);
  });

  it('its WebSocket events: {Type: "new"} for each message, "delete" and "truncate"', async () => {
    const ws = new WebSocket(`${sink.url.replace('http', 'ws')}/mailpit/api/events`, {
      headers: { authorization: `Bearer ${sink.token}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const frames: Array<{ Type: string; Data: { ID?: string; Subject?: string } | null }> = [];
    const want = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (frames.length >= n) resolve();
        };
        ws.on('message', (data) => {
          frames.push(JSON.parse((data as Buffer).toString('utf8')) as (typeof frames)[number]);
          check();
        });
        check();
      });
    const three = want(3);
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'Live one',
      text: 't',
    });
    const id = (await mp.listMessages()).messages[0].ID;
    await mp.deleteMessages({ IDs: [id] });
    await mp.deleteMessages();
    await three;
    ws.close();
    assert.deepEqual(
      frames.map((f) => f.Type),
      ['new', 'delete', 'truncate'],
    );
    assert.equal(frames[0].Data?.Subject, 'Live one');
    assert.equal(frames[1].Data?.ID, id);
  });
});
