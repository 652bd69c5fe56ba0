/**
 * MailHog compatibility against the real sink, driven by the real `mailhog`
 * npm client (4.16) and raw HTTP/SSE/WebSocket the way MailHog's own UI and
 * scripts use them. Expected values are MailHog 1.0.1's, pinned in
 * sink/http/mailhog/*.ts with the source lines they come from.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { send } from './support/send.ts';
import { WebSocket } from 'ws';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import type { MailhogMessage } from '../../../sink/http/mailhog/message.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import { waitForEvent } from '../sink/wait-event.ts';

type MailhogApi = {
  messages(
    start?: number,
    limit?: number,
  ): Promise<{
    total: number;
    count: number;
    start: number;
    items: Array<MailhogMessage & { text: string; subject: string; to: string }>;
  }>;
  search(
    query: string,
    kind?: string,
    start?: number,
    limit?: number,
  ): Promise<{ total: number; count: number; items: Array<MailhogMessage & { text: string }> }>;
  latestTo(query: string): Promise<
    | (MailhogMessage & {
        text: string;
        subject: string;
        html: string;
        attachments: Array<{ name: string; content: string }>;
      })
    | 0
  >;
  latestContaining(query: string): Promise<(MailhogMessage & { text: string }) | 0>;
  releaseMessage(
    id: string,
    config: { host: string; port: string; email: string },
  ): Promise<{ statusCode: number }>;
  deleteMessage(id: string): Promise<{ statusCode: number }>;
  deleteAll(): Promise<{ statusCode: number }>;
};
const mailhog = createRequire(import.meta.url)('mailhog') as (options: {
  host: string;
  port: number;
  auth?: string;
}) => MailhogApi;

describe('MailHog drop-in: the mailhog npm client and raw HTTP against the real sink (integration)', function () {
  this.timeout(30_000);
  let sink: RunningSink;
  let relayTarget: RunningSink;
  let mh: MailhogApi;
  const auth = () => ({ authorization: `Bearer ${sink.token}` });

  before(async () => {
    relayTarget = await startSink({ logger: silentLogger, noAuth: true });
    sink = await startSink({
      logger: silentLogger,
      releaseTo: `127.0.0.1:${relayTarget.smtpPort}`,
      corsOrigin: 'https://app.example',
    });
    mh = mailhog({ host: '127.0.0.1', port: sink.httpPort, auth: `mailhog:${sink.token}` });
  });
  after(async () => {
    await sink?.stop();
    await relayTarget?.stop();
  });
  beforeEach(async () => {
    await mh.deleteAll();
  });

  it('the client reads exact bodies (no trailing CRLF), searches, finds the latest, deletes', async () => {
    await send(sink.smtpPort, {
      from: 'shop@example.com',
      to: 'alice@example.com',
      subject: 'Order 1',
      text: 'Thanks for your order.',
    });
    await send(sink.smtpPort, {
      from: 'shop@example.com',
      to: 'bob@example.com',
      subject: 'Order 2',
      text: 'Second order.',
      attachments: [{ filename: 'a.txt', content: 'hello' }],
    });
    const list = await mh.messages();
    assert.equal(list.total, 2);
    assert.equal(list.items[0].subject, 'Order 2');
    const alice = await mh.latestTo('alice@example.com');
    assert.ok(alice);
    // Exactly what MailHog gives: the body without the CRLF before the final dot.
    assert.equal(alice.text, 'Thanks for your order.');
    assert.equal(alice.Content.Size, Buffer.byteLength(alice.Raw.Data));
    assert.ok(!alice.Raw.Data.endsWith('\r\n'));
    const bob = await mh.latestTo('bob@example.com');
    assert.ok(bob);
    assert.equal(bob.attachments[0].name, 'a.txt');
    assert.equal((await mh.search('order', 'containing')).total, 2);
    assert.equal((await mh.search('mailhog.example', 'containing')).total, 2); // the Received header MailHog adds
    assert.equal(await mh.latestContaining('nothing-like-this'), 0);
    assert.equal((await mh.deleteMessage(alice.ID)).statusCode, 200);
    assert.equal((await mh.deleteMessage(alice.ID)).statusCode, 500);
    assert.equal((await mh.messages()).total, 1);
  });

  it("Created has Go's nanoseconds: the sink's millisecond plus the digits under it, in the order received", async () => {
    for (let i = 0; i < 4; i++)
      await send(sink.smtpPort, {
        from: 'clock@example.com',
        to: 'erin@example.com',
        subject: `tick ${i}`,
        text: 'x',
      });
    const list = await mh.messages();
    assert.equal(list.total, 4);
    // RFC3339Nano as Go writes it: up to nine fraction digits, trailing zeros dropped.
    const GO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{0,8}[1-9])?Z$/;
    const nanosSinceEpoch = (created: string) => {
      const [whole, fraction = ''] = created.slice(0, -1).split('.');
      return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
    };
    const created = list.items.map((m) => m.Created);
    for (const c of created) assert.match(c, GO_TIME);
    assert.ok(
      created.some((c) => (c.split('.')[1]?.length ?? 0) > 4),
      `nanoseconds under the millisecond: ${created.join(', ')}`,
    );
    // Newest first, strictly: the digits under the millisecond keep the order of arrival.
    for (let i = 1; i < created.length; i++)
      assert.ok(nanosSinceEpoch(created[i - 1]) > nanosSinceEpoch(created[i]), created.join(', '));
    // The millisecond is the sink's own `time` of the same message.
    for (const m of list.items) {
      const own = (await (
        await fetch(`http://127.0.0.1:${sink.httpPort}/api/messages/${m.ID}`, { headers: auth() })
      ).json()) as { time: string };
      assert.equal(
        nanosSinceEpoch(m.Created) / 1_000_000n,
        BigInt(Date.parse(own.time)),
        m.Created,
      );
    }
  });

  it('release: relays to an allowed host (recorded as an event); any other host is a 403, never an open relay', async () => {
    await send(sink.smtpPort, {
      from: 'app@example.com',
      to: 'carol@example.com',
      subject: 'Release me',
      text: 'to staging',
    });
    const msg = await mh.latestTo('carol@example.com');
    assert.ok(msg);
    const ok = await mh.releaseMessage(msg.ID, {
      host: '127.0.0.1',
      port: String(relayTarget.smtpPort),
      email: 'dave@example.net',
    });
    assert.equal(ok.statusCode, 200);
    const arrived = await waitForEvent(
      relayTarget.context.events,
      (e) => e.type === 'message.received',
    );
    const summary = (arrived as SinkEvent<'message.received'>).data;
    assert.deepEqual(
      summary.envelope.rcptTo.map((r) => r.address),
      ['dave@example.net'],
    );
    assert.equal(summary.envelope.mailFrom?.address, 'nobody@mailhog.example');
    assert.equal(summary.subject, 'Release me');
    const sent = await waitForEvent(sink.context.events, (e) => e.type === 'message.released');
    assert.deepEqual(
      { ...(sent as SinkEvent<'message.released'>).data, port: 0 },
      {
        id: msg.ID,
        host: '127.0.0.1',
        port: 0,
        to: ['dave@example.net'],
        api: 'mailhog',
        outcome: 'sent',
        error: null,
      },
    );

    const refused = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ Host: 'smtp.gmail.com', Port: '25', Email: 'x@example.com' }),
    });
    assert.equal(refused.status, 403);
    const body = (await refused.json()) as { error: { code: string; hint: string } };
    assert.equal(body.error.code, 'EV_ERR_RELEASE_REFUSED');
    assert.match(body.error.hint, new RegExp(`127\\.0\\.0\\.1:${relayTarget.smtpPort}`));
    const event = await waitForEvent(
      sink.context.events,
      (e) => e.type === 'message.released' && e.data.outcome === 'refused',
    );
    assert.equal((event as SinkEvent<'message.released'>).data.host, 'smtp.gmail.com');
    // Allowed host, other port: refused as well.
    const otherPort = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ host: '127.0.0.1', port: '1', email: 'x@example.com' }),
    });
    assert.equal(otherPort.status, 403);
    // MailHog's answers: bad JSON 500 with its text, unknown id 500, the allowed server by name.
    const bad = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: 'x',
    });
    assert.deepEqual([bad.status, await bad.text()], [500, 'Error decoding request body']);
    const unknown = await fetch(`${sink.url}/api/v1/messages/nope/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(unknown.status, 500);
    // A body a web page can send cross-origin without a preflight (text/plain) is refused.
    const plainText = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: JSON.stringify({
        Host: '127.0.0.1',
        Port: String(relayTarget.smtpPort),
        Email: 'x@example.com',
      }),
    });
    assert.equal(plainText.status, 415);
    const servers = (await (
      await fetch(`${sink.url}/api/v2/outgoing-smtp`, { headers: auth() })
    ).json()) as Record<string, { Host: string; Port: string }>;
    const name = `127.0.0.1:${relayTarget.smtpPort}`;
    assert.deepEqual(Object.keys(servers), [name]);
    // The relay goes to the allow-list entry's host, not the request's spelling of it.
    const spelled = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({
        Host: ' [127.0.0.1] ',
        Port: String(relayTarget.smtpPort),
        Email: 'frank@example.net',
      }),
    });
    assert.equal(spelled.status, 200);
    const byName = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/release`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ Name: name, Email: 'erin@example.net' }),
    });
    assert.equal(byName.status, 200);
  });

  it('a sink without --release-to refuses every release', async () => {
    const plain = await startSink({ logger: silentLogger, noAuth: true });
    try {
      await send(plain.smtpPort, {
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 's',
        text: 't',
      });
      const id = plain.context.store.list(0, 1).items[0].id;
      const res = await fetch(`${plain.url}/api/v1/messages/${id}/release`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          host: '127.0.0.1',
          port: String(plain.smtpPort),
          email: 'x@example.com',
        }),
      });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: { hint: string } }).error.hint, /--release-to/);
      assert.equal(plain.context.store.count, 1);
    } finally {
      await plain.stop();
    }
  });

  it('mime/part/{n}/download: the part decoded, with its own headers', async () => {
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'parts@example.com',
      subject: 'Parts',
      text: 'see attachment',
      attachments: [{ filename: 'report.csv', content: 'a,b\n1,2\n', contentType: 'text/csv' }],
    });
    const msg = await mh.latestTo('parts@example.com');
    assert.ok(msg);
    const parts = msg.MIME?.Parts ?? [];
    const index = parts.findIndex((p) =>
      (p.Headers['Content-Disposition']?.[0] ?? '').includes('report.csv'),
    );
    assert.ok(index >= 0);
    const res = await fetch(`${sink.url}/api/v1/messages/${msg.ID}/mime/part/${index}/download`, {
      headers: auth(),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(res.headers.get('content-disposition') ?? '', /report\.csv/);
    assert.equal(await res.text(), 'a,b\n1,2\n');
    assert.equal(
      (
        await fetch(`${sink.url}/api/v1/messages/${msg.ID}/mime/part/99/download`, {
          headers: auth(),
        })
      ).status,
      500,
    );
  });

  it("GET /api/v1/events streams each new message as MailHog's Server-Sent Events", async () => {
    const controller = new AbortController();
    const res = await fetch(`${sink.url}/api/v1/events`, {
      headers: auth(),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    const reader = res.body!.getReader();
    await send(sink.smtpPort, {
      from: 'sse@example.com',
      to: 'watcher@example.com',
      subject: 'Live',
      text: 'streamed',
    });
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    const event = text.slice(0, text.indexOf('\n\n'));
    assert.ok(event.split('\n').every((line) => line.startsWith('data: ')));
    // MarshalIndent with two spaces, one `data:` line per JSON line.
    assert.match(event, /^data: \{\ndata: {3}"ID": "/);
    const json = event
      .split('\n')
      .map((line) => line.slice('data: '.length))
      .join('\n');
    const msg = JSON.parse(json) as MailhogMessage;
    assert.equal(msg.Content.Headers.Subject[0], 'Live');
    assert.equal(msg.Content.Body, 'streamed');
  });

  it("GET /api/v2/websocket sends each new message as JSON (what MailHog's UI uses)", async () => {
    const ws = new WebSocket(`${sink.url.replace('http', 'ws')}/api/v2/websocket`, {
      headers: auth(),
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const got = new Promise<string>((resolve) =>
      ws.once('message', (data: Buffer) => resolve(data.toString('utf8'))),
    );
    await send(sink.smtpPort, {
      from: 'ws@example.com',
      to: 'ui@example.com',
      subject: 'Via WS',
      text: 'hello ui',
    });
    const frame = await got;
    ws.close();
    assert.ok(frame.endsWith('}\n')); // json.Encoder's newline
    const msg = JSON.parse(frame) as MailhogMessage;
    assert.deepEqual(msg.To, [{ Relays: null, Mailbox: 'ui', Domain: 'example.com', Params: '' }]);
    // Without the token the upgrade is refused.
    const anon = new WebSocket(`${sink.url.replace('http', 'ws')}/api/v2/websocket`);
    const status = await new Promise<number>((resolve) =>
      anon.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)),
    );
    assert.equal(status, 401);
  });

  it('Jim: invited with settings, his chances become rules (recipient rejected), sent home restores delivery', async () => {
    const jim = (method: string, body?: unknown) =>
      fetch(`${sink.url}/api/v2/jim`, {
        method,
        headers: auth(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    assert.equal((await jim('GET')).status, 404);
    const created = await jim('POST', { AcceptChance: 1, RejectRecipientChance: 1 });
    assert.equal(created.status, 201);
    assert.equal((await jim('POST', {})).status, 400);
    const settings = (await (await jim('GET')).json()) as Record<string, number>;
    assert.equal(settings.RejectRecipientChance, 1);
    assert.equal(settings.DisconnectChance, 0); // a field left out is zero, as Go decodes it
    await assert.rejects(
      send(sink.smtpPort, {
        from: 'a@example.com',
        to: 'jimmed@example.com',
        subject: 's',
        text: 't',
      }),
      (err: { responseCode?: number }) => err.responseCode === 550,
    );
    assert.equal((await jim('PUT', 'not json')).status, 400);
    assert.equal((await jim('DELETE')).status, 200);
    assert.equal((await jim('DELETE')).status, 404);
    await send(sink.smtpPort, {
      from: 'a@example.com',
      to: 'jimmed@example.com',
      subject: 's',
      text: 't',
    });
    // POST without a JSON body invites Jim with MailHog's defaults.
    assert.equal(
      (await fetch(`${sink.url}/api/v2/jim`, { method: 'POST', headers: auth() })).status,
      201,
    );
    assert.equal(((await (await jim('GET')).json()) as Record<string, number>).AcceptChance, 0.99);
    assert.equal((await jim('DELETE')).status, 200);
    // The user's own rules are untouched by Jim.
    assert.equal(sink.context.rules.count(), 0);
  });

  it("--cors-origin: OPTIONS preflight and every answer carry MailHog's Access-Control headers", async () => {
    const pre = await fetch(`${sink.url}/api/v1/messages`, { method: 'OPTIONS' });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(pre.headers.get('access-control-allow-methods'), 'OPTIONS,GET,POST,DELETE');
    const v2 = await fetch(`${sink.url}/api/v2/messages`, { headers: auth() });
    assert.equal(v2.headers.get('access-control-allow-methods'), 'OPTIONS,GET,PUT,POST,DELETE');
    assert.equal(v2.headers.get('content-type'), 'text/json');
    assert.match(v2.headers.get('access-control-allow-headers') ?? '', /Content-Type/);
  });
});
