/**
 * The HTTP API and the MailHog API against the real sink, with mail sent by
 * real clients: the article's Python smtplib script (unchanged but for host
 * and port) read back the way its `curl /api/v2/messages` step reads it, and a
 * nodemailer message with an attachment through the sink's own API and the
 * CLI's client.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import { SinkClient } from '../../../plugin/lib/sink-client.ts';
import type { MailhogMessage } from '../../../sink/http/mailhog/message.ts';

const run = promisify(execFile);

/** The article's sender, verbatim but for the host and port. */
const articleScript = (port: number) => `
import smtplib
from email.message import EmailMessage
def send_email(smtp_server, port, sender, recipient):
    msg = EmailMessage()
    msg.set_content('Test email for validation')
    msg['Subject'] = 'Validation Email'
    msg['From'] = sender
    msg['To'] = recipient
    with smtplib.SMTP(smtp_server, port) as server:
        server.send_message(msg)
send_email('127.0.0.1', ${port}, 'test@domain.com', 'user@domain.com')
`;

describe('API and MailHog API against the real sink (integration)', function () {
  this.timeout(60_000);
  let sink: RunningSink;
  let client: SinkClient;
  const auth = () => ({ authorization: `Bearer ${sink.token}` });

  before(async () => {
    sink = await startSink({ logger: silentLogger });
    client = new SinkClient({ url: sink.url, token: sink.token });
  });
  after(async () => {
    await client?.close();
    await sink?.stop();
  });
  beforeEach(async () => {
    await client.clear();
  });

  it("the article's smtplib message reads back through /api/v2/messages as MailHog returned it", async () => {
    await run('python3', ['-c', articleScript(sink.smtpPort)]);
    const res = await fetch(`${sink.url}/api/v2/messages`, { headers: auth() });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      total: number;
      count: number;
      start: number;
      items: MailhogMessage[];
    };
    assert.equal(body.total, 1);
    assert.equal(body.count, 1);
    assert.equal(body.start, 0);
    const m = body.items[0];
    assert.deepEqual(m.From, { Relays: null, Mailbox: 'test', Domain: 'domain.com', Params: '' });
    assert.deepEqual(m.To, [{ Relays: null, Mailbox: 'user', Domain: 'domain.com', Params: '' }]);
    assert.deepEqual(m.Content.Headers.Subject, ['Validation Email']);
    assert.deepEqual(m.Content.Headers.From, ['test@domain.com']);
    assert.deepEqual(m.Content.Headers.To, ['user@domain.com']);
    assert.deepEqual(m.Content.Headers['Content-Type'], ['text/plain; charset="utf-8"']);
    // The CRLF before the final dot is not part of the message, as in MailHog (smtp/protocol.go:190).
    assert.equal(m.Content.Body, 'Test email for validation');
    assert.equal(m.Content.MIME, null);
    assert.equal(m.MIME, null);
    assert.equal(m.Raw.From, 'test@domain.com');
    assert.deepEqual(m.Raw.To, ['user@domain.com']);
    assert.ok(m.Raw.Helo.length > 0);
    assert.equal(m.Content.Size, Buffer.byteLength(m.Raw.Data));
    assert.match(m.Content.Headers.Received[0], / by mailhog\.example \(MailHog\)\r\n {10}id /);
    assert.ok(!Number.isNaN(Date.parse(m.Created)));
    // The v1 routes see the same message.
    const v1 = (await (
      await fetch(`${sink.url}/api/v1/messages/${encodeURIComponent(m.ID)}`, { headers: auth() })
    ).json()) as MailhogMessage;
    assert.equal(v1.ID, m.ID);
    const search = (await (
      await fetch(`${sink.url}/api/v2/search?kind=to&query=user@domain.com`, { headers: auth() })
    ).json()) as { total: number };
    assert.equal(search.total, 1);
  });

  it("a nodemailer message with an attachment through the own API and the CLI's client", async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: sink.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    try {
      await transport.sendMail({
        from: 'Shop <shop@example.com>',
        to: 'alice+order42@example.com',
        subject: 'Your invoice',
        text: 'Invoice attached.',
        html: '<p>Invoice attached.</p>',
        attachments: [
          {
            filename: 'invoice.pdf',
            content: Buffer.from('%PDF-1.4 test'),
            contentType: 'application/pdf',
          },
        ],
      });
    } finally {
      transport.close();
    }
    const list = await client.list({ tag: 'order42' });
    assert.equal(list.total, 1);
    const summary = list.items[0];
    assert.equal(summary.subject, 'Your invoice');
    assert.equal((await client.search('Invoice attached')).total, 1);
    const detail = await client.get(summary.id);
    assert.match(detail.text ?? '', /Invoice attached\./);
    assert.match(detail.html ?? '', /<p>Invoice attached\.<\/p>/);
    assert.equal(detail.attachments.length, 1);
    const att = await client.attachment(summary.id, detail.attachments[0].index);
    assert.equal(att.filename, 'invoice.pdf');
    assert.equal(att.content.toString(), '%PDF-1.4 test');
    const raw = await client.raw(summary.id);
    assert.match(raw.toString('latin1'), /^Subject: Your invoice\r$/m);
    // MailHog's view of the same message: multipart split into parts.
    const mh = (await (
      await fetch(`${sink.url}/api/v1/messages/${encodeURIComponent(summary.id)}`, {
        headers: auth(),
      })
    ).json()) as MailhogMessage;
    assert.ok((mh.MIME?.Parts?.length ?? 0) >= 2);
    assert.ok(
      mh.MIME?.Parts?.some((p: { Headers: Record<string, string[]> }) =>
        (p.Headers['Content-Type']?.[0] ?? '').startsWith('application/pdf'),
      ),
    );
    await client.delete(summary.id);
    assert.equal((await client.list()).total, 0);
  });

  it('rules round-trip through the API, and a bad file keeps the old rules', async () => {
    const before = await client.rules();
    await assert.rejects(
      client.setRules('rules: [ this is not: valid'),
      (err: { code?: string }) => err.code === 'EV_ERR_RULES_INVALID',
    );
    assert.equal(await client.rules(), before);
  });

  it('stats, info and metrics reflect the sink', async () => {
    const info = await client.info();
    assert.equal(info.protocol, 1);
    assert.equal(info.smtp?.port, sink.smtpPort);
    const stats = await client.stats();
    assert.equal(stats.instance, info.instance);
    const metrics = await (await fetch(`${sink.url}/metrics`)).text();
    assert.match(metrics, /^email_sink_messages_received_total \d+$/m);
    assert.match(metrics, /^email_sink_store_max_messages \d+$/m);
  });
});
