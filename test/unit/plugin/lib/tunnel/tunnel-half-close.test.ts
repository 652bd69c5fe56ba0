/**
 * Half-close and back-pressure through the whole port-forward path: a local
 * client → the plugin's Tunnel → the fake API server's port-forward
 * (test/support/fake-kube/port-forward.ts) → a "pod" TCP server, with the slow
 * side reading one chunk per event-loop turn. The v4 channel protocol has no
 * half-close: ending one side closes the WebSocket, and what matters is that
 * every byte sent before the end arrives, in order, before the far side sees
 * its end (issue 15, bug 4).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttp } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { openPortForward } from '../../../../../plugin/lib/tunnel/port-forward.ts';
import { Tunnel, type TunnelEvent } from '../../../../../plugin/lib/tunnel/tunnel.ts';
import { PortForwarder } from '../../../../support/fake-kube/port-forward.ts';
import { FaultControls } from '../../../../support/fake-kube/faults.ts';

/** Larger than every buffer on the path (the tunnel's 1 MiB, the fake's 4 MiB, the kernel's), so back-pressure must engage. */
const LARGE = 12 * 1024 * 1024;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Reads a socket one chunk per event-loop turn, logging when all bytes and the end arrived. */
function slowReader(socket: Socket, log: string[], who: string, expected: number): Promise<Buffer> {
  socket.pause();
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('end', () => {
      log.push(`${who}: end after ${got} bytes`);
      resolve(Buffer.concat(chunks));
    });
    const step = () => {
      if (socket.readableEnded || socket.destroyed) return;
      const chunk = socket.read() as Buffer | null;
      if (chunk) {
        chunks.push(chunk);
        got += chunk.length;
        if (got === expected) log.push(`${who}: all ${expected} bytes`);
      } else if (!socket.readableFlowing) {
        socket.once('readable', () => setImmediate(step));
        return;
      }
      setImmediate(step);
    };
    step();
  });
}

