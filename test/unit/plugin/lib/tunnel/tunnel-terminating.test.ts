/**
 * Issue 8, defect 8: the tunnel must leave a Terminating pod (which accepts the
 * port-forward upgrade and then fails on the error channel), and its
 * keepalive must not time out while a large backlog is still being written.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer as createTcp, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer as createHttp } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Tunnel, type TunnelEvent } from '../../../../../plugin/lib/tunnel/tunnel.ts';
import { openPortForward } from '../../../../../plugin/lib/tunnel/port-forward.ts';

function portHeader(channel: number, port: number): Buffer {
  const b = Buffer.alloc(3);
  b[0] = channel;
  b.writeUInt16LE(port, 1);
  return b;
}

/**
 * Port-forward endpoint: pods in `serving` answer `pod:TEXT`; pods in
 * `terminating` accept the upgrade and then report, like a real kubelet whose
 * container stopped listening, an error on the error channel and close.
 * `onSocket` takes over a serving pod's data (the raw socket and the WebSocket).
 */
async function forwarder(
  serving: Set<string>,
  terminating: Set<string>,
  onSocket?: (s: Duplex, ws: WebSocket) => void,
  options: { autoPong?: boolean } = {},
) {
  const wss = new WebSocketServer({
    noServer: true,
    autoPong: options.autoPong ?? true,
    handleProtocols: (p) => (p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  const upgrades: string[] = [];
  const server = createHttp((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on('upgrade', (req, sock, head) => {
    const m = /\/pods\/([^/]+)\/portforward\?ports=(\d+)/.exec(req.url ?? '');
    const pod = m?.[1] ?? '';
    if (!serving.has(pod) && !terminating.has(pod)) {
      sock.end(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"kind":"Status","message":"not found"}',
      );
      return;
    }
    upgrades.push(pod);
    wss.handleUpgrade(req, sock, head, (ws) => {
      const port = Number(m![2]);
      ws.send(portHeader(0, port));
      ws.send(portHeader(1, port));
      if (terminating.has(pod)) {
        ws.send(
          Buffer.concat([
            Buffer.from([1]),
            Buffer.from(
              `an error occurred forwarding ${port} -> ${port}: failed to connect to localhost:${port} inside namespace: connection refused`,
            ),
          ]),
        );
        ws.close(1000);
        return;
      }
      onSocket?.(sock, ws);
      ws.on('message', (data: Buffer) => {
        if (data[0] !== 0 || onSocket) return;
        ws.send(
          Buffer.concat([
            Buffer.from([0]),
            Buffer.from(`${pod}:${data.subarray(1).toString().toUpperCase()}`),
          ]),
        );
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    upgrades,
    request: async (pod: string) => ({
      url: `${base}/api/v1/namespaces/ns/pods/${pod}/portforward?ports=8025`,
      options: {},
    }),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.close();
    },
  };
}

/** Sends `text` through the tunnel; the reply, or null when the tunnel closed the connection without one. */
async function exchange(port: number, text: string): Promise<string | null> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(text);
  return new Promise((resolve) => {
    socket.once('data', (d: Buffer) => {
      socket.destroy();
      resolve(d.toString());
    });
    socket.once('close', () => resolve(null));
  });
}

describe('tunnel: Terminating pods and keepalive under a backlog (issue 8, defect 8)', () => {
  it('after a forward to a Terminating pod fails on the error channel, the next connection goes to the replacement', async () => {
    const fake = await forwarder(new Set(['pod-b']), new Set(['pod-a']));
    const events: TunnelEvent[] = [];
    // The resolver sees what the API says: pod-a is Terminating (not ready), pod-b is ready.
    const tunnel = await Tunnel.open({
      pod: 'pod-a',
      port: 8025,
      request: fake.request,
      resolvePod: async () => 'pod-b',
      onEvent: (e) => events.push(e),
    });
    try {
      assert.equal(
        await exchange(tunnel.port, 'one'),
        null,
        'the first connection ends: the pod refused inside',
      );
      assert.equal(
        await exchange(tunnel.port, 'two'),
        'pod-b:TWO',
        'the second one reaches the replacement',
      );
      assert.deepEqual(fake.upgrades, ['pod-a', 'pod-b']);
      assert.ok(
        events.some((e) => e.type === 'dropped' && /connection refused/.test(e.error)),
        JSON.stringify(events),
      );
      assert.ok(
        events.some((e) => e.type === 'pod-replaced' && e.from === 'pod-a' && e.to === 'pod-b'),
      );
      assert.equal(tunnel.pod, 'pod-b');
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });

  it('the keepalive does not time out while our data is still being written (pongs held back behind it)', async () => {
    const TOTAL = 48 * 1024 * 1024;
    let received = 0;
    let allReceived!: () => void;
    const done = new Promise<void>((r) => {
      allReceived = r;
    });
    // The server never answers pings: on a slow link the pong is as late as the backlog in front of the
    // ping is long. What proves the peer alive meanwhile is that our writes keep completing.
    const fake = await forwarder(
      new Set(['pod-a']),
      new Set(),
      (_sock, ws) => {
        ws.on('message', (data: Buffer) => {
          if (data[0] !== 0) return;
          received += data.length - 1;
          if (received >= TOTAL) allReceived();
        });
      },
      { autoPong: false },
    );
    const local = createTcp();
    local.listen(0, '127.0.0.1');
    await once(local, 'listening');
    const client = connect((local.address() as AddressInfo).port, '127.0.0.1');
    const [accepted] = (await once(local, 'connection')) as [Socket];
    try {
      const stream = await openPortForward(await fake.request('pod-a'), accepted, {
        keepaliveMs: 10,
      });
      const chunk = Buffer.alloc(256 * 1024, 'x');
      let written = 0;
      const writeMore = () => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!client.write(chunk)) {
            client.once('drain', writeMore);
            return;
          }
        }
      };
      writeMore();
      const outcome = await Promise.race([
        done.then(() => 'all data arrived'),
        stream.closed.then((c) => `closed early: ${c.error?.message ?? 'no error'}`),
      ]);
      assert.equal(outcome, 'all data arrived');
      // With nothing left to write and no pong, the keepalive does end a silent stream.
      const after = await stream.closed;
      assert.match(after.error?.message ?? '', /keepalive timed out/);
    } finally {
      client.destroy();
      local.close();
      await fake.close();
    }
  });
});
