/**
 * The API's connection guard on a plain HTTP server on loopback: who is refused
 * and who is evicted at the caps, that the per-client count follows closes,
 * that a finished request makes a connection idle again, and that neither a
 * request in flight nor an upgraded connection is cut by the idle timeout.
 * (The sink-level lockout scenarios are in test/integration/sink/api-lockout.test.ts.)
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ConnectionGuard } from '../../../../sink/http/connection-guard.ts';

interface Harness {
  server: Server;
  guard: ConnectionGuard;
  shed: Array<[string, string]>;
  /** Resolves the next /slow request. */
  slow: Array<() => void>;
  /** Connects, from `localAddress` when given (any 127.x.y.z is loopback on Linux). */
  open: (localAddress?: string) => Promise<Socket>;
  close: () => Promise<void>;
}

async function harness(
  options: ConstructorParameters<typeof ConnectionGuard>[1],
): Promise<Harness> {
  const slow: Array<() => void> = [];
  const server = createServer((req, res) => {
    if (req.url === '/slow') {
      slow.push(() => res.end('slow done'));
    } else res.end('ok');
  });
  const shed: Array<[string, string]> = [];
  const guard = new ConnectionGuard(server, {
    ...options,
    onShed: (kind, a) => shed.push([kind, a]),
  });
  const upgraded: Socket[] = [];
  server.on('upgrade', (_req, socket: Socket) => {
    upgraded.push(socket);
    guard.upgraded(socket);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  return {
    server,
    guard,
    shed,
    slow,
    open: (localAddress?: string) =>
      new Promise((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
        s.on('error', () => undefined);
        sockets.push(s);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    close: async () => {
      for (const s of [...sockets, ...upgraded]) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const closed = (s: Socket) =>
  s.destroyed && s.readableEnded
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        s.resume();
        s.once('close', () => resolve());
      });
/** Sends a request and resolves with the first chunk of the answer. */
const ask = (s: Socket, path: string) =>
  new Promise<string>((resolve) => {
    s.once('data', (d: Buffer) => resolve(d.toString()));
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
/** Resolves once the server is answering a /slow request. */
const inFlight = (h: Harness) =>
  new Promise<void>((resolve) => {
    const check = () => (h.slow.length > 0 ? resolve() : setImmediate(check));
    check();
  });
/** Resolves once the server has seen `n` connections (the guard counts them as they arrive). */
const admitted = (h: Harness, n: number) =>
  new Promise<void>((resolve) => {
    const check = () => (h.guard.size >= n ? resolve() : setImmediate(check));
    check();
  });

describe('ConnectionGuard (unit: a plain HTTP server on loopback)', function () {
  this.timeout(20_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('at the per-client cap with every connection busy, a new one is refused', async () => {
    h = await harness({ maxPerClient: 1, maxConnections: 10, idleTimeoutMs: 60_000 });
    const busy = await h.open();
    busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await inFlight(h);
    const refused = await h.open();
    await closed(refused);
    assert.deepEqual(h.shed, [['refused', '127.0.0.1']]);
    assert.equal(busy.destroyed, false);
  });

  it('at the global cap the oldest idle connection of any client is evicted', async () => {
    h = await harness({ maxPerClient: 10, maxConnections: 2, idleTimeoutMs: 60_000 });
    const first = await h.open();
    await h.open();
    await admitted(h, 2);
    await h.open();
    await closed(first);
    assert.deepEqual(h.shed, [['evicted', '127.0.0.1']]);
    assert.equal(h.guard.size, 2);
  });

  it('the per-client count follows closes; a finished request leaves its connection idle (evictable)', async () => {
    h = await harness({ maxPerClient: 2, maxConnections: 10, idleTimeoutMs: 60_000 });
    const a = await h.open();
    const b = await h.open();
    await admitted(h, 2);
    a.destroy();
    await new Promise<void>((resolve) => {
      const check = () => (h!.guard.size === 1 ? resolve() : setImmediate(check));
      check();
    });
    // One slot is free again: no eviction.
    const c = await h.open();
    assert.equal(await ask(c, '/').then((r) => r.includes('ok')), true);
    assert.deepEqual(h.shed, []);
    // B answered a request and is idle again: the next one evicts it (the oldest idle).
    assert.match(await ask(b, '/'), /ok$/);
    await h.open();
    await closed(b);
    assert.deepEqual(h.shed, [['evicted', '127.0.0.1']]);
    assert.equal(c.destroyed, false);
  });

  it('at the per-client cap the oldest idle connection of that client is evicted, not an older one of another', async () => {
    h = await harness({ maxPerClient: 1, maxConnections: 10, idleTimeoutMs: 60_000 });
    const other = await h.open('127.0.0.2');
    await admitted(h, 1);
    const mine = await h.open();
    await admitted(h, 2);
    await h.open();
    await closed(mine);
    assert.deepEqual(h.shed, [['evicted', '127.0.0.1']]);
    assert.equal(other.destroyed, false);
  });

  it('a connection with two pipelined requests stays busy until both are answered', async () => {
    h = await harness({ maxPerClient: 1, maxConnections: 10, idleTimeoutMs: 60_000 });
    const s = await h.open();
    let reply = '';
    s.on('data', (d: Buffer) => (reply += d.toString()));
    // One write: the server sees the second request while it answers the first.
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await inFlight(h);
    await new Promise<void>((resolve) => {
      const check = () => (reply.includes('ok') ? resolve() : setImmediate(check));
      check();
    });
    // The first answer is out, the second still in flight: a new connection is refused, not
    // let in by evicting this one.
    const refused = await h.open();
    await closed(refused);
    assert.deepEqual(h.shed, [['refused', '127.0.0.1']]);
    assert.equal(s.destroyed, false);
    h.slow[0]();
    await new Promise<void>((resolve) => {
      const check = () => (reply.includes('slow done') ? resolve() : setImmediate(check));
      check();
    });
  });

  it('the idle timeout spares a request in flight and an upgraded connection, and closes them once idle', async () => {
    h = await harness({ maxPerClient: 10, maxConnections: 10, idleTimeoutMs: 150 });
    const busy = await h.open();
    let reply = '';
    busy.on('data', (d: Buffer) => (reply += d.toString()));
    busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await inFlight(h);
    const upgraded = await h.open();
    const switched = new Promise<void>((resolve) => upgraded.once('data', () => resolve()));
    upgraded.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    await switched;
    // Opened last, so its timer fires last: when it is cut, the other two have timed out already.
    const idle = await h.open();
    await closed(idle);
    assert.equal(busy.destroyed, false);
    assert.equal(upgraded.destroyed, false);
    h.slow[0]();
    await closed(busy);
    assert.match(reply, /slow done/);
    assert.equal(upgraded.destroyed, false);
  });
});
