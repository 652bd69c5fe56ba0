import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { FakeSinkContext, startFakeApi } from '../../../support/fake-sink-context.ts';
import { SinkClient, responseError, type FeedStatus } from '../../../../plugin/lib/sink-client.ts';
import { isEmailValidateError } from '../../../../src/errors.ts';
import type { SinkEvent } from '../../../../src/protocol.ts';

type Api = Awaited<ReturnType<typeof startFakeApi>>;

async function rejectsWith(
  p: Promise<unknown>,
  code: string,
): Promise<Error & { code: string; hint?: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isEmailValidateError(err), `expected an EmailValidateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('SinkClient', () => {
  let api: Api;
  let client: SinkClient;
  /** Extra resources of a test, released even when it fails so mocha can exit. */
  const cleanups: Array<() => unknown> = [];
  const track = <T>(value: T, release: (v: T) => unknown): T => {
    cleanups.push(() => release(value));
    return value;
  };
  beforeEach(async () => {
    api = await startFakeApi();
    client = new SinkClient({ url: api.base, token: api.token });
  });
  afterEach(async () => {
    while (cleanups.length > 0)
      await Promise.resolve((cleanups.pop() as () => unknown)()).catch(() => {});
    await client.close();
    await api.close();
  });

  it('lists, gets, downloads, searches, deletes and clears', async () => {
    const a = api.ctx.addMessage({ raw: 'Subject: first\r\n\r\nalpha', to: ['a+t1@example.com'] });
    api.ctx.addMessage({ raw: 'Subject: second\r\n\r\nbeta' });
    const list = await client.list({ limit: 1 });
    assert.equal(list.total, 2);
    assert.equal(list.items[0].subject, 'second');
    assert.equal((await client.list({ tag: 't1' })).items[0].id, a.id);
    assert.equal((await client.get(a.id)).text, 'alpha');
    assert.equal((await client.raw(a.id)).toString(), 'Subject: first\r\n\r\nalpha');
    assert.equal((await client.search('beta')).total, 1);
    await client.delete(a.id);
    await rejectsWith(client.get(a.id), 'EV_ERR_NOT_FOUND');
    assert.deepEqual(await client.clear(), { deleted: 1 });
  });

  it('downloads an attachment with its type and name', async () => {
    const m = api.ctx.addMessage({
      raw: 'Subject: x\r\n\r\ny',
      attachments: [
        {
          meta: {
            filename: 'résumé.pdf',
            contentType: 'application/pdf',
            size: 3,
            contentId: null,
            disposition: 'attachment',
            checksum: null,
          },
          content: Buffer.from('pdf'),
        },
      ],
    });
    const att = await client.attachment(m.id, 0);
    assert.equal(att.filename, 'résumé.pdf');
    assert.equal(att.contentType, 'application/pdf');
    assert.equal(att.content.toString(), 'pdf');
  });

  it('gets and puts rules; invalid rules surface as EV_ERR_RULES_INVALID', async () => {
    assert.deepEqual(await client.setRules('rules:\n  - name: x\n'), { count: 1 });
    assert.equal(await client.rules(), 'rules:\n  - name: x\n');
    const err = await rejectsWith(client.setRules('invalid: true'), 'EV_ERR_RULES_INVALID');
    assert.match(err.message, /rules\.yaml:1/);
  });

  it('reads stats, info and readiness', async () => {
    assert.equal((await client.stats()).instance, 'fake-instance');
    const info = await client.info();
    assert.equal(info.instance, 'fake-instance');
    assert.equal(await client.ready(), true);
    api.ctx.isReady = false;
    assert.equal(await client.ready(), false);
  });

  it('maps a wrong token to EV_ERR_UNAUTHORIZED with a hint', async () => {
    const bad = track(new SinkClient({ url: api.base, token: 'wrong' }), (c) => c.close());
    const err = await rejectsWith(bad.stats(), 'EV_ERR_UNAUTHORIZED');
    assert.match(err.hint ?? '', /--token/);
    assert.doesNotMatch(err.message, /wrong/);
    await bad.close();
  });

  it('maps a closed port to EV_ERR_SINK_UNREACHABLE', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const gone = track(new SinkClient({ url: `http://127.0.0.1:${port}`, token: 't' }), (c) =>
      c.close(),
    );
    const err = await rejectsWith(gone.list(), 'EV_ERR_SINK_UNREACHABLE');
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(err.hint);
    assert.equal(await gone.ready(), false);
    await gone.close();
  });

  it('retries once on a connection that dies under a request (a stale tunnel), then gives up', async () => {
    let connections = 0;
    const flaky = track(
      createNetServer((socket) => {
        const n = ++connections;
        socket.once('data', () => {
          if (n === 1) {
            socket.destroy();
            return;
          }
          const body = '{"instance":"i","messages":0}';
          socket.end(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          );
        });
      }),
      (srv) => srv.close(),
    );
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const c = track(
      new SinkClient({ url: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}` }),
      (x) => x.close(),
    );
    assert.equal((await c.stats()).instance, 'i');
    assert.equal(connections, 2);
    const dead = track(
      createNetServer((socket) => socket.once('data', () => socket.destroy())),
      (srv) => srv.close(),
    );
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const d = track(
      new SinkClient({ url: `http://127.0.0.1:${(dead.address() as AddressInfo).port}` }),
      (x) => x.close(),
    );
    await rejectsWith(d.stats(), 'EV_ERR_SINK_UNREACHABLE');
  });

  it('maps a non-sink answer to EV_ERR_SINK_RESPONSE', async () => {
    assert.equal(
      responseError(502, '<html>bad gateway</html>', 'GET /api/stats').code,
      'EV_ERR_SINK_RESPONSE',
    );
    assert.equal(responseError(404, '', 'GET /x').code, 'EV_ERR_NOT_FOUND');
    assert.equal(
      responseError(400, '{"error":{"code":"EV_ERR_BAD_REQUEST","message":"m"}}', 'GET /x').code,
      'EV_ERR_BAD_REQUEST',
    );
    assert.equal(
      responseError(500, '{"error":{"code":"NOT_OURS","message":"m"}}', 'GET /x').code,
      'EV_ERR_SINK_RESPONSE',
    );
  });

  it('keeps a path prefix of the base URL (API-server proxy paths)', async () => {
    const proxy = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    track(proxy, (p) => p.close());
    const c = new SinkClient({
      url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/namespaces/ns/services/sink:8025/proxy`,
    });
    assert.deepEqual(await c.stats(), {
      path: '/api/v1/namespaces/ns/services/sink:8025/proxy/api/stats',
    });
    await c.close();
    await new Promise<void>((r) => proxy.close(() => r()));
  });

  describe('events()', () => {
    it('replays from since, passes gaps, streams live, and resolves on abort', async () => {
      const small = track(await startFakeApi({ ctx: new FakeSinkContext({ window: 5 }) }), (a) =>
        a.close(),
      );
      const c = track(new SinkClient({ url: small.base, token: small.token }), (x) => x.close());
      for (let i = 0; i < 8; i++) small.ctx.events.append('rules.updated', { count: i });
      const got: SinkEvent[] = [];
      const gaps: SinkEvent[] = [];
      const controller = track(new AbortController(), (ctl) => ctl.abort());
      const done = c.events({
        since: 0,
        signal: controller.signal,
        onEvent: (e) => got.push(e),
        onGap: (g) => gaps.push(g),
      });
      await until(() => got.length >= 6, 'replay');
      small.ctx.events.append('rules.updated', { count: 99 });
      await until(() => got.length >= 7, 'live');
      controller.abort();
      await done;
      assert.deepEqual(
        got.map((e) => (e.type === 'gap' ? 'gap' : e.seq)),
        ['gap', 4, 5, 6, 7, 8, 9],
      );
      assert.equal(gaps.length, 1);
      await c.close();
      await small.close();
    });

    it('rejects with EV_ERR_UNAUTHORIZED on a refused token instead of retrying', async () => {
      const bad = track(new SinkClient({ url: api.base, token: 'wrong' }), (c) => c.close());
      await rejectsWith(bad.events({ onEvent: () => {} }), 'EV_ERR_UNAUTHORIZED');
      await bad.close();
    });

    it('gives up with EV_ERR_SINK_UNREACHABLE after giveUpAfterMs without a connection', async () => {
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      await new Promise<void>((r) => server.close(() => r()));
      const gone = track(new SinkClient({ url: `http://127.0.0.1:${port}` }), (c) => c.close());
      const statuses: FeedStatus[] = [];
      // A clock that records each wait and lets it pass at once, moving its time forward by it.
      const waits: number[] = [];
      let now = 0;
      const clock = {
        now: () => now,
        setTimeout: (fn: () => void, ms: number) => {
          waits.push(ms);
          now += ms;
          return setImmediate(fn);
        },
        clearTimeout: (h: unknown) => clearImmediate(h as NodeJS.Immediate),
      };
      const reconnect = { initialDelayMs: 100, maxDelayMs: 400, giveUpAfterMs: 1000 };
      await rejectsWith(
        gone.events({
          onEvent: () => {},
          onStatus: (s) => statuses.push(s),
          reconnect,
          clock,
          random: () => 0,
        }),
        'EV_ERR_SINK_UNREACHABLE',
      );
      // Exponential from 100 ms, capped at 400, with the lowest jitter (half); gives up once 1 s has passed on the clock.
      assert.deepEqual(waits, [50, 100, 200, 200, 200, 200, 200]);
      assert.deepEqual(
        statuses
          .filter((s) => s.state === 'disconnected')
          .map((s) => s.state === 'disconnected' && s.retryInMs),
        waits,
      );
      await gone.close();
    });

    it('an onEvent that throws ends events() with that error', async () => {
      const controller = track(new AbortController(), (ctl) => ctl.abort());
      const p = client.events({
        since: 0,
        signal: controller.signal,
        onEvent: () => {
          throw new Error('consumer failed');
        },
      });
      api.ctx.events.append('rules.updated', { count: 1 });
      await assert.rejects(p, /consumer failed/);
    });
  });
});
