import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer as createHttp } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { Tunnel, type TunnelEvent } from '../../../../../plugin/lib/tunnel/tunnel.ts';

/** A tiny port-forward endpoint: pods in `pods` echo upper-cased data; others get 404. */
async function fakeForwarder(pods: Set<string>, options: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({
    noServer: true,
    autoPong: options.autoPong ?? true,
    handleProtocols: (p) => (p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  const open = new Set<WebSocket>();
  const server = createHttp((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on('upgrade', (req, sock, head) => {
    const m = /\/pods\/([^/]+)\/portforward\?ports=(\d+)/.exec(req.url ?? '');
    if (!m || !pods.has(m[1])) {
      sock.end(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"kind":"Status","message":"pods \\"x\\" not found"}',
      );
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      open.add(ws);
      ws.on('close', () => open.delete(ws));
      const port = Buffer.alloc(2);
      port.writeUInt16LE(Number(m[2]));
      ws.send(Buffer.concat([Buffer.from([0]), port]));
      ws.send(Buffer.concat([Buffer.from([1]), port]));
      ws.on('message', (data: Buffer) => {
        if (data[0] !== 0) return;
        const text = data.subarray(1).toString();
        if (text === 'ERR') {
          ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('boom')]));
          ws.close();
          return;
        }
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(`${m[1]}:${text.toUpperCase()}`)]));
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    request: async (pod: string) => ({
      url: `${base}/api/v1/namespaces/ns/pods/${pod}/portforward?ports=8025`,
      options: {},
    }),
    dropAll: () => {
      for (const ws of open) ws.terminate();
    },
    close: async () => {
      for (const ws of open) ws.terminate();
      server.close();
    },
  };
}

async function roundTrip(port: number, text: string): Promise<{ reply: string; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(text);
  const [data] = await once(socket, 'data');
  return { reply: data.toString(), socket };
}

describe('tunnel (port-forward over v4.channel.k8s.io)', () => {
  it('carries bytes both ways, stripping the port headers', async () => {
    const fake = await fakeForwarder(new Set(['pod-a']));
    const tunnel = await Tunnel.open({
      pod: 'pod-a',
      port: 8025,
      request: fake.request,
      resolvePod: async (p) => p,
    });
    try {
      const { reply, socket } = await roundTrip(tunnel.port, 'hello');
      assert.equal(reply, 'pod-a:HELLO');
      socket.destroy();
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });

  it('a dropped forward closes the local socket (not left hanging) and the next connection gets a fresh forward', async () => {
    const fake = await fakeForwarder(new Set(['pod-a']));
    const events: TunnelEvent[] = [];
    const tunnel = await Tunnel.open({
      pod: 'pod-a',
      port: 8025,
      request: fake.request,
      resolvePod: async (p) => p,
      onEvent: (e) => events.push(e),
    });
    try {
      const first = await roundTrip(tunnel.port, 'one');
      const closed = once(first.socket, 'close');
      fake.dropAll();
      await closed;
      assert.equal((await roundTrip(tunnel.port, 'two')).reply, 'pod-a:TWO');
      assert.ok(events.some((e) => e.type === 'dropped'));
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });

  it('re-resolves the pod by label when the old one is gone (404 on upgrade)', async () => {
    const pods = new Set(['pod-b']);
    const fake = await fakeForwarder(pods);
    const events: TunnelEvent[] = [];
    const tunnel = await Tunnel.open({
      pod: 'pod-a',
      port: 8025,
      request: fake.request,
      resolvePod: async () => 'pod-b',
      retry: { initialMs: 1, maxMs: 5, deadlineMs: 5000 },
      onEvent: (e) => events.push(e),
    });
    try {
      const { reply, socket } = await roundTrip(tunnel.port, 'x');
      assert.equal(reply, 'pod-b:X');
      assert.equal(tunnel.pod, 'pod-b');
      assert.ok(events.some((e) => e.type === 'forward-error' && /404/.test(e.error)));
      socket.destroy();
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });

  it('gives up after the deadline and closes the local connection', async () => {
    const fake = await fakeForwarder(new Set());
    const tunnel = await Tunnel.open({
      pod: 'gone',
      port: 8025,
      request: fake.request,
      resolvePod: async () => undefined,
      retry: { initialMs: 1, maxMs: 2, deadlineMs: 20 },
    });
    try {
      const socket = connect(tunnel.port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'close');
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });

  it('an error-channel message ends the stream; a reset local socket does not crash the process', async () => {
    const fake = await fakeForwarder(new Set(['pod-a']));
    const events: TunnelEvent[] = [];
    const tunnel = await Tunnel.open({
      pod: 'pod-a',
      port: 8025,
      request: fake.request,
      resolvePod: async (p) => p,
      onEvent: (e) => events.push(e),
    });
    try {
      const s = connect(tunnel.port, '127.0.0.1');
      await once(s, 'connect');
      s.write('ERR');
      await once(s, 'close');
      const r = await roundTrip(tunnel.port, 'a');
      r.socket.resetAndDestroy();
      assert.equal((await roundTrip(tunnel.port, 'still')).reply, 'pod-a:STILL');
      assert.ok(events.some((e) => e.type === 'dropped' && /boom/.test(e.error)));
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });

  it('keepalive: a forward whose server stops answering pings is closed, not left hanging', async () => {
    const fake = await fakeForwarder(new Set(['pod-a']), { autoPong: false });
    let onDropped!: (e: TunnelEvent) => void;
    const dropped = new Promise<TunnelEvent>((resolve) => {
      onDropped = resolve;
    });
    const tunnel = await Tunnel.open({
      pod: 'pod-a',
      port: 8025,
      request: fake.request,
      resolvePod: async (p) => p,
      keepaliveMs: 20,
      onEvent: (e) => {
        if (e.type === 'dropped') onDropped(e);
      },
    });
    try {
      const { socket } = await roundTrip(tunnel.port, 'idle');
      await once(socket, 'close');
      assert.match(((await dropped) as { error: string }).error, /keepalive/);
    } finally {
      await tunnel.close();
      await fake.close();
    }
  });
});
