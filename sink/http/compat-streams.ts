/**
 * Live streams in other tools' formats (MailHog's Server-Sent Events and
 * WebSocket, Mailpit's WebSocket): each is a set of clients fed from the
 * sink's event log. The log is subscribed to only while a client is connected,
 * so the SMTP path pays nothing when nobody listens. Frames are built once per
 * event and shared by every client of a stream.
 *
 * Best-effort, like the tools they imitate: a client whose unsent data passes
 * {@link COMPAT_STREAM_MAX_BUFFER} is dropped (our own feed, /api/events, is
 * the one with sequence numbers and replay).
 */
import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { SinkEvent } from '../../src/protocol.ts';
import type { EventLog } from '../event-log.ts';

/** Clients of one compat stream at once; each may hold up to the buffer bound below. */
export const COMPAT_STREAM_MAX_CLIENTS = 64;
/** Unsent bytes a client may fall behind by before it is dropped (a few hundred typical messages). */
export const COMPAT_STREAM_MAX_BUFFER = 4 * 1024 * 1024;

/** What a compatible API's routes hand back to the API server. */
export interface CompatHandle {
  /** WebSocket endpoints by path, attached by the API server after its own auth checks. */
  websockets: Map<string, (ws: WebSocket) => void>;
  close(): void;
}

type Sink = { kind: 'sse'; res: ServerResponse } | { kind: 'ws'; ws: WebSocket };

export class CompatStream {
  readonly #events: EventLog;
  /** Turns an event into the frame to send, or undefined to skip it. */
  readonly #frame: (event: SinkEvent) => string | undefined;
  readonly #clients = new Set<Sink>();
  #unsubscribe: (() => void) | null = null;

  constructor(events: EventLog, frame: (event: SinkEvent) => string | undefined) {
    this.#events = events;
    this.#frame = frame;
  }

  get size(): number {
    return this.#clients.size;
  }

  get full(): boolean {
    return this.#clients.size >= COMPAT_STREAM_MAX_CLIENTS;
  }

  addResponse(res: ServerResponse): void {
    this.#add({ kind: 'sse', res });
  }

  addWebSocket(ws: WebSocket): void {
    this.#add({ kind: 'ws', ws });
  }

  /** Writes to every client (keepalives). */
  broadcast(frame: string): void {
    for (const client of this.#clients) this.#send(client, frame);
  }

  close(): void {
    for (const client of [...this.#clients]) {
      if (client.kind === 'sse') client.res.end();
      else client.ws.close(1001, 'server shutting down');
      this.#remove(client);
    }
  }

  #add(client: Sink): void {
    this.#clients.add(client);
    const remove = () => this.#remove(client);
    if (client.kind === 'sse') client.res.once('close', remove);
    else client.ws.once('close', remove);
    this.#unsubscribe ??= this.#events.subscribe((event) => {
      const frame = this.#frame(event);
      if (frame !== undefined) this.broadcast(frame);
    });
  }

  #remove(client: Sink): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0 && this.#unsubscribe !== null) {
      this.#unsubscribe();
      this.#unsubscribe = null;
    }
  }

  #send(client: Sink, frame: string): void {
    if (client.kind === 'sse') {
      if (client.res.writableLength > COMPAT_STREAM_MAX_BUFFER) {
        client.res.destroy();
        this.#remove(client);
        return;
      }
      client.res.write(frame);
    } else {
      if (client.ws.bufferedAmount > COMPAT_STREAM_MAX_BUFFER) {
        client.ws.terminate();
        this.#remove(client);
        return;
      }
      if (client.ws.readyState === 1) client.ws.send(frame);
    }
  }
}
