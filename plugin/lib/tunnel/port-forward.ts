/**
 * One pod port-forward stream over the API server's WebSocket
 * (`v4.channel.k8s.io`), bridged to one local TCP socket.
 *
 * Written here rather than using client-node's PortForward, whose known
 * problems all bite a long-lived tunnel: no keepalive (idle forwards die behind
 * proxies), the local socket is not closed when the server closes the
 * WebSocket, error-channel messages go only to a stream passed in, and an
 * ECONNRESET on the local socket is unhandled and crashes the process.
 *
 * Framing: each binary frame starts with a channel byte; for port i, data is
 * channel 2i and errors 2i+1 (one port here: 0 and 1). The server's first frame
 * on each channel carries the port number as 2 bytes little-endian.
 */
import type { Duplex } from 'node:stream';
import WebSocket, { type ClientOptions } from 'ws';

export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';
/** Ping period: below the 60 s idle timeout common to load balancers and proxies in front of API servers. */
export const KEEPALIVE_MS = 20_000;
/** Pause the local socket when this much is queued towards the API server (bounded memory per stream). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * After the server ended the stream and our queued data reached the local client, how long that client may
 * keep its own side open before the connection is closed (nothing it sends can go anywhere any more).
 */
export const LINGER_MS = 5_000;
/** Error-channel text kept for the message; the server sends one line. */
const MAX_ERROR_TEXT = 4096;

export interface PortForwardRequest {
  url: string;
  options: ClientOptions;
}

export class PortForwardError extends Error {
  /** HTTP status of a refused upgrade (404: pod gone), or undefined. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'PortForwardError';
    this.status = status;
  }
}

export interface ForwardStream {
  /** Resolves when both ends are closed; with the reason when it ended abnormally. */
  readonly closed: Promise<{ error?: Error; bytesIn: number; bytesOut: number }>;
  close(): void;
}

/**
 * Opens the WebSocket and, once the server accepted it, pipes `socket` (the
 * local connection: a net.Socket in the tunnel) through it. Rejects (without
 * touching the socket) if the upgrade fails, so the caller can retry with
 * another pod.
 */
export async function openPortForward(
  request: PortForwardRequest,
  socket: Duplex,
  options: { keepaliveMs?: number; lingerMs?: number } = {},
): Promise<ForwardStream> {
  const ws = new WebSocket(request.url, [PORT_FORWARD_PROTOCOL], {
    ...request.options,
    perMessageDeflate: false,
    handshakeTimeout: 15_000,
  });
  // Frames can arrive in the same tick as 'open' (the port headers follow the upgrade at once): keep them.
  const early: Array<[WebSocket.RawData, boolean]> = [];
  const keep = (data: WebSocket.RawData, isBinary: boolean) => {
    early.push([data, isBinary]);
  };
  ws.on('message', keep);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    ws.once('open', () => {
      ws.removeAllListeners('unexpected-response');
      ws.removeAllListeners('error');
      ws.on('error', () => {});
      resolve();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < MAX_ERROR_TEXT) body += c;
      });
      res.on('end', () =>
        fail(
          new PortForwardError(
            `port-forward refused (${res.statusCode}): ${statusMessage(body)}`,
            res.statusCode,
          ),
        ),
      );
      res.on('error', () =>
        fail(new PortForwardError(`port-forward refused (${res.statusCode})`, res.statusCode)),
      );
    });
    ws.once('error', (err) => fail(new PortForwardError(`port-forward failed: ${err.message}`)));
  });
  ws.off('message', keep);
  return bridge(
    ws,
    socket,
    options.keepaliveMs ?? KEEPALIVE_MS,
    options.lingerMs ?? LINGER_MS,
    early,
  );
}

function statusMessage(body: string): string {
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) return s.message;
  } catch {
    /* not a Status */
  }
  return body.trim().slice(0, 200) || 'no details';
}

