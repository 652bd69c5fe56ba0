import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { FakeSinkContext, startFakeApi } from '../../support/fake-sink-context.ts';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  FEED_CLOSE_GOING_AWAY,
  FEED_CLOSE_TOO_SLOW,
  FEED_SUBPROTOCOL,
  type FeedHello,
} from '../../../src/protocol.ts';
import { EventFeed } from '../../../sink/feed.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { PROTOCOL_VERSION, type SinkEvent } from '../../../src/protocol.ts';

type Api = Awaited<ReturnType<typeof startFakeApi>>;
type Frame = FeedHello | SinkEvent;

/** Resolves when `predicate` holds, polling on each event-loop turn; rejects after `ms`. */
async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function wsUrl(api: Api, query = ''): string {
  return `${api.base.replace('http', 'ws')}/api/events${query}`;
}

interface Conn {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
}

async function connect(
  api: Api,
  query = '',
  options: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<Conn> {
  const { protocols, ...rest } = options;
  const ws = new WebSocket(wsUrl(api, query), protocols ?? [], { headers: api.auth, ...rest });
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8')) as Frame));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

/** The HTTP status of a refused upgrade. */
function upgradeStatus(
  url: string,
  protocols: string[],
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

function addEvents(ctx: FakeSinkContext, n: number, size = 0): void {
  for (let i = 0; i < n; i++)
    ctx.events.append('message.evicted', {
      id: `e${ctx.events.lastSeq + 1}${'x'.repeat(size)}`,
      reason: 'count',
    });
}

const seqs = (frames: Frame[]) => frames.filter((f) => f.type !== 'hello').map((f) => f.seq);

describe('sink WebSocket feed', () => {
  let api: Api;
  afterEach(async () => {
    await api?.close();
  });

  it('sends hello, then the replay after since, then live events, without duplicates', async () => {
    api = await startFakeApi();
    addEvents(api.ctx, 10);
    const c = await connect(api, '?since=4');
    await until(() => c.frames.length >= 7, 'replay');
    const hello = c.frames[0] as FeedHello;
    assert.equal(hello.type, 'hello');
    assert.equal(hello.protocol, PROTOCOL_VERSION);
    assert.equal(hello.instance, 'fake-instance');
    assert.equal(hello.oldestSeq, 1);
    assert.equal(hello.lastSeq, 10);
    assert.equal(hello.since, 4);
    addEvents(api.ctx, 5);
    await until(() => c.frames.length >= 12, 'live');
    assert.deepEqual(seqs(c.frames), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    c.ws.close();
  });

  it('without since streams live events only', async () => {
    api = await startFakeApi();
    addEvents(api.ctx, 3);
    const c = await connect(api);
    await until(() => c.frames.length >= 1, 'hello');
    addEvents(api.ctx, 2);
    await until(() => c.frames.length >= 3, 'live');
    assert.equal((c.frames[0] as FeedHello).since, 3);
    assert.deepEqual(seqs(c.frames), [4, 5]);
    c.ws.close();
  });

  it('announces a gap when since is older than the window, then replays what is left', async () => {
    api = await startFakeApi({ ctx: new FakeSinkContext({ window: 10 }) });
    addEvents(api.ctx, 25);
    const c = await connect(api, '?since=5');
    await until(() => c.frames.length >= 12, 'gap and replay');
    const gap = c.frames[1] as SinkEvent<'gap'>;
    assert.equal(gap.type, 'gap');
    assert.deepEqual(gap.data, { from: 6, to: 15, missed: 10 });
    assert.equal(gap.seq, 16);
    assert.deepEqual(seqs(c.frames).slice(1), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    c.ws.close();
  });

  it('replays from the window start when since refers to another sink instance', async () => {
    api = await startFakeApi();
    addEvents(api.ctx, 6);
    const c = await connect(api, '?since=4&instance=previous-process');
    await until(() => c.frames.length >= 7, 'replay');
    assert.equal((c.frames[0] as FeedHello).since, 0);
    assert.deepEqual(seqs(c.frames), [1, 2, 3, 4, 5, 6]);
    c.ws.close();
  });

  it('filters by types (with wildcards), always passing gaps', async () => {
    api = await startFakeApi({ ctx: new FakeSinkContext({ window: 5 }) });
    addEvents(api.ctx, 8);
    api.ctx.addMessage({ raw: 'Subject: a\r\n\r\nb' });
    const c = await connect(api, '?since=0&types=message.rec*');
    await until(() => c.frames.length >= 3, 'frames');
    assert.deepEqual(
      c.frames.slice(1).map((f) => f.type),
      ['gap', 'message.received'],
    );
    const bad = await upgradeStatus(wsUrl(api, '?types=nope'), [], api.auth);
    assert.equal(bad, 400);
    c.ws.close();
  });

  it('refuses feed clients beyond the bound with 503', async () => {
    api = await startFakeApi({ feed: { maxClients: 2 } });
    const a = await connect(api);
    const b = await connect(api);
    assert.equal(await upgradeStatus(wsUrl(api), [], api.auth), 503);
    a.ws.close();
    await a.closed;
    await until(() => api.api.feed.clientCount === 1, 'a slot to free up');
    assert.equal(await upgradeStatus(wsUrl(api), [], api.auth), 101);
    b.ws.close();
  });

  it('rejects a malformed since with 400', async () => {
    api = await startFakeApi();
    for (const q of ['?since=-1', '?since=abc', '?since=1e3'])
      assert.equal(await upgradeStatus(wsUrl(api, q), [], api.auth), 400, q);
  });

  describe('authentication', () => {
    it('401 without a token, with a wrong one, or with the token in the query string', async () => {
      api = await startFakeApi();
      assert.equal(await upgradeStatus(wsUrl(api), [], {}), 401);
      assert.equal(await upgradeStatus(wsUrl(api), [], { authorization: 'Bearer wrong' }), 401);
      assert.equal(await upgradeStatus(wsUrl(api, `?token=${api.token}`), [], {}), 401);
    });

    it('accepts the Authorization header and the bearer subprotocol (selecting ours, never echoing the token)', async () => {
      api = await startFakeApi();
      assert.equal(await upgradeStatus(wsUrl(api), [], api.auth), 101);
      const c = await connect(api, '', {
        headers: {},
        protocols: [FEED_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${api.token}`],
      });
      assert.equal(c.ws.protocol, FEED_SUBPROTOCOL);
      c.ws.close();
    });

    it('a wrong or empty token is refused with 401 before the upgrade, whether offered as a subprotocol or in the header', async () => {
      api = await startFakeApi();
      const cases: Array<[string, string[], Record<string, string>]> = [
        ['wrong subprotocol token', [FEED_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}wrong`], {}],
        ['empty subprotocol token', [FEED_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX], {}],
        [
          'token prefix only',
          [FEED_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${(api.token as string).slice(0, -1)}`],
          {},
        ],
        ['wrong Bearer header', [FEED_SUBPROTOCOL], { authorization: 'Bearer wrong' }],
        ['empty Bearer header', [FEED_SUBPROTOCOL], { authorization: 'Bearer ' }],
        [
          'empty Basic password',
          [FEED_SUBPROTOCOL],
          { authorization: `Basic ${Buffer.from('user:').toString('base64')}` },
        ],
        [
          'wrong header and wrong subprotocol',
          [FEED_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}wrong`],
          { authorization: 'Bearer also-wrong' },
        ],
      ];
      for (const [what, protocols, headers] of cases)
        assert.equal(await upgradeStatus(wsUrl(api), protocols, headers), 401, what);
      assert.equal(api.api.feed.clientCount, 0, 'no refused client was registered');
      // The same offers with the right token do upgrade: the refusals above are about the token, not the shape.
      assert.equal(
        await upgradeStatus(
          wsUrl(api),
          [FEED_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${api.token}`],
          {},
        ),
        101,
      );
      assert.equal(
        await upgradeStatus(wsUrl(api), [FEED_SUBPROTOCOL], {
          authorization: `Bearer ${api.token}`,
        }),
        101,
      );
    });

    it('--no-auth (token null) accepts any client', async () => {
      api = await startFakeApi({ token: null });
      assert.equal(await upgradeStatus(wsUrl(api), [], {}), 101);
    });

    it('an upgrade on another path is 404', async () => {
      api = await startFakeApi();
      assert.equal(
        await upgradeStatus(`${api.base.replace('http', 'ws')}/api/other`, [], api.auth),
        404,
      );
    });
  });

  it('closes a client that stops answering pings with 4008 (it may only have stopped reading; ping rounds on a FakeClock)', async () => {
    const clock = new FakeClock();
    api = await startFakeApi({ feed: { pingIntervalMs: 1000, clock } });
    const c = await connect(api, '', { autoPong: false });
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await clock.advance(999);
    assert.equal(pings, 0, 'no ping before the interval');
    await clock.advance(1);
    await until(() => pings === 1, 'the first ping');
    assert.equal(api.api.feed.clientCount, 1, 'one unanswered ping is not yet a dead client');
    await clock.advance(1000);
    await until(() => api.api.feed.clientCount === 0, 'the client removed at the second round');
    assert.equal((await c.closed).code, FEED_CLOSE_TOO_SLOW);
    assert.match(
      await (await fetch(`${api.base}/metrics`)).text(),
      /email_sink_feed_clients_dropped_total\{reason="dead"\} 1/,
    );
  });

  it('keeps a client that answers pings, however long it takes between rounds', async () => {
    const clock = new FakeClock();
    api = await startFakeApi({ feed: { pingIntervalMs: 1000, clock } });
    const c = await connect(api);
    let pings = 0;
    c.ws.on('ping', () => pings++);
    for (let round = 1; round <= 5; round++) {
      await clock.advance(1000);
      await until(() => pings === round, `ping ${round}`);
      // Our own ping's pong comes back after the server read the auto-pong sent before it (one ordered stream).
      const pong = new Promise<void>((resolve) => c.ws.once('pong', () => resolve()));
      c.ws.ping();
      await pong;
      assert.equal(api.api.feed.clientCount, 1, `still there after round ${round}`);
    }
    assert.equal(api.api.feed.clientCount, 1);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    assert.doesNotMatch(
      await (await fetch(`${api.base}/metrics`)).text(),
      /email_sink_feed_clients_dropped_total\{reason="dead"\} [1-9]/,
    );
    c.ws.close();
  });

  it('drops a client that stops reading with 4008, bounding its buffer, and it can resume with since', async () => {
    const soft = 64 * 1024;
    api = await startFakeApi({
      ctx: new FakeSinkContext({ window: 100_000 }),
      feed: { softBufferBytes: soft, maxLagEvents: 500, closeTimeoutMs: 20_000 },
    });
    const c = await connect(api, '?since=0');
    await until(() => c.frames.length >= 1, 'hello');
    c.ws.pause();
    const eventSize = 4096;
    // Far more than the kernel's loopback socket buffers hold, so the sink's own buffer is tested.
    for (let i = 0; i < 40 && api.api.feed.clientCount > 0; i++) {
      addEvents(api.ctx, 500, eventSize);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => api.api.feed.clientCount === 0, 'slow client dropped', 10_000);
    assert.ok(
      api.api.feed.peakBufferedBytes <= soft + 2 * (eventSize + 200),
      `peak ${api.api.feed.peakBufferedBytes} bytes`,
    );
    c.ws.resume();
    const closed = await c.closed;
    assert.equal(closed.code, FEED_CLOSE_TOO_SLOW);
    assert.match(closed.reason, /since/);
    const got = seqs(c.frames);
    assert.deepEqual(
      got,
      Array.from({ length: got.length }, (_, i) => i + 1),
      'what it got before the drop is a prefix without holes',
    );
    // Resume: the rest arrives, nothing lost, nothing twice.
    const last = got.length;
    const r = await connect(api, `?since=${last}`);
    await until(
      () => r.frames.length >= 1 + api.ctx.events.lastSeq - last,
      'resumed replay',
      10_000,
    );
    assert.deepEqual(
      [...got, ...seqs(r.frames)],
      Array.from({ length: api.ctx.events.lastSeq }, (_, i) => i + 1),
    );
    r.ws.close();
  });

  it('a client that stops reading and misses pongs gets the 4008 close frame when it reads again, not EOF (issue 10, item 7)', async () => {
    // Production close deadline (no closeTimeoutMs override); pings every 20 ms.
    api = await startFakeApi({ feed: { pingIntervalMs: 20 } });
    const c = await connect(api, '?since=0');
    await until(() => c.frames.length >= 1, 'hello');
    c.ws.pause(); // stops reading: pings stay unread, so no pong goes back
    await until(
      () => api.api.feed.clientCount === 0,
      'the sink gives up on the silent client',
      10_000,
    );
    assert.equal(
      api.api.feed.socketCount,
      1,
      'its socket still holds a feed slot until the close handshake',
    );
    addEvents(api.ctx, 3);
    // Ten ping intervals later (the old code had destroyed the socket at the first missed pong).
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    await until(() => ticks >= 10, 'ten ping intervals');
    clearInterval(timer);
    c.ws.resume();
    const closed = await c.closed;
    assert.equal(closed.code, FEED_CLOSE_TOO_SLOW, `closed with ${closed.code} ${closed.reason}`);
    assert.match(closed.reason, /since/);
    await until(() => api.api.feed.socketCount === 0, 'slot freed after the handshake');
  });

  it('a client that keeps up through a large replay is paused and resumed, never dropped', async () => {
    api = await startFakeApi({
      ctx: new FakeSinkContext({ window: 50_000 }),
      feed: { softBufferBytes: 16 * 1024, maxLagEvents: 100 },
    });
    addEvents(api.ctx, 20_000, 100);
    const c = await connect(api, '?since=0');
    addEvents(api.ctx, 50);
    await until(() => c.frames.length >= 1 + 20_050, 'everything', 15_000);
    assert.deepEqual(
      seqs(c.frames),
      Array.from({ length: 20_050 }, (_, i) => i + 1),
    );
    assert.equal(api.api.feed.clientCount, 1);
    c.ws.close();
  });

  it('a client whose socket throws is cut off without breaking the ingest path or other clients', () => {
    const ctx = new FakeSinkContext();
    const feed = new EventFeed(ctx.events, ctx.instance, { pingIntervalMs: 60_000 });
    const fake = (throwing: boolean) => {
      const ws = Object.assign(new EventEmitter(), {
        bufferedAmount: 0,
        readyState: 1,
        CLOSED: 3,
        sent: [] as string[],
        terminated: false,
        send(data: string) {
          if (throwing && this.sent.length > 0) throw new Error('socket exploded');
          this.sent.push(data);
        },
        ping() {},
        close() {},
        terminate() {
          this.terminated = true;
        },
      });
      return ws;
    };
    const bad = fake(true);
    const good = fake(false);
    feed.attach(bad as unknown as WebSocket, { since: null });
    feed.attach(good as unknown as WebSocket, { since: null });
    assert.doesNotThrow(() => addEvents(ctx, 3));
    assert.equal(bad.terminated, true);
    assert.equal(good.sent.length, 4, 'hello and three events');
    assert.equal(feed.clientCount, 1);
    void feed.close();
  });

  it('shutdown closes every client with 1001 and a close frame', async () => {
    api = await startFakeApi();
    const a = await connect(api);
    const b = await connect(api);
    await api.close();
    assert.deepEqual((await a.closed).code, FEED_CLOSE_GOING_AWAY);
    assert.deepEqual((await b.closed).code, FEED_CLOSE_GOING_AWAY);
  });
});
