/**
 * Real SMTP clients against the sink: nodemailer (plain, STARTTLS, AUTH,
 * attachments, UTF-8 headers, SMTPUTF8 addresses), Python's smtplib running
 * the article's script, and swaks (pipelining, STARTTLS, AUTH).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { startSink } from '../../../sink/index.ts';
import type { RunningSink } from '../../../sink/index.ts';
import type { MessageSummary } from '../../../src/protocol.ts';
import { RawSmtp } from './support/raw-smtp.ts';
import { waitForEvent } from './wait-event.ts';
import { requireTool } from '../../support/require-tool.ts';

const run = promisify(execFile);

function transport(sink: RunningSink, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.smtpPort,
    secure: false,
    ...extra,
  });
}

function queuedId(response: string): string {
  const m = /queued as (\S+)/.exec(response);
  assert.ok(m, `no queue id in ${response}`);
  return m[1];
}

describe('sink: real SMTP clients', function () {
  this.timeout(30_000);

  describe('plain and STARTTLS', () => {
    let sink: RunningSink;
    before(async () => {
      sink = await startSink({ tlsSelfSigned: true, noAuth: true });
    });
    after(async () => {
      await sink?.stop();
    });

    it('answers a command sent before the greeting (no pre-greeting wait)', async () => {
      const c = await RawSmtp.open(sink.smtpPort);
      c.write('EHLO early.example\r\n'); // smtp-server's 100 ms wait would answer "421 You talk too soon"
      const replies = await c.waitReplies(2);
      assert.equal(replies[0].code, 220);
      assert.equal(replies[1].code, 250);
      assert.match(replies[1].text, /PIPELINING/);
      assert.match(replies[1].text, /8BITMIME/);
      assert.match(replies[1].text, /SMTPUTF8/);
      assert.match(replies[1].text, /ENHANCEDSTATUSCODES/);
      assert.match(replies[1].text, /SIZE 26214400/);
      assert.match(replies[1].text, /STARTTLS/);
      assert.match(replies[1].text, /AUTH PLAIN LOGIN/);
      c.close();
    });

    it('nodemailer without TLS: envelope, plus tags, headers', async () => {
      const info = await transport(sink, { ignoreTLS: true }).sendMail({
        from: 'Sender <sender@example.com>',
        to: 'user+signup@example.com',
        cc: 'other@example.com',
        subject: 'Plain hello',
        text: 'plain body',
      });
      const m = sink.context.store.get(queuedId(info.response))!;
      assert.equal(m.envelope.tls, false);
      assert.equal(m.envelope.mailFrom?.address, 'sender@example.com');
      assert.deepEqual(
        m.envelope.rcptTo.map((r) => [r.address, r.tag]),
        [
          ['user+signup@example.com', 'signup'],
          ['other@example.com', null],
        ],
      );
      assert.equal(m.subject, 'Plain hello');
      assert.equal(m.from, 'Sender <sender@example.com>');
      assert.deepEqual(m.to, ['user+signup@example.com']);
      assert.equal(m.envelope.clientAddress, '127.0.0.1');
      assert.ok(m.envelope.helo.length > 0);
      assert.equal(sink.context.store.list(0, 10, { tag: 'signup' }).total, 1);
    });

    it('nodemailer with STARTTLS (self-signed certificate), attachments and UTF-8 headers', async () => {
      const content = Buffer.from('%PDF-1.4 not really a pdf\n');
      const info = await transport(sink, {
        requireTLS: true,
        tls: { rejectUnauthorized: false },
      }).sendMail({
        from: '"Jörg Müller" <joerg@example.com>',
        to: 'Zoë <zoe@example.com>',
        subject: 'Grüße ☃ — Bestätigung',
        text: 'Hallo ✓',
        html: '<p>Hallo ✓ <a href="https://example.com/x">link</a></p>',
        attachments: [{ filename: 'rechnung-ä.pdf', content, contentType: 'application/pdf' }],
      });
      const id = queuedId(info.response);
      const m = sink.context.store.get(id)!;
      assert.equal(m.envelope.tls, true);
      assert.equal(m.subject, 'Grüße ☃ — Bestätigung');
      assert.match(m.from ?? '', /Jörg Müller/);
      const detail = (await sink.context.store.detail(id))!;
      assert.equal(detail.text?.trim(), 'Hallo ✓');
      assert.match(detail.html ?? '', /Hallo ✓/);
      assert.equal(detail.attachments.length, 1);
      assert.equal(detail.attachments[0].filename, 'rechnung-ä.pdf');
      assert.equal(detail.attachments[0].contentType, 'application/pdf');
      const att = (await sink.context.store.attachment(id, 0))!;
      assert.ok(att.content.equals(content));
      const analyzed = await waitForEvent(
        sink.context.events,
        (e) => e.type === 'message.analyzed' && (e.data as { id: string }).id === id,
      );
      assert.equal((analyzed.data as { parseError: string | null }).parseError, null);
    });

    it('nodemailer with SMTPUTF8 addresses', async () => {
      const info = await transport(sink, { ignoreTLS: true }).sendMail({
        from: 'jörg@bücher.example',
        to: '用户@例子.广告',
        subject: 'utf8 envelope',
        text: 'x',
      });
      const m = sink.context.store.get(queuedId(info.response))!;
      assert.equal(m.envelope.mailFrom?.address, 'jörg@bücher.example');
      assert.equal(m.envelope.rcptTo[0].address, '用户@例子.广告');
    });

    it("Python smtplib runs the article's sender script unchanged", async () => {
      const script = join(import.meta.dirname, 'fixtures', 'article_sender.py');
      const received = waitForEvent(
        sink.context.events,
        (e) => e.type === 'message.received' && e.data.subject === 'Validation Email',
      );
      await run('python3', [script, '127.0.0.1', String(sink.smtpPort)], { timeout: 20_000 });
      const m = (await received).data as MessageSummary;
      assert.equal(m.envelope.mailFrom?.address, 'test@domain.com');
      assert.deepEqual(
        m.envelope.rcptTo.map((r) => r.address),
        ['user@domain.com'],
      );
      assert.equal(m.from, 'test@domain.com');
      const detail = (await sink.context.store.detail(m.id))!;
      assert.equal(detail.text?.trim(), 'Test email for validation');
    });

    it('swaks with pipelining', async function () {
      const swaks = requireTool(this, 'swaks', 'swaks');
      const { stdout } = await run(
        swaks,
        [
          '--server',
          '127.0.0.1',
          '--port',
          String(sink.smtpPort),
          '--from',
          'swaks@example.com',
          '--to',
          'pipe@example.com',
          '--pipeline',
          '--header',
          'Subject: swaks pipelined',
        ],
        { timeout: 20_000 },
      );
      assert.match(stdout, /<-\s+250 2\.6\.0 Ok: queued as/);
      assert.equal(sink.context.store.list(0, 10, { subject: 'swaks pipelined' }).total, 1);
    });

    it('swaks with STARTTLS', async function () {
      const swaks = requireTool(this, 'swaks', 'swaks');
      await run(
        swaks,
        [
          '--server',
          '127.0.0.1',
          '--port',
          String(sink.smtpPort),
          '--from',
          'swaks@example.com',
          '--to',
          'tls@example.com',
          '--tls',
          '--header',
          'Subject: swaks tls',
        ],
        { timeout: 20_000 },
      );
      const page = sink.context.store.list(0, 10, { subject: 'swaks tls' });
      assert.equal(page.total, 1);
      assert.equal(page.items[0].envelope.tls, true);
    });
  });

  describe('AUTH', () => {
    let sink: RunningSink;
    before(async () => {
      sink = await startSink({
        noAuth: true,
        authRequired: true,
        users: [{ user: 'app', password: 's3cret' }],
      });
    });
    after(async () => {
      await sink?.stop();
    });

    for (const method of ['PLAIN', 'LOGIN']) {
      it(`nodemailer AUTH ${method} with a configured user`, async () => {
        const info = await transport(sink, {
          ignoreTLS: true,
          authMethod: method,
          auth: { user: 'app', pass: 's3cret' },
        }).sendMail({
          from: 'a@example.com',
          to: 'b@example.com',
          subject: `auth ${method}`,
          text: 'x',
        });
        assert.equal(sink.context.store.get(queuedId(info.response))!.envelope.authUser, 'app');
      });
    }

    it('rejects wrong credentials with 535 5.7.8', async () => {
      await assert.rejects(
        transport(sink, { ignoreTLS: true, auth: { user: 'app', pass: 'wrong' } }).sendMail({
          from: 'a@example.com',
          to: 'b@example.com',
          text: 'x',
        }),
        (err: { responseCode?: number; response?: string }) =>
          err.responseCode === 535 && /5\.7\.8/.test(err.response ?? ''),
      );
    });

    it('refuses MAIL without AUTH when --auth-required (530)', async () => {
      await assert.rejects(
        transport(sink, { ignoreTLS: true }).sendMail({
          from: 'a@example.com',
          to: 'b@example.com',
          text: 'x',
        }),
        (err: { responseCode?: number }) => err.responseCode === 530,
      );
    });

    it('swaks with AUTH LOGIN', async function () {
      const swaks = requireTool(this, 'swaks', 'swaks');
      await run(
        swaks,
        [
          '--server',
          '127.0.0.1',
          '--port',
          String(sink.smtpPort),
          '--from',
          'a@example.com',
          '--to',
          'swaks-auth@example.com',
          '--auth',
          'LOGIN',
          '--auth-user',
          'app',
          '--auth-password',
          's3cret',
          '--header',
          'Subject: swaks auth',
        ],
        { timeout: 20_000 },
      );
      const page = sink.context.store.list(0, 10, { subject: 'swaks auth' });
      assert.equal(page.items[0]?.envelope.authUser, 'app');
    });
  });

  describe('AUTH optional (the default)', () => {
    let sink: RunningSink;
    before(async () => {
      sink = await startSink({ noAuth: true });
    });
    after(async () => {
      await sink?.stop();
    });

    it('accepts any credentials and records the user', async () => {
      const info = await transport(sink, {
        ignoreTLS: true,
        auth: { user: 'anyone', pass: 'anything' },
      }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
      assert.equal(sink.context.store.get(queuedId(info.response))!.envelope.authUser, 'anyone');
    });
  });
});
