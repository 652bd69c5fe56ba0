/**
 * Resume end to end with the real sink: 5,000 messages over SMTP, a SinkClient
 * following the feed through a TCP relay (a stand-in for a port-forward) whose
 * connections are cut mid-stream. Every event must arrive exactly once.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import { SinkClient, type FeedStatus } from '../../../plugin/lib/sink-client.ts';
import type { SinkEvent } from '../../../src/protocol.ts';

const MESSAGES = 5_000;
const CUTS = 5;

async function until(predicate: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A loopback TCP relay to `port`; `cut()` destroys every relayed connection, like a dropped port-forward. */
async function relay(
  port: number,
): Promise<{ url: string; cut(): number; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      const n = pairs.size;
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      return n;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => r());
      }),
  };
}

/** Sends `count` small messages on one SMTP session, with PIPELINING; resolves after QUIT. */
async function sendMany(port: number, count: number, number: (i: number) => number): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const waiting: Array<(line: string) => void> = [];
  const replies: string[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (!/^\d{3} /.test(line)) continue;
      const w = waiting.shift();
      if (w) w(line);
      else replies.push(line);
    }
  });
  const reply = (): Promise<string> =>
    replies.length > 0
      ? Promise.resolve(replies.shift() as string)
      : new Promise((r) => waiting.push(r));
  const expect = async (code: string) => {
    const line = await reply();
    if (!line.startsWith(code)) throw new Error(`expected ${code}, got ${line}`);
  };
  await expect('220');
  socket.write('EHLO relay.test\r\n');
  await expect('250');
  for (let i = 0; i < count; i++) {
    const n = number(i);
    socket.write(`MAIL FROM:<app@example.com>\r\nRCPT TO:<user${n}@example.com>\r\nDATA\r\n`);
    await expect('250');
    await expect('250');
    await expect('354');
    socket.write(
      `From: app@example.com\r\nTo: user${n}@example.com\r\nSubject: message ${n}\r\nDate: Fri, 02 Jan 2026 03:04:05 +0000\r\nMessage-ID: <m${n}@example.com>\r\n\r\nbody ${n}\r\n.\r\n`,
    );
    await expect('250');
  }
  socket.write('QUIT\r\n');
  await expect('221');
  socket.end();
}

describe('feed resume through a dropped tunnel, real sink (integration)', function () {
  this.timeout(120_000);
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)().catch(() => {});
  });

  it(`${MESSAGES} messages over SMTP, ${CUTS} cuts mid-stream: every event exactly once`, async () => {
    const sink: RunningSink = await startSink({ logger: silentLogger });
    cleanups.push(() => sink.stop());
    const tunnel = await relay(sink.httpPort);
    cleanups.push(() => tunnel.close());
    const client = new SinkClient({ url: tunnel.url, token: sink.token });
    cleanups.push(() => client.close());

    const got: SinkEvent[] = [];
    const statuses: FeedStatus[] = [];
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    let receivedCount = 0;
    const cutAt = Array.from({ length: CUTS }, (_, i) =>
      Math.floor(((i + 1) * MESSAGES) / (CUTS + 1)),
    );
    let cuts = 0;
    let effectiveCuts = 0;
    const following = client.events({
      since: 0,
      signal: controller.signal,
      reconnect: { initialDelayMs: 1, maxDelayMs: 50 },
      onStatus: (s) => statuses.push(s),
      onEvent: (e) => {
        got.push(e);
        if (e.type !== 'message.received') return;
        receivedCount++;
        if (receivedCount === cutAt[cuts]) {
          cuts++;
          if (tunnel.cut() > 0) effectiveCuts++;
        }
      },
    });
    await until(() => statuses.some((s) => s.state === 'connected'), 'the first connection');

    // Four sessions, each sending its share back to back (MAIL/RCPT/DATA pipelined).
    const perSession = MESSAGES / 4;
    await Promise.all(
      [0, 1, 2, 3].map((k) => sendMany(sink.smtpPort, perSession, (i) => k * perSession + i + 1)),
    );
    await until(
      () => receivedCount >= MESSAGES,
      `all ${MESSAGES} message.received events (got ${receivedCount})`,
    );
    const last = sink.context.events.lastSeq;
    await until(
      () => got.length > 0 && got[got.length - 1].seq >= last,
      'the feed to catch up with the last seq',
    );
    controller.abort();
    await following;

    const seqs = got.map((e) => e.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'no duplicate seq');
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
      'no hole: seqs 1..N in order',
    );
    const received = got.filter((e) => e.type === 'message.received');
    assert.equal(received.length, MESSAGES);
    assert.equal(new Set(received.map((e) => e.data.id)).size, MESSAGES);
    assert.equal(cuts, CUTS);
    assert.ok(effectiveCuts >= 2, `${effectiveCuts} cuts hit a live connection`);
    const connects = statuses.filter((s) => s.state === 'connected');
    assert.ok(
      connects.length >= effectiveCuts + 1,
      `the client reconnected after every cut (${connects.length} connections)`,
    );
    assert.ok(connects.slice(1).every((s) => s.state === 'connected' && s.resumed));
  });
});