function bridge(
  ws: WebSocket,
  socket: Duplex,
  keepaliveMs: number,
  lingerMs: number,
  early: Array<[WebSocket.RawData, boolean]>,
): ForwardStream {
  let bytesIn = 0;
  let bytesOut = 0;
  const headerSeen = [false, false];
  let errorText = '';
  let ended = false;
  /** The server closed the stream cleanly; what is queued towards the local client is still being written. */
  let draining = false;
  let linger: NodeJS.Timeout | undefined;
  let error: Error | undefined;
  let alive = true;
  let resolveClosed!: (v: { error?: Error; bytesIn: number; bytesOut: number }) => void;
  const closed = new Promise<{ error?: Error; bytesIn: number; bytesOut: number }>((r) => {
    resolveClosed = r;
  });

  const finish = (err?: Error) => {
    if (ended) return;
    ended = true;
    error = err;
    clearInterval(ping);
    clearTimeout(linger);
    socket.destroy();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    resolveClosed({ error, bytesIn, bytesOut });
  };

  // Alive = a pong, any frame from the server, or our own data leaving: while a large backlog is
  // written the ping waits behind it, but writes completing prove the peer still reads (a busy
  // tunnel was otherwise closed as dead).
  let lastTick = performance.now();
  const ping = setInterval(() => {
    const now = performance.now();
    const stalled = now - lastTick > keepaliveMs * 1.5;
    lastTick = now;
    // After a stalled event loop, timers run before the I/O that piled up: judge at the next tick instead.
    if (!alive && !stalled) {
      finish(new PortForwardError('port-forward keepalive timed out'));
      return;
    }
    alive = false;
    try {
      ws.ping();
    } catch {
      /* closing */
    }
  }, keepaliveMs);
  ping.unref();
  ws.on('pong', () => {
    alive = true;
  });

  const onMessage = (raw: WebSocket.RawData, isBinary: boolean) => {
    alive = true;
    let buf = Array.isArray(raw)
      ? Buffer.concat(raw)
      : Buffer.isBuffer(raw)
        ? raw
        : Buffer.from(raw);
    if (!isBinary && buf.length === 0) return;
    const channel = buf[0];
    buf = buf.subarray(1);
    if (channel !== 0 && channel !== 1) return;
    if (!headerSeen[channel]) {
      // The first frame on each channel is the port number (2 bytes LE); data may follow it.
      headerSeen[channel] = true;
      buf = buf.subarray(2);
    }
    if (buf.length === 0) return;
    if (channel === 0) {
      bytesIn += buf.length;
      if (!socket.write(buf)) {
        ws.pause();
        socket.once('drain', () => ws.resume());
      }
    } else if (errorText.length < MAX_ERROR_TEXT) {
      errorText += buf.toString('utf8');
    }
  };
  /**
   * The server ended the stream (the pod closed its side, or it answered our close): the data frames before
   * the close may still sit in the local socket's write queue when a slow client has filled the kernel's
   * buffers, and destroying the socket now would drop them while the client still saw a clean end. End it
   * instead: queued data first, then the FIN; the stream is finished when the socket closes.
   */
  const endLocal = () => {
    if (ended || draining) return;
    if (socket.destroyed) {
      finish();
      return;
    }
    draining = true;
    clearInterval(ping);
    // Keep reading (and dropping) what the client still sends: its FIN closes the socket, and no unread
    // data makes the kernel answer with a reset.
    socket.resume();
    const startLinger = () => {
      linger = setTimeout(() => finish(), lingerMs);
      linger.unref();
    };
    if (socket.writableFinished) startLinger();
    else {
      socket.once('finish', startLinger);
      if (!socket.writableEnded) socket.end();
    }
  };
  for (const [raw, isBinary] of early) onMessage(raw, isBinary);
  ws.on('message', onMessage);
  ws.on('close', (code: number) => {
    if (errorText) finish(new PortForwardError(`port-forward error: ${errorText.trim()}`));
    else if (code !== 1000 && code !== 1005)
      finish(new PortForwardError(`port-forward connection lost (WebSocket close ${code})`));
    else endLocal();
  });
  ws.on('error', (err) =>
    finish(new PortForwardError(`port-forward connection lost: ${err.message}`)),
  );

  let queued = 0;
  socket.on('data', (chunk: Buffer) => {
    if (draining) return;
    bytesOut += chunk.length;
    queued += chunk.length;
    ws.send(Buffer.concat([Buffer.from([0]), chunk]), { binary: true }, (err) => {
      if (!err) alive = true;
      queued -= chunk.length;
      if (queued < MAX_BUFFERED_BYTES / 2 && socket.isPaused()) socket.resume();
    });
    if (queued > MAX_BUFFERED_BYTES) socket.pause();
  });
  // ECONNRESET and friends on the local side end this stream only (after a clean end from the server, the
  // forward itself did not fail).
  socket.on('error', (err) => finish(draining ? undefined : err));
  socket.on('end', () => {
    // The local client half-closed: the protocol has no half-close, so close the WebSocket once queued data is sent.
    // Otherwise the WebSocket is already closing: its 'close' decides (ending the socket after our queued data,
    // or finishing with the error), never this FIN, which would destroy what is still queued for the client.
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  });
  socket.on('close', () => finish());
  // The local client may have gone away while the WebSocket was opening.
  if (socket.destroyed) finish();
  else socket.resume();
  return { closed, close: () => finish() };
}