/** Resolves when `predicate` holds, checking on each event-loop turn (the mocha timeout bounds it). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setImmediate(r));
}

async function listening(server: Server | ReturnType<typeof createHttp>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** The fake API server's port-forward on its own, in front of a pod server. */
async function forwardPath(onPod: (socket: Socket) => void, events: TunnelEvent[] = []) {
  const pod = createServer(onPod);
  const podPort = await listening(pod);
  const forwarder = new PortForwarder(new FaultControls());
  const api = createHttp((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  api.on('upgrade', (req, sock, head) =>
    forwarder.handle(req, sock, head, '127.0.0.1', [8025], () => podPort),
  );
  const apiPort = await listening(api);
  const tunnel = await Tunnel.open({
    pod: 'pod-a',
    port: 8025,
    resolvePod: async (p) => p,
    onEvent: (e) => events.push(e),
    request: async () => ({
      url: `ws://127.0.0.1:${apiPort}/api/v1/namespaces/ns/pods/pod-a/portforward?ports=8025`,
      options: {},
    }),
  });
  return {
    tunnel,
    forwarder,
    close: async () => {
      await tunnel.close();
      forwarder.close();
      api.close();
      pod.close();
    },
  };
}

describe('port-forward half-close and back-pressure (tunnel + fake API server)', function () {
  this.timeout(120_000);

  it('a large upload half-closed at once by the client reaches a slowly reading pod whole, in order, before the pod sees the end', async () => {
    const upload = randomBytes(LARGE);
    const log: string[] = [];
    const events: TunnelEvent[] = [];
    let received!: Promise<Buffer>;
    let podResolve!: () => void;
    const podDone = new Promise<void>((resolve) => {
      podResolve = resolve;
    });
    const path = await forwardPath((s) => {
      received = slowReader(s, log, 'pod', LARGE);
      s.on('close', () => {
        log.push('pod: closed');
        podResolve();
      });
    }, events);
    try {
      const client = connect(path.tunnel.port, '127.0.0.1');
      await once(client, 'connect');
      client.on('end', () => log.push('client: end'));
      const clientClosed = once(client, 'close').then(() => log.push('client: closed'));
      client.end(upload);
      await podDone;
      await clientClosed;
      const got = await received;
      assert.equal(got.length, LARGE, 'every byte arrived');
      assert.equal(sha(got), sha(upload), 'in order, unchanged');
      const i = (entry: string) => log.indexOf(entry);
      assert.ok(
        i(`pod: all ${LARGE} bytes`) >= 0 &&
          i(`pod: all ${LARGE} bytes`) < i(`pod: end after ${LARGE} bytes`),
        log.join('; '),
      );
      assert.ok(
        i(`pod: end after ${LARGE} bytes`) >= 0,
        `the pod saw a clean end, not a reset: ${log.join('; ')}`,
      );
      assert.ok(i('client: closed') >= 0, 'the client side was closed too, not left hanging');
      await until(() => path.forwarder.closeCodes.length === 1);
      assert.deepEqual(
        path.forwarder.closeCodes,
        [1000],
        'the tunnel closed the WebSocket cleanly after the queued data, not dropped it',
      );
      assert.deepEqual(events, [], 'a half-close is not a drop');
    } finally {
      await path.close();
    }
  });

  it('a large download that the pod ends at once reaches a slowly reading client whole, in order, before the client sees the end', async () => {
    const download = randomBytes(LARGE);
    const log: string[] = [];
    const events: TunnelEvent[] = [];
    const path = await forwardPath((s) => {
      s.on('error', () => {});
      s.on('close', () => log.push('pod: closed'));
      // The request is one line; the pod answers with the whole download and half-closes.
      s.once('data', () => {
        s.end(download);
      });
    }, events);
    try {
      const client = connect(path.tunnel.port, '127.0.0.1');
      await once(client, 'connect');
      const received = slowReader(client, log, 'client', LARGE);
      const clientClosed = once(client, 'close').then(() => log.push('client: closed'));
      client.write('GET\n');
      const got = await received;
      await clientClosed;
      assert.equal(got.length, LARGE, 'every byte arrived');
      assert.equal(sha(got), sha(download), 'in order, unchanged');
      const i = (entry: string) => log.indexOf(entry);
      assert.ok(
        i(`client: all ${LARGE} bytes`) < i(`client: end after ${LARGE} bytes`),
        log.join('; '),
      );
      assert.ok(i(`client: end after ${LARGE} bytes`) < i('client: closed'), log.join('; '));
      await until(() => path.forwarder.closeCodes.length === 1);
      assert.deepEqual(
        path.forwarder.closeCodes,
        [1000],
        'the fake closed the WebSocket cleanly when the pod ended',
      );
      assert.deepEqual(events, [], 'the pod ending its side is not a drop');
      assert.equal(path.tunnel.stats.drops, 0);
    } finally {
      await path.close();
    }
  });
});

/**
 * A local client connection whose kernel buffers are full: the forward's writes queue in the socket until
 * `open()` (the client starts reading). Its write queue never reports back-pressure, so the forward does not
 * pause the WebSocket: that is the order of events when the last data frames and the close frame arrive in one
 * TCP read (ws goes on emitting what it already read after pause()), made certain here. When it sees the end,
 * the client closes its side too, unless `keepOpen`.
 */
function fullClient(keepOpen = false) {
  const delivered: Buffer[] = [];
  const log: string[] = [];
  let accepting = false;
  let held: (() => void) | undefined;
  const bytes = () => delivered.reduce((n, b) => n + b.length, 0);
  const client = new Duplex({
    writableHighWaterMark: 2 * LARGE,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      const take = () => {
        delivered.push(chunk);
        callback();
      };
      if (accepting) take();
      else held = take;
    },
    final(callback) {
      log.push(`end after ${bytes()} bytes`);
      callback();
      if (!keepOpen) this.push(null);
    },
    destroy(err, callback) {
      log.push(`destroyed after ${bytes()} bytes`);
      callback(err);
    },
  });
  return {
    client,
    delivered,
    log,
    open() {
      accepting = true;
      held?.();
      held = undefined;
    },
  };
}

/** A port-forward endpoint that sends `payload` on the data channel in `frame`-sized frames, then closes cleanly. */
async function sendingServer(payload: Buffer, frame: number) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (p) => (p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  const http = createHttp((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  http.on('upgrade', (req, sock, head) =>
    wss.handleUpgrade(req, sock, head, (ws) => {
      for (const channel of [0, 1]) ws.send(Buffer.from([channel, 8025 & 0xff, 8025 >> 8]));
      for (let at = 0; at < payload.length; at += frame) {
        ws.send(Buffer.concat([Buffer.from([0]), payload.subarray(at, at + frame)]));
      }
      ws.close(1000);
    }),
  );
  const port = await listening(http);
  return {
    request: {
      url: `ws://127.0.0.1:${port}/api/v1/namespaces/ns/pods/pod-a/portforward?ports=8025`,
      options: {},
    },
    close: () => {
      wss.close();
      http.close();
    },
  };
}

describe('port-forward: the server closes while data is still queued for the local client', function () {
  this.timeout(60_000);

  it('everything queued before the close reaches the client, then its end (not destroyed with the queue)', async () => {
    const payload = randomBytes(1024 * 1024);
    const server = await sendingServer(payload, 64 * 1024);
    const local = fullClient();
    try {
      const stream = await openPortForward(server.request, local.client);
      // The close frame has been handled: the socket was ended (or, before the fix, destroyed) while the
      // whole payload was still queued in it.
      await until(() => local.client.writableEnded || local.client.destroyed);
      assert.equal(
        Buffer.concat(local.delivered).length,
        0,
        'nothing was written before the client read',
      );
      local.open();
      const { error, bytesIn } = await stream.closed;
      assert.equal(error, undefined, 'a clean close from the server is not an error');
      assert.equal(bytesIn, payload.length);
      const got = Buffer.concat(local.delivered);
      assert.equal(got.length, payload.length, `every byte arrived: ${local.log.join('; ')}`);
      assert.ok(got.equals(payload), 'in order, unchanged');
      assert.equal(local.log[0], `end after ${payload.length} bytes`, local.log.join('; '));
    } finally {
      local.client.destroy();
      server.close();
    }
  });

  it('a client that keeps its side open after the end still gets every byte, and the stream is closed after the linger', async () => {
    const payload = randomBytes(256 * 1024);
    const server = await sendingServer(payload, 16 * 1024);
    const local = fullClient(true);
    try {
      const stream = await openPortForward(server.request, local.client, { lingerMs: 10 });
      await until(() => local.client.writableEnded || local.client.destroyed);
      local.open();
      const { error } = await stream.closed;
      assert.equal(error, undefined);
      assert.ok(Buffer.concat(local.delivered).equals(payload), 'every byte, in order');
      assert.deepEqual(local.log, [
        `end after ${payload.length} bytes`,
        `destroyed after ${payload.length} bytes`,
      ]);
    } finally {
      local.client.destroy();
      server.close();
    }
  });
});
