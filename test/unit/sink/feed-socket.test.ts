/**
 * The event feed (sink/feed.ts) against a scripted socket: what it sends,
 * when it pauses and resumes, which flushes it waits for, how it batches
 * frames (cork/uncork) and how it closes, where a real socket cannot be made
 * to hold exactly so many buffered bytes or to fail on cue. feed.test.ts
 * drives the same code through real WebSockets.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import {
  FEED_CLOSE_GOING_AWAY,
  FEED_CLOSE_TOO_SLOW,
  type FeedHello,
} from '../../../src/protocol.ts';
import { EventFeed, type EventFeedOptions } from '../../../sink/feed.ts';
import type { Logger } from '../../../sink/types.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeSinkContext } from '../../support/fake-sink-context.ts';

type Callback = (err?: Error | null) => void;

interface FakeTcp {
  corks: number;
  uncorks: number;
  destroyed: boolean;
  cork?: () => void;
  uncork?: () => void;
}

/** The parts of a `ws` WebSocket the feed uses, scripted: nothing is flushed until the test says so. */
class FakeSocket extends EventEmitter {
  bufferedAmount = 0;
  readyState = 1;
  readonly CLOSED = 3;
  sent: { data: string; cb: Callback | undefined }[] = [];
  pings: (Callback | undefined)[] = [];
  closes: { code: number; reason: string }[] = [];
  terminated = 0;
  throwOnPing = false;
  throwOnClose = false;
  /** Whether the peer answers a close frame (its 'close' follows on the next turn). */
  answersClose = true;
  _socket: FakeTcp | undefined;

  constructor(
    tcp: 'corkable' | 'none' | 'cork only' | 'uncork only' | 'uncork throws' = 'corkable',
  ) {
    super();
    if (tcp === 'none') return;
    const s: FakeTcp = { corks: 0, uncorks: 0, destroyed: false };
    if (tcp !== 'uncork only')
      s.cork = () => {
        s.corks++;
      };
    if (tcp === 'uncork throws')
      s.uncork = () => {
        throw new Error('uncork failed');
      };
    else if (tcp !== 'cork only')
      s.uncork = () => {
        s.uncorks++;
      };
    this._socket = s;
  }

  send(data: string, cb?: Callback): void {
    this.sent.push({ data, cb });
  }
  ping(_data?: unknown, _mask?: unknown, cb?: Callback): void {
    if (this.throwOnPing) throw new Error('ping failed');
    this.pings.push(cb);
  }
  close(code: number, reason: string): void {
    if (this.throwOnClose) throw new Error('close failed');
    this.closes.push({ code, reason });
    if (this.answersClose)
      setImmediate(() => {
        this.readyState = this.CLOSED;
        this.emit('close');
      });
  }
  terminate(): void {
    this.terminated++;
    this.readyState = this.CLOSED;
    this.emit('close');
  }
  /** The frames sent, parsed. */
  frames(): { type: string; seq?: number; since?: number }[] {
    return this.sent.map((s) => JSON.parse(s.data) as { type: string; seq?: number });
  }
  /** The seqs of the events sent (hello left out). */
  seqs(): number[] {
    return this.frames().flatMap((f) => (f.type === 'hello' || f.seq === undefined ? [] : [f.seq]));
  }
}

function asWs(s: FakeSocket): WebSocket {
  return s as unknown as WebSocket;
}

class RecordingLogger implements Logger {
  lines: [string, string, Record<string, unknown> | undefined][] = [];
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(['debug', msg, fields]);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(['info', msg, fields]);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(['warn', msg, fields]);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push(['error', msg, fields]);
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await turn();
  }
}

function add(
  ctx: FakeSinkContext,
  n: number,
  type: 'message.evicted' | 'message.deleted' = 'message.evicted',
): void {
  for (let i = 0; i < n; i++)
    if (type === 'message.evicted')
      ctx.events.append('message.evicted', { id: `e${ctx.events.lastSeq + 1}`, reason: 'count' });
    else ctx.events.append('message.deleted', { id: `e${ctx.events.lastSeq + 1}` });
}

