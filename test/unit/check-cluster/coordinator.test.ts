import assert from 'node:assert/strict';
import { createCoordinator, type Coordinator } from '../../../plugin/lib/check-cluster/coordinator.ts';
import { FakeClock, flushMicrotasks } from '../../support/fake-clock.ts';
import type { CoordinatorLimits, LeaseResponse, PermitResponse, PullResponse, PushResponse, WorkItem } from '../../../src/check-cluster/protocol.ts';

const TOKEN = 'test-token-123';
const limits = (over: Partial<CoordinatorLimits> = {}): CoordinatorLimits => ({
  concurrency: 100, rate: null, burst: 1, domainConcurrency: 1, domainRate: 1000, mxConcurrency: 5, mxRate: 1000, ...over,
});
const net = (from: number, to: number): WorkItem[] => Array.from({ length: to - from + 1 }, (_, k) => ({ i: from + k, a: `u${from + k}@d.example`, n: true }));
const result = (index: number) => ({
  address: `u${index}@d.example`, normalized: `u${index}@d.example`, verdict: 'valid', reasons: [], index,
  checks: { syntax: { category: 'valid', diagnosis: 'valid', smtputf8: false, idn: false, literal: false } },
});

describe('check-cluster: coordinator API', () => {
  let clock: FakeClock;
  let c: Coordinator;
  let base = '';
  async function start(l: CoordinatorLimits, maxLive?: number): Promise<void> {
    clock = new FakeClock(0);
    c = createCoordinator({ token: TOKEN, limits: l, clock, longPollMs: 5000, maxLive });
    const port = await c.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
  }
  afterEach(async () => { await c?.close(); });
  const post = async <T>(path: string, body: unknown, token = TOKEN): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    return { status: r.status, body: await r.json() as T };
  };
  /** Lets a long poll register its wait on the fake clock, then fires it. */
  const settle = async (ms: number): Promise<void> => {
    for (let k = 0; k < 20 && clock.pending === 0; k++) await new Promise((r) => setImmediate(r));
    await clock.advance(ms);
  };

  it('refuses requests without the bearer token; probes need none', async () => {
    await start(limits());
    assert.equal((await post('/v1/push', { items: [] }, 'wrong')).status, 401);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await post('/v1/push', { items: [{ i: 0, a: 'x', n: false }] })).status, 400);
  });

  it('holds the global concurrency for all shards together: network items are leased only while slots are free', async () => {
    await start(limits({ concurrency: 3 }));
    await post<PushResponse>('/v1/push', { items: net(1, 10) });
    const a = (await post<LeaseResponse>('/v1/lease', { shard: '0/a/1', max: 2 })).body;
    const b = (await post<LeaseResponse>('/v1/lease', { shard: '1/b/1', max: 2 })).body;
    assert.equal(a.items.length + b.items.length, 3);
    const pending = post<LeaseResponse>('/v1/lease', { shard: '2/c/1', max: 2 });
    await flushMicrotasks();
    assert.equal(c.table.netInFlight, 3);
    await post('/v1/results', { shard: '0/a/1', results: a.items.map((it) => result(it.i)) });
    const got = (await pending).body;
    assert.equal(got.items.length, 2, 'freed slots go to the waiting shard');
    assert.ok(c.table.netInFlight <= 3);
  });

  it('holds the global rate: one token per network item, refilled on the clock', async () => {
    await start(limits({ rate: 1, burst: 1 }));
    await post('/v1/push', { items: net(1, 3) });
    assert.equal((await post<LeaseResponse>('/v1/lease', { shard: '0/a/1', max: 10 })).body.items.length, 1);
    const next = post<LeaseResponse>('/v1/lease', { shard: '1/b/1', max: 10 });
    await settle(999);
    assert.equal(c.table.stats().leased, 1, 'no token before a second has passed');
    await clock.advance(2);
    assert.equal((await next).body.items.length, 1);
  });

  it('applies back-pressure to pushes and frees room as the CLI acknowledges results', async () => {
    await start(limits(), 10);
    const push = post<PushResponse>('/v1/push', { items: net(1, 15) });
    await settle(5000);
    const pushed = (await push).body;
    assert.deepEqual([pushed.accepted, pushed.highest], [10, 10]);
    const l = (await post<LeaseResponse>('/v1/lease', { shard: '0/a/1', max: 10 })).body;
    await post('/v1/results', { shard: '0/a/1', results: l.items.map((it) => result(it.i)) });
    const pulled = (await (await fetch(`${base}/v1/results?after=0`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as PullResponse;
    assert.equal(pulled.results.length, 10);
    await fetch(`${base}/v1/results?after=${pulled.cursor}&wait=0`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const more = (await post<PushResponse>('/v1/push', { items: net(11, 15) })).body;
    assert.deepEqual([more.accepted, more.highest, more.instance], [5, 15, pushed.instance]);
  });

  it('grants per-domain permits across shards and frees a replaced shard\'s permits', async () => {
    await start(limits({ domainConcurrency: 1 }));
    const first = (await post<PermitResponse>('/v1/permit', { shard: '0/a/1', scope: 'domain', key: 'd.example' })).body;
    assert.ok(first.permit);
    const second = post<PermitResponse>('/v1/permit', { shard: '1/b/1', scope: 'domain', key: 'd.example' });
    await flushMicrotasks();
    // Shard 0 is replaced by a new process: its permit is released, the waiter gets the slot.
    await post('/v1/heartbeat', { shard: '0/a/1' });
    await post('/v1/heartbeat', { shard: '0/a/2' });
    assert.ok((await second).body.permit);
    assert.equal((await post('/v1/lease', { shard: '0/a/1', max: 1 })).status, 409, 'the replaced process gets no more work');
  });

  it('answers a lease with done once all input was pushed and finished', async () => {
    await start(limits());
    await post('/v1/push', { items: [{ i: 1, a: 'a@b.example', n: false }] });
    await post('/v1/end', { total: 1 });
    const l = (await post<LeaseResponse>('/v1/lease', { shard: '0/a/1', max: 5 })).body;
    assert.equal(l.done, false);
    await post('/v1/results', { shard: '0/a/1', results: [result(1)] });
    assert.equal((await post<LeaseResponse>('/v1/lease', { shard: '0/a/1', max: 5 })).body.done, true);
  });
});
