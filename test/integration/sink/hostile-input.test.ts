/**
 * Defects found by an outside attack on the sink (issue 10), each replayed
 * against a real sink on loopback: catastrophic-backtracking rules (item 2),
 * STARTTLS without a certificate (item 3), unlimited AUTH guessing (item 4),
 * attachment downloads with a hostile Content-Type (item 6).
 */
import assert from 'node:assert/strict';
import { startSink } from '../../../sink/index.ts';
import type { RunningSink } from '../../../sink/index.ts';
import { AUTH_FAILURE_DELAY_MS, MAX_AUTH_FAILURES_PER_SESSION } from '../../../sink/smtp-front.ts';
import type { AuthFailedData } from '../../../src/protocol.ts';
import { RawSmtp, dataPayload } from './support/raw-smtp.ts';
import { waitForEvent } from './wait-event.ts';

const plain = (user: string, password: string) =>
  Buffer.from(`\0${user}\0${password}`).toString('base64');

async function deliver(c: RawSmtp, raw: string): Promise<string> {
  assert.equal((await c.command('MAIL FROM:<a@example.com>')).code, 250);
  assert.equal((await c.command('RCPT TO:<b@example.com>')).code, 250);
  assert.equal((await c.command('DATA')).code, 354);
  const n = c.replies.length + 1;
  c.write(dataPayload(Buffer.from(raw)));
  const reply = (await c.waitReplies(n))[n - 1];
  assert.equal(reply.code, 250, reply.text);
  return /queued as (\S+)/.exec(reply.text)![1];
}