describe('sink feed against a scripted socket', () => {
  let ctx: FakeSinkContext;
  let clock: FakeClock;
  let logger: RecordingLogger;
  let feed: EventFeed | undefined;
  let dropped: string[];
  const SOFT = 1000;

  function makeFeed(options: EventFeedOptions = {}): EventFeed {
    feed = new EventFeed(ctx.events, ctx.instance, {
      clock,
      logger,
      softBufferBytes: SOFT,
      onClientDropped: (reason) => dropped.push(reason),
      ...options,
    });
    return feed;
  }

  beforeEach(() => {
    ctx = new FakeSinkContext();
    clock = new FakeClock();
    logger = new RecordingLogger();
    dropped = [];
    feed = undefined;
  });
  afterEach(async () => {
    await feed?.close();
  });

  it('an empty socket: hello, replay and live frames without flush callbacks, corked once per turn', async () => {
    add(ctx, 3);
    const f = makeFeed();
    const s = new FakeSocket();
    f.attach(asWs(s), { since: 1 });
    assert.deepEqual(s.frames()[0], {
      type: 'hello',
      protocol: (s.frames()[0] as FeedHello).protocol,
      instance: ctx.instance,
      oldestSeq: 1,
      lastSeq: 3,
      since: 1,
    });
    assert.deepEqual(s.seqs(), [2, 3]);
    assert.ok(
      s.sent.every((x) => x.cb === undefined),
      'no flush callback while the socket is empty',
    );
    assert.deepEqual([s._socket?.corks, s._socket?.uncorks], [1, 0], 'corked for the turn');
    await turn();
    assert.deepEqual([s._socket?.corks, s._socket?.uncorks], [1, 1], 'uncorked after it');
    add(ctx, 2);
    assert.deepEqual(s.seqs(), [2, 3, 4, 5]);
    assert.deepEqual([s._socket?.corks, s._socket?.uncorks], [2, 1], 'one cork for the two frames');
    await turn();
    assert.deepEqual([s._socket?.corks, s._socket?.uncorks], [2, 2]);
  });

  it('a socket that cannot cork (no TCP socket, or one without cork or uncork) is fed without corking', async () => {
    add(ctx, 2);
    const f = makeFeed();
    for (const kind of ['none', 'cork only', 'uncork only'] as const) {
      const s = new FakeSocket(kind);
      f.attach(asWs(s), { since: 0 });
      assert.deepEqual(s.seqs(), [1, 2], kind);
      assert.equal(s._socket?.corks ?? 0, 0, kind);
    }
    const destroyed = new FakeSocket();
    destroyed._socket!.destroyed = true;
    f.attach(asWs(destroyed), { since: 0 });
    assert.deepEqual([destroyed.seqs(), destroyed._socket?.corks], [[1, 2], 0]);
    await turn();
  });

  it('an uncork that throws is logged at debug and the feed goes on', async () => {
    const f = makeFeed();
    const s = new FakeSocket('uncork throws');
    f.attach(asWs(s), { since: null });
    await turn();
    assert.deepEqual(logger.lines, [
      ['debug', 'feed client flush failed', { error: 'uncork failed' }],
    ]);
    add(ctx, 1);
    assert.deepEqual(s.seqs(), [1]);
    await turn();
  });

  it('the largest socket buffer seen after a send is the peak', () => {
    const f = makeFeed({ softBufferBytes: 1_000_000 });
    const s = new FakeSocket('none');
    f.attach(asWs(s), { since: null });
    const hello = s.sent[0].data.length;
    assert.equal(f.peakBufferedBytes, hello);
    s.bufferedAmount = 5000;
    add(ctx, 1);
    const first = 5000 + s.sent[1].data.length;
    assert.equal(f.peakBufferedBytes, first);
    s.bufferedAmount = 10;
    add(ctx, 1);
    assert.equal(f.peakBufferedBytes, first, 'a smaller buffer later does not lower it');
  });

  it('since refers to this instance when the client names it, else replay starts at the window', () => {
    add(ctx, 3);
    const f = makeFeed();
    const same = new FakeSocket();
    f.attach(asWs(same), { since: 2, instance: ctx.instance });
    assert.equal(same.frames()[0].since, 2);
    assert.deepEqual(same.seqs(), [3]);
    const other = new FakeSocket();
    f.attach(asWs(other), { since: 2, instance: 'an-earlier-sink' });
    assert.equal(other.frames()[0].since, 0);
    assert.deepEqual(other.seqs(), [1, 2, 3]);
  });

  it('a type filter applies to live events as to the replay', () => {
    add(ctx, 1, 'message.deleted');
    const f = makeFeed();
    const s = new FakeSocket();
    f.attach(asWs(s), { since: 0, types: new Set(['message.deleted']) });
    add(ctx, 1, 'message.evicted');
    add(ctx, 1, 'message.deleted');
    assert.deepEqual(s.seqs(), [1, 3]);
  });

  it('follows analyses only while a client takes message.analyzed events', () => {
    const f = makeFeed();
    assert.equal(f.followsAnalyses, false);
    const other = new FakeSocket();
    f.attach(asWs(other), { since: null, types: new Set(['message.received']) });
    assert.equal(f.followsAnalyses, false);
    const listed = new FakeSocket();
    f.attach(asWs(listed), { since: null, types: new Set(['message.analyzed']) });
    assert.equal(f.followsAnalyses, true);
    listed.emit('close');
    assert.equal(f.followsAnalyses, false);
    const all = new FakeSocket();
    f.attach(asWs(all), { since: null });
    assert.equal(f.followsAnalyses, true);
  });

  it('a replay into a socket holding exactly the soft limit waits for the flush of what is queued, then goes on', async () => {
    add(ctx, 3);
    const f = makeFeed();
    const s = new FakeSocket('none');
    s.bufferedAmount = SOFT;
    f.attach(asWs(s), { since: 0 });
    assert.deepEqual(s.seqs(), [], 'paused at once');
    assert.equal(s.sent.length, 1, 'the hello');
    assert.equal(typeof s.sent[0].cb, 'function', 'sent behind queued data: its flush is tracked');
    assert.equal(s.pings.length, 0, 'the hello flush is the point to wait for, no ping needed');
    s.bufferedAmount = 0;
    s.sent[0].cb?.(null);
    assert.deepEqual(s.seqs(), [1, 2, 3]);
    add(ctx, 1);
    assert.deepEqual(s.seqs(), [1, 2, 3, 4], 'live again');
  });

  it('a live client whose socket reaches the soft limit pauses, pings, and catches up from the log once flushed', () => {
    const f = makeFeed();
    const s = new FakeSocket('none');
    f.attach(asWs(s), { since: null });
    s.bufferedAmount = SOFT;
    add(ctx, 2);
    assert.deepEqual(s.seqs(), []);
    assert.equal(s.pings.length, 1, 'a ping marks the point to wait for');
    s.bufferedAmount = 0;
    s.pings[0]?.(null);
    assert.deepEqual(s.seqs(), [1, 2]);
    assert.equal(f.clientCount, 1);
  });

  it('resumes only when every tracked flush has completed, and not after a failed one', () => {
    const f = makeFeed();
    const a = new FakeSocket('none');
    const b = new FakeSocket('none');
    f.attach(asWs(a), { since: null });
    f.attach(asWs(b), { since: null });
    for (const s of [a, b]) s.bufferedAmount = SOFT / 2;
    add(ctx, 2); // queued behind data: both tracked
    for (const s of [a, b]) {
      assert.deepEqual(s.seqs(), [1, 2]);
      assert.equal(s.sent.filter((x) => x.cb !== undefined).length, 2);
      s.bufferedAmount = SOFT;
    }
    add(ctx, 1); // the limit: paused, waiting for the two flushes (no ping)
    for (const s of [a, b]) {
      assert.equal(s.pings.length, 0);
      s.bufferedAmount = 0;
      s.sent[1].cb?.(null);
      assert.deepEqual(s.seqs(), [1, 2], 'one flush still pending');
    }
    a.sent[2].cb?.(null);
    assert.deepEqual(a.seqs(), [1, 2, 3]);
    b.sent[2].cb?.(new Error('write EPIPE'));
    assert.deepEqual(b.seqs(), [1, 2], 'a failed write does not resume');
  });

  it('a socket that closes while paused gets nothing more when a flush completes', () => {
    const f = makeFeed();
    const s = new FakeSocket('none');
    f.attach(asWs(s), { since: null });
    s.bufferedAmount = SOFT;
    add(ctx, 1);
    s.readyState = s.CLOSED;
    s.emit('close');
    assert.equal(f.clientCount, 0);
    s.bufferedAmount = 0;
    s.pings[0]?.(null);
    assert.deepEqual(s.seqs(), []);
  });

  it('a paused client may fall maxLagEvents further behind than it was at connect, no more: then 4008', () => {
    add(ctx, 10);
    const f = makeFeed({ maxLagEvents: 2 });
    const s = new FakeSocket('none');
    s.bufferedAmount = SOFT;
    f.attach(asWs(s), { since: 5 }); // 5 behind at connect, paused at once
    add(ctx, 2); // 7 behind
    assert.equal(f.clientCount, 1);
    assert.deepEqual(s.closes, []);
    add(ctx, 1); // 8 behind
    assert.equal(f.clientCount, 0);
    assert.deepEqual(s.closes, [
      { code: FEED_CLOSE_TOO_SLOW, reason: 'too slow, resume with since' },
    ]);
    assert.deepEqual(dropped, ['slow']);
    assert.deepEqual(logger.lines, [
      ['info', 'feed client too slow; dropped so it can resume', { lastSent: 5, lastSeq: 13 }],
    ]);
    // Its flush completing later sends nothing after the close frame.
    s.bufferedAmount = 0;
    s.sent[0].cb?.(null);
    assert.deepEqual(s.seqs(), []);
  });

  it('with no lag allowed, the first event while paused drops it', () => {
    add(ctx, 10);
    const f = makeFeed({ maxLagEvents: 0 });
    const s = new FakeSocket('none');
    s.bufferedAmount = SOFT;
    f.attach(asWs(s), { since: 5 });
    add(ctx, 1);
    assert.equal(f.clientCount, 0);
    assert.equal(s.closes[0]?.code, FEED_CLOSE_TOO_SLOW);
  });

  it('a paused client whose next event leaves the retained window is dropped', () => {
    ctx = new FakeSinkContext({ window: 5 });
    add(ctx, 10);
    const f = makeFeed({ maxLagEvents: 1000 });
    const s = new FakeSocket('none');
    f.attach(asWs(s), { since: null });
    s.bufferedAmount = SOFT;
    add(ctx, 5); // seqs 11..15 retained: 11, the next it needs, is the oldest
    assert.equal(f.clientCount, 1);
    add(ctx, 1); // 11 gone
    assert.equal(f.clientCount, 0);
    assert.equal(s.closes[0]?.code, FEED_CLOSE_TOO_SLOW);
  });

  it('ping rounds: no pong by the next round is 4008; a ping that throws terminates the socket', async () => {
    const f = makeFeed({ pingIntervalMs: 1000 });
    const quiet = new FakeSocket();
    const answering = new FakeSocket();
    const broken = new FakeSocket();
    broken.throwOnPing = true;
    for (const s of [quiet, answering, broken]) f.attach(asWs(s), { since: null });
    await clock.advance(1000);
    assert.deepEqual([quiet.pings.length, answering.pings.length], [1, 1]);
    assert.equal(broken.terminated, 1);
    answering.emit('pong');
    await clock.advance(1000);
    assert.deepEqual(quiet.closes, [
      { code: FEED_CLOSE_TOO_SLOW, reason: 'no pong, resume with since' },
    ]);
    assert.deepEqual(answering.closes, []);
    assert.equal(answering.pings.length, 2);
    assert.deepEqual(dropped, ['dead']);
    assert.ok(
      logger.lines.some(
        ([level, msg]) =>
          level === 'info' && msg === 'feed client did not answer a ping; closing with 4008',
      ),
    );
  });

  it('socket errors are logged at debug; a client whose send throws is terminated and logged at warn', () => {
    const f = makeFeed();
    const s = new FakeSocket();
    f.attach(asWs(s), { since: null });
    s.emit('error', new Error('read ECONNRESET'));
    assert.deepEqual(logger.lines, [['debug', 'feed client error', { error: 'read ECONNRESET' }]]);
    s.send = () => {
      throw new Error('socket exploded');
    };
    add(ctx, 1);
    assert.equal(s.terminated, 1);
    assert.equal(f.clientCount, 0);
    assert.deepEqual(logger.lines[1], [
      'warn',
      'feed client failed; terminated',
      { error: 'socket exploded' },
    ]);
  });

  it('shutdown: 1001 to each client, the ping timer and the log subscription released, later clients refused', async () => {
    const f = makeFeed({ pingIntervalMs: 1000 });
    assert.equal(clock.pending, 1);
    assert.equal(ctx.events.listenerCount, 1);
    const s = new FakeSocket();
    f.attach(asWs(s), { since: null });
    const closing = f.close();
    assert.deepEqual(s.closes, [{ code: FEED_CLOSE_GOING_AWAY, reason: 'sink shutting down' }]);
    await closing;
    assert.equal(clock.pending, 0);
    assert.equal(ctx.events.listenerCount, 0);
    const late = new FakeSocket();
    f.attach(asWs(late), { since: null });
    assert.deepEqual(late.closes, [{ code: FEED_CLOSE_GOING_AWAY, reason: 'sink shutting down' }]);
    assert.equal(late.sent.length, 0);
    assert.equal(f.clientCount, 0);
  });

  it('shutdown terminates a socket that does not finish the close handshake, and one already closing with 4008, at closeTimeoutMs', async () => {
    add(ctx, 10);
    const f = makeFeed({ maxLagEvents: 0, closeTimeoutMs: 5, slowCloseTimeoutMs: 600_000 });
    const slow = new FakeSocket('none');
    slow.answersClose = false;
    slow.bufferedAmount = SOFT;
    f.attach(asWs(slow), { since: 5 });
    add(ctx, 1);
    assert.equal(slow.closes[0]?.code, FEED_CLOSE_TOO_SLOW);
    assert.equal(f.socketCount, 1, 'its close handshake is pending');
    const silent = new FakeSocket('none');
    silent.answersClose = false;
    f.attach(asWs(silent), { since: null });
    await f.close();
    assert.equal(silent.terminated, 1);
    await until(() => slow.terminated === 1, 'the 4008 client cut at the shutdown deadline');
    assert.equal(f.socketCount, 0);
  });

  it('shutdown with a socket already closed does not wait for it; a close that throws terminates', async () => {
    const f = makeFeed({ closeTimeoutMs: 600_000 });
    const gone = new FakeSocket();
    const throwing = new FakeSocket();
    throwing.throwOnClose = true;
    f.attach(asWs(gone), { since: null });
    f.attach(asWs(throwing), { since: null });
    gone.readyState = gone.CLOSED;
    const closing = f.close();
    assert.equal(f.socketCount, 0);
    assert.deepEqual(gone.closes, []);
    assert.equal(throwing.terminated, 1);
    await closing;
  });
});
