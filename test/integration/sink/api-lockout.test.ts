/**
 * Issue 10, item 5: idle TCP connections to the API port must not lock out
 * new clients or the liveness probe (in a cluster a failing probe restarts
 * the pod and loses the mail).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { startSink } from '../../../sink/index.ts';
import type { RunningSink } from '../../../sink/index.ts';
import { ConnectionGuard, HTTP_MAX_CONNECTIONS } from '../../../sink/http/connection-guard.ts';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('sink API: idle connections cannot lock it out (issue 10, item 5)', function () {
  this.timeout(60_000);
  let sink: RunningSink | undefined;
  const held: Socket[] = [];
  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    await sink?.stop();
    sink = undefined;
  });

  it(`with ${HTTP_MAX_CONNECTIONS + 6} idle connections held, a new client and /livez still answer`, async () => {
    sink = await startSink({});
    for (let i = 0; i < HTTP_MAX_CONNECTIONS + 6; i++) {
      const s = await open(sink.httpPort);
      s.on('error', () => undefined);
      held.push(s);
    }
    const live = await fetch(`${sink.url}/livez`);
    assert.equal(live.status, 200);
    assert.equal(((await live.json()) as { status: string }).status, 'ok');
    assert.equal((await fetch(`${sink.url}/readyz`)).status, 200);
    const info = await fetch(`${sink.url}/api/info`, {
      headers: { authorization: `Bearer ${sink.token}` },
    });
    assert.equal(info.status, 200);
    await info.arrayBuffer();
  });

  it('frees the slot of a connection that sends nothing (idle timeout), and of a half-sent request', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    const guard = new ConnectionGuard(server, { idleTimeoutMs: 100 });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const silent = await open(port);
      const slow = await open(port);
      slow.write('GET / HTTP/1.1\r\nHost: x\r\n'); // headers never finished
      held.push(silent, slow);
      const closed = (s: Socket) =>
        new Promise<void>((resolve) => {
          s.on('error', () => undefined);
          s.once('close', () => resolve());
          s.resume();
        });
      await Promise.all([closed(silent), closed(slow)]);
      await until(() => guard.size === 0, 'slots freed');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('at the per-client cap a new connection evicts the oldest idle one, never one with a request in flight', async () => {
    let release: (() => void) | undefined;
    const server = createServer((req, res) => {
      if (req.url === '/slow') release = () => res.end('slow done');
      else res.end('ok');
    });
    const guard = new ConnectionGuard(server, {
      maxPerClient: 3,
      maxConnections: 100,
      idleTimeoutMs: 60_000,
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const busy = await open(port);
      held.push(busy);
      let busyReply = '';
      busy.on('data', (d: Buffer) => {
        busyReply += d.toString();
      });
      busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => release !== undefined, 'slow request in flight');
      const idle1 = await open(port);
      const idle2 = await open(port);
      held.push(idle1, idle2);
      const idle1Closed = new Promise<void>((resolve) => idle1.once('close', () => resolve()));
      idle1.on('error', () => undefined);
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(await res.text(), 'ok');
      await idle1Closed; // the oldest idle one made room
      assert.equal(busy.destroyed, false);
      release!();
      await until(() => busyReply.includes('slow done'), 'the busy request finished');
      assert.ok(guard.size <= 3);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
