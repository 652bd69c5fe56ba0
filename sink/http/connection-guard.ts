/**
 * Connection admission for the sink's HTTP port, so that idle sockets cannot
 * lock the API (and the liveness probe) out.
 *
 * Node's `server.maxConnections` refuses every new connection once the cap is
 * reached, and an http server half-closes (allowHalfOpen) rather than frees
 * the sockets it gives up on: 1,030 idle TCP connections reset every new one,
 * `/livez` included, for as long as they were held. In a
 * cluster a failing liveness probe restarts the pod and loses the mail.
 *
 * Here, instead:
 * * a socket with no request in flight for {@link HTTP_IDLE_TIMEOUT_MS} is
 *   destroyed (both sides), whatever state its parser is in;
 * * at the cap (in all, or for one client address) a new connection evicts the
 *   oldest idle socket (no request in flight, not a WebSocket) instead of being
 *   refused; it is refused only when every socket is busy;
 * * each client address holds at most {@link HTTP_MAX_CONNECTIONS_PER_CLIENT}.
 * So a probe or a new client always gets in unless the whole cap is busy with
 * requests actually being served (each bounded by the request timeout).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Open HTTP connections at once (API, MailHog, feed): bounds sockets and their buffers. */
export const HTTP_MAX_CONNECTIONS = 1024;
/** Connections one client address may hold: port-forwarded CLI traffic arrives from one address, so not small, and above the 256 feed clients so that a full feed still leaves room for requests. */
export const HTTP_MAX_CONNECTIONS_PER_CLIENT = 512;
/** A connection without a request in flight for this long is closed (keep-alive clients reconnect transparently). */
export const HTTP_IDLE_TIMEOUT_MS = 15_000;

interface Tracked {
  address: string;
  /** Requests in flight on it (pipelining allows more than one). */
  busy: number;
  /** Handed to the WebSocket feed: never evicted here (the feed bounds and closes those itself). */
  upgraded: boolean;
}

export interface ConnectionGuardOptions {
  maxConnections?: number;
  maxPerClient?: number;
  idleTimeoutMs?: number;
  /** Called when a connection is evicted or refused (metrics, logs). */
  onShed?: (kind: 'evicted' | 'refused', address: string) => void;
}

export class ConnectionGuard {
  /** Insertion order = age: the first idle entry is the oldest. */
  readonly #sockets = new Map<Socket, Tracked>();
  readonly #perAddress = new Map<string, number>();
  readonly #max: number;
  readonly #maxPerClient: number;
  readonly #idleMs: number;
  readonly #onShed: ConnectionGuardOptions['onShed'];

  constructor(server: Server, options: ConnectionGuardOptions = {}) {
    this.#max = options.maxConnections ?? HTTP_MAX_CONNECTIONS;
    this.#maxPerClient = options.maxPerClient ?? HTTP_MAX_CONNECTIONS_PER_CLIENT;
    this.#idleMs = options.idleTimeoutMs ?? HTTP_IDLE_TIMEOUT_MS;
    this.#onShed = options.onShed;
    // Registered before the http server's own listener, so a refused socket never reaches its parser.
    server.prependListener('connection', (socket: Socket) => this.#admit(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
      this.#request(req, res),
    );
    // The idle timer is ours to judge (#admit): without a 'timeout' listener on the server,
    // Node's http server destroys every socket whose timer fires, a request in flight included
    // (a Mailpit link check of 50 slow links outlasts the idle timeout).
    server.on('timeout', () => undefined);
  }

  get size(): number {
    return this.#sockets.size;
  }

  #admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    if (
      (this.#perAddress.get(address) ?? 0) >= this.#maxPerClient &&
      !this.#evictOldestIdle(address)
    )
      return this.#refuse(socket, address);
    if (this.#sockets.size >= this.#max && !this.#evictOldestIdle(null))
      return this.#refuse(socket, address);
    this.#sockets.set(socket, { address, busy: 0, upgraded: false });
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    socket.setTimeout(this.#idleMs);
    socket.on('timeout', () => {
      const t = this.#sockets.get(socket);
      if (t && t.busy === 0 && !t.upgraded) socket.destroy();
    });
    socket.once('close', () => this.#forget(socket));
  }

  #refuse(socket: Socket, address: string): void {
    this.#onShed?.('refused', address);
    socket.destroy();
  }

  #evictOldestIdle(address: string | null): boolean {
    for (const [socket, t] of this.#sockets) {
      if (t.busy > 0 || t.upgraded || (address !== null && t.address !== address)) continue;
      this.#onShed?.('evicted', t.address);
      this.#forget(socket);
      socket.destroy();
      return true;
    }
    return false;
  }

  #forget(socket: Socket): void {
    const t = this.#sockets.get(socket);
    if (!t) return;
    this.#sockets.delete(socket);
    const n = (this.#perAddress.get(t.address) ?? 1) - 1;
    if (n <= 0) this.#perAddress.delete(t.address);
    else this.#perAddress.set(t.address, n);
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const t = this.#sockets.get(req.socket);
    if (!t) return;
    t.busy++;
    res.once('close', () => {
      t.busy = Math.max(0, t.busy - 1);
    });
  }

  /** The socket became a WebSocket of the feed: no longer idle, never evicted here. */
  upgraded(socket: Socket): void {
    const t = this.#sockets.get(socket);
    if (t) t.upgraded = true;
  }
}
