/**
 * The feed's resume guarantee end to end: a SinkClient follows a stream of
 * thousands of events while the server side kills its sockets mid-stream; it
 * must reconnect with `since` and deliver every event exactly once, in order.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { FakeSinkContext, startFakeApi } from '../../support/fake-sink-context.ts';
import { SinkClient, type FeedStatus } from '../../../plugin/lib/sink-client.ts';
import type { SinkEvent } from '../../../src/protocol.ts';

async function until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const TOTAL = 6_000;
const KILLS = 6;

describe('feed resume with forced disconnects (integration)', function () {
  this.timeout(60_000);
  /** Closed after each test even when an assertion failed, so mocha can exit. */
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)().catch(() => {});
  });

  it(`delivers ${TOTAL} events exactly once across ${KILLS} server-side socket kills`, async () => {
    const api = await startFakeApi({ ctx: new FakeSinkContext({ window: 100_000 }) });
    cleanups.push(() => api.close());
    const sockets = new Set<Duplex>();
    api.api.server.on('upgrade', (_req, socket: Duplex) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const client = new SinkClient({ url: api.base, token: api.token });
    const got: SinkEvent[] = [];
    const statuses: FeedStatus[] = [];
    const controller = new AbortController();
    cleanups.push(
      () => client.close(),
      async () => controller.abort(),
    );
    const produce = (n: number) => {
      for (let i = 0; i < n; i++) {
        const k = api.ctx.store.count + 1;
        api.ctx.addMessage({
          raw: `Subject: message ${k}\r\nTo: user${k}@example.com\r\n\r\nbody ${k}\r\n`,
          to: [`user${k}@example.com`],
        });
      }
    };
    // Half the stream exists before the client connects (kills land in its replay), half arrives live.
    produce(TOTAL / 2);
    const killAt = Array.from({ length: KILLS }, (_, i) =>
      Math.floor(((i + 1) * TOTAL) / (KILLS + 1)),
    );
    let kills = 0;
    let killedWithMorePending = 0;
    /** A kill lands on a live socket unless the client is still reading frames of one already killed. */
    let effectiveKills = 0;
    const following = client.events({
      since: 0,
      signal: controller.signal,
      onEvent: (e) => {
        got.push(e);
        if (got.length === killAt[kills]) {
          // Mid-stream by construction: the client holds exactly this many, more are on their way.
          if (api.ctx.events.lastSeq > got.length || got.length < TOTAL) killedWithMorePending++;
          if (sockets.size > 0) effectiveKills++;
          for (const s of sockets) s.destroy();
          kills++;
        }
      },
      onStatus: (s) => statuses.push(s),
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
    });
    while (api.ctx.store.count < TOTAL) {
      produce(Math.min(50, TOTAL - api.ctx.store.count));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => got.length >= TOTAL, `all ${TOTAL} events (got ${got.length})`);
    // Anything extra would show up now.
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await following;

    const seqs = got.map((e) => e.seq);
    assert.equal(seqs.length, TOTAL, 'no duplicates');
    assert.deepEqual(
      seqs,
      Array.from({ length: TOTAL }, (_, i) => i + 1),
      'no holes, in order',
    );
    assert.ok(got.every((e) => e.type === 'message.received'));
    assert.equal(new Set(got.map((e) => e.data.id)).size, TOTAL);
    assert.equal(kills, KILLS);
    assert.equal(killedWithMorePending, KILLS);
    const connects = statuses.filter((s) => s.state === 'connected');
    assert.ok(effectiveKills >= KILLS / 2, `${effectiveKills} kills hit a live socket`);
    // A kill can land after the sink already wrote the rest of the stream into the socket, which
    // the client then reads to the end; most kills, though, force a resume.
    assert.ok(
      connects.length >= 3,
      `resumed several times (${connects.length} connections, ${effectiveKills} kills)`,
    );
    assert.ok(
      connects.slice(1).every((s) => s.state === 'connected' && s.resumed),
      'every reconnect resumed the same instance',
    );
    await client.close();
    await api.close();
  });

  it('detects a sink restart (new instance) and replays the new sink from its start', async () => {
    const first = await startFakeApi({ ctx: new FakeSinkContext({ instance: 'one' }) });
    cleanups.push(() => first.close());
    let base = first.base;
    const client = new SinkClient({ url: () => base, token: first.token });
    cleanups.push(() => client.close());
    const got: Array<{ instance: string; seq: number }> = [];
    let instance = '';
    const statuses: FeedStatus[] = [];
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const following = client.events({
      since: 0,
      signal: controller.signal,
      onHello: (h) => {
        instance = h.instance;
      },
      onEvent: (e) => got.push({ instance, seq: e.seq }),
      onStatus: (s) => statuses.push(s),
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
    });
    for (let i = 0; i < 5; i++) first.ctx.events.append('rules.updated', { count: i });
    await until(() => got.length >= 5, 'first sink events');
    // The second sink already has events when the client finds it.
    const second = await startFakeApi({
      ctx: new FakeSinkContext({ instance: 'two' }),
      token: first.token,
    });
    cleanups.push(() => second.close());
    for (let i = 0; i < 3; i++) second.ctx.events.append('rules.updated', { count: i });
    base = second.base;
    await first.close();
    await until(() => got.length >= 8, 'second sink events');
    controller.abort();
    await following;
    assert.deepEqual(got, [
      ...[1, 2, 3, 4, 5].map((seq) => ({ instance: 'one', seq })),
      ...[1, 2, 3].map((seq) => ({ instance: 'two', seq })),
    ]);
    assert.ok(
      statuses.some(
        (s) => s.state === 'restarted' && s.previousInstance === 'one' && s.instance === 'two',
      ),
    );
    await client.close();
    await second.close();
  });
});
