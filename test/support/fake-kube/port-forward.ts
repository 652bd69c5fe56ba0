/**
 * pods/portforward over WebSocket, as the API server speaks it to
 * client-node: subprotocol `v4.channel.k8s.io`; for the i-th requested port,
 * channel 2i carries data and 2i+1 errors; every binary frame starts with its
 * channel byte; the server's first frame on each channel is the port as 2
 * little-endian bytes. Each port is bridged to a TCP connection to podIP:port.
 * (kubectl's own port-forward speaks SPDY: not supported.)
 */
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { FaultControls } from './faults.ts';

/** Ports accepted in one request (the kubelet has no small limit; keep it sane). */
export const MAX_FORWARDED_PORTS = 16;
/** Bytes queued towards the client before the pod side is paused. */
export const MAX_WS_BUFFERED_BYTES = 4 * 1024 * 1024;

export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'portforward.k8s.io'];

interface Forward {
  ws: WebSocket;
  sockets: Socket[];
  bytes: number;
}

export class PortForwarder {
  private readonly wss: WebSocketServer;
  private readonly active = new Set<Forward>();
  /** Pod connections of ended forwards still writing what the client sent before its close. */
  private readonly flushing = new Set<Socket>();
  private readonly faults: FaultControls;
  /** Total forwards opened, for assertions. */
  opened = 0;
  /** The WebSocket close code of each ended forward, in order (1000: the client closed cleanly; 1006: dropped), for assertions. */
  readonly closeCodes: number[] = [];

  constructor(faults: FaultControls) {
    this.faults = faults;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (protocols) => {
        for (const p of PORT_FORWARD_PROTOCOLS) if (protocols.has(p)) return p;
        return false;
      },
    });
  }

  get count(): number {
    return this.active.size;
  }

  /** Upgrade and bridge; the caller validated auth, the pod and the ports. */
  /** `hostPort`: where a container port is reachable on `podIp` (IPv6 mode remaps them); undefined: refused. */
  handle(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    podIp: string,
    ports: number[],
    hostPort: (port: number) => number | undefined = (p) => p,
  ): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.bridge(ws, podIp, ports, hostPort));
  }

  private bridge(
    ws: WebSocket,
    podIp: string,
    ports: number[],
    hostPort: (port: number) => number | undefined,
  ): void {
    this.opened++;
    const fwd: Forward = { ws, sockets: [], bytes: 0 };
    this.active.add(fwd);
    const countBytes = (n: number): void => {
      fwd.bytes += n;
      const limit = this.faults.portForwardByteLimit;
      if (limit !== undefined && fwd.bytes >= limit) this.drop(fwd);
    };
    const frame = (channel: number, payload: Buffer): Buffer =>
      Buffer.concat([Buffer.from([channel]), payload]);
    ports.forEach((port, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port, 0);
      ws.send(frame(2 * i, portBytes));
      ws.send(frame(2 * i + 1, portBytes));
      // Nothing bound to that port (IPv6 mode): port 0 is never listening, so the connect is refused as it would be.
      const sock = connect({ host: podIp, port: hostPort(port) ?? 0 });
      sock.setNoDelay(true);
      fwd.sockets[i] = sock;
      let pending = 0;
      sock.on('data', (chunk: Buffer) => {
        if (ws.readyState !== ws.OPEN) return;
        countBytes(chunk.length);
        pending += chunk.length;
        if (pending > MAX_WS_BUFFERED_BYTES) sock.pause();
        ws.send(frame(2 * i, chunk), () => {
          pending -= chunk.length;
          if (pending <= MAX_WS_BUFFERED_BYTES / 2 && sock.isPaused()) sock.resume();
        });
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (ws.readyState === ws.OPEN) {
          const msg = `an error occurred forwarding ${port} -> ${port}: error forwarding port ${port} to pod, uid : ${err.code === 'ECONNREFUSED' ? `failed to connect to localhost:${port} inside namespace: connection refused` : err.message}`;
          ws.send(frame(2 * i + 1, Buffer.from(msg)));
        }
      });
      sock.on('close', () => {
        if (ws.readyState === ws.OPEN) ws.close(1000);
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const buf = isBinary ? data : Buffer.from(data);
      if (buf.length < 1) return;
      const channel = buf[0];
      const payload = buf.subarray(1);
      if (channel % 2 !== 0) return;
      const sock = fwd.sockets[channel / 2];
      if (!sock || sock.destroyed) return;
      countBytes(payload.length);
      if (payload.length > 0 && !sock.write(payload)) {
        ws.pause();
        sock.once('drain', () => ws.resume());
      }
    });
    const cleanup = (): void => {
      this.active.delete(fwd);
      for (const s of fwd.sockets) s?.destroy();
    };
    ws.on('close', (code: number) => {
      this.closeCodes.push(code);
      this.active.delete(fwd);
      // The kubelet copies the client's data into the pod connection with blocking writes until the stream
      // reports EOF, and only then closes it: nothing the client sent before its close is lost. Node's writes
      // are queued, so end the connection (queued data, then the FIN) rather than destroying it, which would
      // drop what a slowly reading pod has not taken yet.
      for (const s of fwd.sockets) {
        if (!s || s.destroyed) continue;
        this.flushing.add(s);
        s.once('close', () => this.flushing.delete(s));
        s.resume();
        s.end();
      }
    });
    ws.on('error', cleanup);
  }

  private drop(fwd: Forward): void {
    this.active.delete(fwd);
    for (const s of fwd.sockets) s?.destroy();
    fwd.ws.terminate();
  }

  /** Abruptly end every forward (a "lost connection to pod"). */
  dropAll(): number {
    const n = this.active.size;
    for (const f of [...this.active]) this.drop(f);
    return n;
  }

  close(): void {
    this.dropAll();
    for (const s of this.flushing) s.destroy();
    this.flushing.clear();
    this.wss.close();
  }
}

/** `ports=8025` or `ports=8025,1025` or repeated `ports=`. */
export function parsePorts(values: string[]): number[] | undefined {
  const out: number[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const n = Number(part.trim());
      if (!Number.isInteger(n) || n < 1 || n > 65535) return undefined;
      out.push(n);
    }
  }
  return out.length > 0 && out.length <= MAX_FORWARDED_PORTS ? out : undefined;
}