describe('sink: hostile input (issue 10)', function () {
  this.timeout(30_000);
  let sink: RunningSink | undefined;
  afterEach(async () => {
    await sink?.stop();
    sink = undefined;
  });

  it('item 2: a /^(a+)+$/ recipient rule and a many-star glob answer RCPT on long addresses; /livez stays up', async () => {
    sink = await startSink({ noAuth: true });
    const put = await fetch(`${sink.url}/api/rules`, {
      method: 'PUT',
      body: 'rules:\n  - match: { recipient: "/^(a+)+$/" }\n    reject: {}\n  - match: { recipient: "*a*a*a*a*a*a*a*a*a*a*a*a*b" }\n    reject: {}\n',
    });
    assert.equal(put.status, 200, await put.text());
    const c = await RawSmtp.open(sink.smtpPort);
    try {
      await c.waitReplies(1);
      await c.command('EHLO x');
      await c.command('MAIL FROM:<a@example.com>');
      // 60 a's: hours of backtracking in V8's engine
      const local = 'a'.repeat(60);
      assert.equal((await c.command(`RCPT TO:<${local}@example.com>`)).code, 250);
      assert.equal(
        (await c.command(`RCPT TO:<${local}@example.b>`)).code,
        550,
        'the glob still matches what it should',
      );
      assert.equal((await fetch(`${sink.url}/livez`)).status, 200);
    } finally {
      c.close();
    }
  });

  it('item 2: PUT /api/rules refuses a backreference with the line and the reason; the old rules stay', async () => {
    sink = await startSink({ noAuth: true });
    const res = await fetch(`${sink.url}/api/rules`, {
      method: 'PUT',
      body: 'rules:\n  - match: { sender: "/(a)\\\\1/" }\n    reject: {}\n',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'EV_ERR_RULES_INVALID');
    assert.match(body.error.message, /^rules:2: .*backreference/);
    assert.equal(sink.context.rules.count(), 0);
  });

  it('item 3: without a certificate STARTTLS is an unknown command, and mail is stored as tls: false', async () => {
    sink = await startSink({ noAuth: true });
    const c = await RawSmtp.open(sink.smtpPort);
    try {
      await c.waitReplies(1);
      const ehlo = await c.command('EHLO x');
      assert.doesNotMatch(ehlo.text, /STARTTLS/);
      const starttls = await c.command('STARTTLS');
      assert.equal(starttls.code, 500, starttls.text);
      assert.match(starttls.text, /not recognized/);
      const id = await deliver(c, 'Subject: plain\r\n\r\nhi\r\n');
      assert.equal(sink.context.store.get(id)!.envelope.tls, false);
    } finally {
      c.close();
    }
  });

  it('item 4: failed AUTH is delayed, capped per session (then 421 and disconnect), counted in metrics and published as auth.failed', async () => {
    const sleeps: number[] = [];
    sink = await startSink({
      noAuth: true,
      users: [{ user: 'alice', password: 'right-password' }],
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const c = await RawSmtp.open(sink.smtpPort);
    try {
      await c.waitReplies(1);
      await c.command('EHLO x');
      for (let i = 1; i < MAX_AUTH_FAILURES_PER_SESSION; i++) {
        const r = await c.command(`AUTH PLAIN ${plain('alice', `guess-${i}`)}`);
        assert.equal(r.code, 535, r.text);
      }
      const last = await c.command(`AUTH PLAIN ${plain('alice', 'right-password-not')}`);
      assert.equal(last.code, 421, last.text);
      await c.waitClosed();
    } finally {
      c.close();
    }
    assert.deepEqual(sleeps, Array(MAX_AUTH_FAILURES_PER_SESSION).fill(AUTH_FAILURE_DELAY_MS));
    const last = await waitForEvent(
      sink.context.events,
      (e) => e.type === 'auth.failed' && e.data.disconnected,
    );
    assert.deepEqual(
      { ...(last.data as AuthFailedData), clientAddress: undefined },
      {
        user: 'alice',
        mechanism: 'PLAIN',
        clientAddress: undefined,
        attempt: MAX_AUTH_FAILURES_PER_SESSION,
        disconnected: true,
      },
    );
    assert.equal(
      sink.context.events.replaySince(0).events.filter((e) => e.type === 'auth.failed').length,
      MAX_AUTH_FAILURES_PER_SESSION,
    );
    const metrics = await (await fetch(`${sink.url}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`smtp_auth_failures_total ${MAX_AUTH_FAILURES_PER_SESSION}\\b`),
    );

    // A new session starts its own count, and the right password still works.
    const d = await RawSmtp.open(sink.smtpPort);
    try {
      await d.waitReplies(1);
      await d.command('EHLO x');
      assert.equal((await d.command(`AUTH PLAIN ${plain('alice', 'right-password')}`)).code, 235);
      const id = await deliver(d, 'Subject: authed\r\n\r\nhi\r\n');
      assert.equal(sink.context.store.get(id)!.envelope.authUser, 'alice');
    } finally {
      d.close();
    }
  });

  it('item 6: an attachment declared with a non-ASCII, control-character Content-Type is listed and downloaded', async () => {
    sink = await startSink({ noAuth: true });
    const c = await RawSmtp.open(sink.smtpPort);
    let id: string;
    try {
      await c.waitReplies(1);
      await c.command('EHLO x');
      id = await deliver(
        c,
        [
          'Subject: hostile attachment',
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="b"',
          '',
          '--b',
          'Content-Type: text/plain',
          '',
          'see attached',
          '',
          '--b',
          'Content-Type: application/x-\u00e9vil\u0001; name="x.bin"',
          'Content-Disposition: attachment; filename="x.bin"',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('the bytes').toString('base64'),
          '--b--',
          '',
        ].join('\r\n'),
      );
    } finally {
      c.close();
    }
    await sink.analysisIdle();
    const detail = (await (await fetch(`${sink.url}/api/messages/${id}`)).json()) as {
      attachments: Array<{ index: number; contentType: string }>;
    };
    assert.equal(detail.attachments.length, 1);
    const res = await fetch(
      `${sink.url}/api/messages/${id}/attachments/${detail.attachments[0].index}`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(Buffer.from(await res.arrayBuffer()).toString(), 'the bytes');
  });
});
