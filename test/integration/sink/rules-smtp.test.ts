/**
 * Rules over real SMTP: rejections at every stage with their codes and
 * enhanced codes, greylisting, disconnects, delays (with a controlled sleep),
 * asynchronous bounces (DSN), webhooks, and replacement at runtime.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BounceData, RejectionData } from '../../../src/protocol.ts';
import { startSink } from '../../../sink/index.ts';
import type { RunningSink } from '../../../sink/index.ts';
import { RulesEngine } from '../../../sink/rules.ts';
import { RawSmtp, dataPayload } from './support/raw-smtp.ts';
import { startSmtpFront } from './support/smtp-front.ts';
import { waitForEvent } from './wait-event.ts';

const RULES = `
rules:
  - name: block-client
    stage: connect
    match: { probability: 0 }
    reject: { code: 554, enhanced: 5.7.1, text: Go away }
  - name: spammer
    stage: mail
    match: { sender: "spammer@*" }
    reject: { code: 550, enhanced: 5.7.1, text: Sender blocked }
  - name: mailbox-full
    match: { recipient: "full@*" }
    reject: { code: 552, enhanced: 5.2.2, text: Mailbox full }
  - name: no-data
    stage: data
    match: { recipient: "nodata@*" }
    reject: { code: 554, enhanced: 5.6.0, text: No data for you }
  - name: campaign
    stage: end
    match: { header: { name: X-Campaign, value: "blocked*" } }
    reject: { code: 550, enhanced: 5.7.1, text: Campaign blocked }
  - name: grey
    match: { recipient: "*@grey.example" }
    defer: { attempts: 2 }
  - name: hangup
    match: { recipient: "hangup@*" }
    disconnect: true
  - name: full-later
    match: { recipient: "later@*" }
    bounce: { status: 5.2.2, diagnostic: "smtp; 552 5.2.2 Mailbox full" }
`;

async function session(
  sink: RunningSink,
  from: string,
  to: string[],
  body = 'Subject: t\r\n\r\nbody\r\n',
): Promise<RawSmtp> {
  const c = await RawSmtp.open(sink.smtpPort);
  await c.waitReplies(1);
  await c.command('EHLO rules.example');
  if ((await c.command(`MAIL FROM:<${from}>`)).code !== 250) return c;
  let ok = 0;
  for (const r of to) {
    const reply = await c.command(`RCPT TO:<${r}>`);
    if (c.closed) return c;
    if (reply.code === 250) ok++;
  }
  if (ok === 0) return c;
  if ((await c.command('DATA')).code !== 354) return c;
  const n = c.replies.length + 1;
  c.write(dataPayload(Buffer.from(body)));
  await c.waitReplies(n);
  return c;
}

const last = (c: RawSmtp) => c.replies.at(-1)!;

describe('sink: rules over SMTP', function () {
  this.timeout(20_000);
  let sink: RunningSink;
  before(async () => {
    sink = await startSink({ noAuth: true, rules: RULES, name: 'sink.test' });
  });
  after(async () => {
    await sink?.stop();
  });

  it("rejects at MAIL with the rule's code and enhanced code, and publishes message.rejected", async () => {
    const c = await session(sink, 'spammer@bad.example', ['u@example.com']);
    assert.equal(last(c).code, 550);
    assert.equal(last(c).text, '5.7.1 Sender blocked');
    const ev = await waitForEvent(
      sink.context.events,
      (e) => e.type === 'message.rejected' && e.data.rule === 'spammer',
    );
    assert.deepEqual(ev.data, {
      stage: 'mail',
      code: 550,
      enhancedCode: '5.7.1',
      text: 'Sender blocked',
      from: 'spammer@bad.example',
      to: null,
      clientAddress: '127.0.0.1',
      rule: 'spammer',
    });
    c.close();
  });

  it('rejects one recipient at RCPT and accepts the others', async () => {
    const c = await session(sink, 'a@example.com', ['full@example.com', 'ok@example.com']);
    const codes = c.replies.map((r) => r.code);
    assert.deepEqual(codes, [220, 250, 250, 552, 250, 354, 250]);
    assert.equal(c.replies[3].text, '5.2.2 Mailbox full');
    const id = /queued as (\S+)/.exec(last(c).text)![1];
    assert.deepEqual(
      sink.context.store.get(id)!.envelope.rcptTo.map((r) => r.address),
      ['ok@example.com'],
    );
    c.close();
  });

  it('rejects the DATA command itself (stage data), before any content is sent', async () => {
    const c = await RawSmtp.open(sink.smtpPort);
    await c.waitReplies(1);
    await c.command('EHLO x');
    await c.command('MAIL FROM:<a@example.com>');
    await c.command('RCPT TO:<nodata@example.com>');
    const reply = await c.command('DATA');
    assert.equal(reply.code, 554);
    assert.equal(reply.text, '5.6.0 No data for you');
    assert.equal((await c.command('NOOP')).code, 250, 'the session goes on');
    c.close();
  });

  it('rejects at end of data on a header', async () => {
    const before = sink.context.store.count;
    const c = await session(
      sink,
      'a@example.com',
      ['u@example.com'],
      'X-Campaign: blocked-2026\r\nSubject: t\r\n\r\nbody\r\n',
    );
    assert.equal(last(c).code, 550);
    assert.equal(last(c).text, '5.7.1 Campaign blocked');
    assert.equal(sink.context.store.count, before);
    c.close();
  });

  it('greylists: the first two attempts of a pair get 451 4.7.1, the third is accepted', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await session(sink, 'sender@example.com', ['u@grey.example']);
      codes.push(c.replies[3].code);
      if (i < 2) assert.equal(c.replies[3].text, '4.7.1 Greylisted, please try again later');
      c.close();
    }
    assert.deepEqual(codes, [451, 451, 250]);
    const deferred = sink.context.events
      .replaySince(0)
      .events.filter((e) => e.type === 'message.deferred' && e.data.rule === 'grey');
    assert.equal(deferred.length, 2);
  });

  it('disconnects without a reply', async () => {
    const c = await RawSmtp.open(sink.smtpPort);
    await c.waitReplies(1);
    await c.command('EHLO x');
    await c.command('MAIL FROM:<a@example.com>');
    c.write('RCPT TO:<hangup@example.com>\r\n');
    await c.waitClosed();
    assert.equal(c.replies.length, 3, 'no reply to RCPT');
    const ev = await waitForEvent(
      sink.context.events,
      (e) => e.type === 'message.rejected' && e.data.rule === 'hangup',
    );
    assert.equal((ev.data as RejectionData).code, 421);
  });

  it('bounces asynchronously with a DSN stored for the envelope sender (rule and asyncbounce convention)', async () => {
    for (const to of ['later@example.com', 'asyncbounce+7@example.com']) {
      const c = await session(sink, 'app@shop.example', [to]);
      assert.equal(last(c).code, 250);
      const id = /queued as (\S+)/.exec(last(c).text)![1];
      c.close();
      const ev = await waitForEvent(
        sink.context.events,
        (e) => e.type === 'message.bounced' && e.data.messageId === id,
      );
      const b = ev.data as BounceData;
      assert.equal(b.recipient, to);
      assert.equal(b.sender, 'app@shop.example');
      const dsn = sink.context.store.get(b.dsnId)!;
      assert.deepEqual(
        dsn.envelope.rcptTo.map((r) => r.address),
        ['app@shop.example'],
      );
      assert.equal(dsn.envelope.mailFrom, null);
      assert.match(
        sink.context.store.raw(b.dsnId)!.toString(),
        new RegExp(
          `Final-Recipient: rfc822; ${to.replace('+', '\\+')}\\r\\nAction: failed\\r\\nStatus: ${b.status}`,
        ),
      );
    }
  });

  it('applies rules replaced at runtime; invalid rules keep the old ones', async () => {
    assert.throws(() => sink.context.rules.replace('rules:\n  - stage: bogus\n    reject: true\n'));
    assert.equal(sink.context.rules.count(), 8);
    sink.context.rules.replace(
      'rules:\n  - name: all-mail\n    stage: mail\n    reject: { code: 521, enhanced: 5.3.2, text: Closed }\n',
    );
    const c = await session(sink, 'spammer@bad.example', ['u@example.com']);
    assert.equal(last(c).text, '5.3.2 Closed');
    c.close();
    await waitForEvent(sink.context.events, (e) => e.type === 'rules.updated');
    sink.context.rules.replace(RULES);
  });
});

describe('sink: connect-stage rules and webhooks', function () {
  this.timeout(20_000);

  it('refuses the session at connect', async () => {
    const sink = await startSink({
      noAuth: true,
      rules:
        'rules:\n  - stage: connect\n    reject: { code: 554, enhanced: 5.7.1, text: Not today }\n',
    });
    try {
      const c = await RawSmtp.open(sink.smtpPort);
      await c.waitClosed();
      assert.deepEqual(
        c.replies.map((r) => [r.code, r.text]),
        [[554, '5.7.1 Not today']],
      );
    } finally {
      await sink.stop();
    }
  });

  it('posts the configured webhook after accepting and publishes webhook.sent', async () => {
    const bodies: Array<{ path: string; body: string }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', body });
        res.writeHead(200).end('ok');
      });
    });
    hook.listen(0, '127.0.0.1');
    await new Promise((r) => hook.once('listening', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`;
    const sink = await startSink({
      noAuth: true,
      rules: `rules:\n  - name: hook\n    match: { recipient: "*@hook.example" }\n    webhook: { url: "${url}", format: sendgrid, event: delivered }\n`,
    });
    try {
      const c = await session(sink, 'a@example.com', ['u@hook.example']);
      const id = /queued as (\S+)/.exec(last(c).text)![1];
      c.close();
      const ev = await waitForEvent(sink.context.events, (e) => e.type === 'webhook.sent');
      assert.deepEqual(ev.data, {
        url,
        format: 'sendgrid',
        status: 200,
        error: null,
        messageId: id,
      });
      assert.equal(bodies.length, 1);
      assert.match(bodies[0].body, /u@hook\.example/);
    } finally {
      await sink.stop();
      hook.close();
    }
  });
});

describe('sink: delay rules', () => {
  it('holds the reply until the delay has passed (controlled sleep)', async () => {
    const sleeps: Array<{ ms: number; release: () => void }> = [];
    const sleep = (ms: number) => new Promise<void>((release) => sleeps.push({ ms, release }));
    const rules = new RulesEngine({
      source: 'rules:\n  - { name: slow, stage: mail, delay: 2s }\n',
    });
    const front = await startSmtpFront({ rules, sleep });
    const c = front.client;
    try {
      await c.waitReplies(1);
      await c.command('EHLO x');
      c.write('MAIL FROM:<a@example.com>\r\n');
      c.write('NOOP\r\n');
      const deadline = Date.now() + 5000;
      while (sleeps.length === 0 && Date.now() < deadline)
        await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        sleeps.map((s) => s.ms),
        [2000],
      );
      assert.equal(c.replies.length, 2, 'no reply to MAIL while the delay runs');
      sleeps[0].release();
      const replies = await c.waitReplies(4);
      assert.deepEqual(
        replies.slice(2).map((r) => r.code),
        [250, 250],
      );
    } finally {
      await front.close();
    }
  });
});
