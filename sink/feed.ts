/**
 * The WebSocket event feed (`/api/events?since=SEQ`).
 *
 * Each client is a cursor (`lastSent`) into the sink's {@link EventLog}. The log
 * itself is the buffer: a client that keeps up gets every event straight from
 * the live listener; one whose socket buffer passes {@link FEED_SOFT_BUFFER_BYTES}
 * is paused and, once its socket has flushed, catches up by reading the log from
 * its cursor. Memory per client is therefore bounded by the soft limit plus one
 * frame, never by how far behind it is. A client that falls further behind than
 * {@link FEED_MAX_LAG_EVENTS} during its session, or whose cursor leaves the
 * retained window, is closed with {@link FEED_CLOSE_TOO_SLOW}; it reconnects
 * with `since` and the log replays (or reports a `gap`).
 *
 * Ordering: the hello frame first, then a `gap` (if the requested events are
 * gone), then the retained events after `since`, then live events. Replay and
 * live come from the same cursor, so there are no duplicates and no holes.
 */
import type { Clock } from '../src/clock.ts';
import { systemClock } from '../src/system-clock.ts';
import type { WebSocket } from 'ws';
import {
  FEED_CLOSE_GOING_AWAY,
  FEED_CLOSE_TOO_SLOW,
  FEED_PING_INTERVAL_MS,
  PROTOCOL_VERSION,
  type FeedHello,
  type SinkEvent,
} from '../src/protocol.ts';
import type { EventLog } from './event-log.ts';
import type { Logger } from './types.ts';

/** Pause sending to a client whose unsent bytes pass this; it resumes from the log once flushed. */
export const FEED_SOFT_BUFFER_BYTES = 1024 * 1024;
/**
 * A client that falls this many events further behind than it was when it
 * connected is dropped (4008) to resume later: at 5,000 events/s that is 4 s
 * of not reading, long enough to ride out a GC pause or a slow terminal.
 */
export const FEED_MAX_LAG_EVENTS = 20_000;
/** How long a client gets to complete the close handshake at shutdown before its socket is destroyed. */
export const FEED_CLOSE_TIMEOUT_MS = 2_000;
/**
 * How long a client closed with 4008 (too slow, or not answering pings: both
 * look like a client that stopped reading) has to read up to the close frame,
 * which waits behind at most the soft buffer, before its socket is destroyed.
 * Destroying it at once (or after 2 s) cut such clients with a bare EOF, and
 * they could not tell that they should resume. While it
 * waits, the socket still takes a feed slot, so the memory stays bounded.
 */
export const FEED_SLOW_CLOSE_TIMEOUT_MS = 30_000;
/** Largest frame a client may send us (clients only ever send pongs and closes). */
export const FEED_MAX_CLIENT_PAYLOAD = 4 * 1024;

export interface FeedSubscription {
  /** Replay events after this seq; null = live only (start at the current last seq). */
  since: number | null;
  /**
   * The instance the client's `since` refers to. When it names a different
   * (earlier) sink process, its seqs mean nothing here and the replay starts
   * from the beginning of the retained window.
   */
  instance?: string | null;
  /** Only these event types (plus `gap`, always sent); null = all. */
  types?: ReadonlySet<string> | null;
}

export interface EventFeedOptions {
  logger?: Logger;
  pingIntervalMs?: number;
  softBufferBytes?: number;
  maxLagEvents?: number;
  closeTimeoutMs?: number;
  slowCloseTimeoutMs?: number;
  onClientOpened?: () => void;
  onClientClosed?: () => void;
  onClientDropped?: (reason: 'slow' | 'dead') => void;
  /** Timer of the ping rounds and the close deadlines (tests pass a FakeClock); default: real timers. */
  clock?: Clock;
}

interface Client {
  ws: WebSocket;
  types: ReadonlySet<string> | null;
  lastSent: number;
  /** Lag at connect time; the client may not fall more than maxLag behind that. */
  allowedLag: number;
  live: boolean;
  paused: boolean;
  inFlight: number;
  backlog: SinkEvent[];
  backlogIndex: number;
  alive: boolean;
  closing: boolean;
  /** The underlying socket, when it can be corked (ws keeps it as `_socket`). */
  socket: CorkableSocket | null;
  /** Corked by us in this turn of the event loop (uncorked by the feed's setImmediate). */
  corked: boolean;
  /** Bytes already queued when this turn's batch began. */
  batchBase: number;
}

interface CorkableSocket {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

/** The TCP socket under a `ws` WebSocket (a private field of ws 8), if it supports cork/uncork. */
function corkable(ws: WebSocket): CorkableSocket | null {
  const socket = (ws as unknown as { _socket?: Partial<CorkableSocket> | null })._socket;
  return socket && typeof socket.cork === 'function' && typeof socket.uncork === 'function'
    ? (socket as CorkableSocket)
    : null;
}

export class EventFeed {
  readonly #log: EventLog;
  readonly #instance: string;
  readonly #clients = new Set<Client>();
  readonly #options: Required<
    Pick<
      EventFeedOptions,
      | 'pingIntervalMs'
      | 'softBufferBytes'
      | 'maxLagEvents'
      | 'closeTimeoutMs'
      | 'slowCloseTimeoutMs'
    >
  > &
    EventFeedOptions;
  /** Clients closed by us whose close handshake has not completed yet: they still hold a socket and its buffer. */
  readonly #closing = new Set<WebSocket>();
  readonly #unsubscribe: () => void;
  readonly #clock: Clock;
  #pinger: unknown;
  #closed = false;
  #peakBuffered = 0;
  /** The serialised current event, shared by every client of one #onEvent round. */
  #json: string | undefined;
  /** Clients whose socket is corked until the end of this turn of the event loop. */
  #corked: Client[] = [];
  #flushScheduled = false;

  constructor(log: EventLog, instance: string, options: EventFeedOptions = {}) {
    this.#log = log;
    this.#instance = instance;
    this.#options = {
      ...options,
      pingIntervalMs: options.pingIntervalMs ?? FEED_PING_INTERVAL_MS,
      softBufferBytes: options.softBufferBytes ?? FEED_SOFT_BUFFER_BYTES,
      maxLagEvents: options.maxLagEvents ?? FEED_MAX_LAG_EVENTS,
      closeTimeoutMs: options.closeTimeoutMs ?? FEED_CLOSE_TIMEOUT_MS,
      slowCloseTimeoutMs: options.slowCloseTimeoutMs ?? FEED_SLOW_CLOSE_TIMEOUT_MS,
    };
    this.#unsubscribe = log.subscribe((event) => this.#onEvent(event));
    this.#clock = options.clock ?? systemClock;
    this.#armPing();
  }

  /** One ping round per interval; the timer never keeps the process alive. */
  #armPing(): void {
    this.#pinger = this.#clock.setTimeout(() => {
      this.#ping();
      if (!this.#closed) this.#armPing();
    }, this.#options.pingIntervalMs);
    unref(this.#pinger);
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Whether a client takes `message.analyzed` events (no type filter, or one that lists them): the analysis queue runs in the background only then. */
  get followsAnalyses(): boolean {
    for (const c of this.#clients)
      if (!c.closing && (c.types === null || c.types.has('message.analyzed'))) return true;
    return false;
  }

  /** Sockets the feed holds: its clients plus those waiting for their close handshake (the admission cap counts both). */
  get socketCount(): number {
    return this.#clients.size + this.#closing.size;
  }

  /** Largest socket buffer seen behind any client right after a send (checks the per-client bound). */
  get peakBufferedBytes(): number {
    return this.#peakBuffered;
  }

  /** Starts feeding an accepted WebSocket: hello, gap, replay, live. */
  attach(ws: WebSocket, subscription: FeedSubscription): void {
    if (this.#closed) {
      ws.close(FEED_CLOSE_GOING_AWAY, 'sink shutting down');
      return;
    }
    const lastSeq = this.#log.lastSeq;
    const sameInstance = subscription.instance == null || subscription.instance === this.#instance;
    let since = subscription.since === null ? lastSeq : sameInstance ? subscription.since : 0;
    since = Math.max(0, Math.min(Math.floor(since), lastSeq));
    const client: Client = {
      ws,
      types: subscription.types ?? null,
      lastSent: since,
      allowedLag: lastSeq - since + this.#options.maxLagEvents,
      live: false,
      paused: false,
      inFlight: 0,
      backlog: [],
      backlogIndex: 0,
      alive: true,
      closing: false,
      socket: corkable(ws),
      corked: false,
      batchBase: 0,
    };
    this.#clients.add(client);
    this.#options.onClientOpened?.();
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', () => {
      /* clients have nothing to say; frames are bounded by maxPayload */
    });
    ws.on('error', (err) =>
      this.#options.logger?.debug('feed client error', { error: err.message }),
    );
    ws.once('close', () => {
      if (this.#clients.delete(client)) this.#options.onClientClosed?.();
      client.closing = true;
    });

    const hello: FeedHello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      instance: this.#instance,
      oldestSeq: this.#log.oldestSeq,
      lastSeq,
      since,
    };
    this.#send(client, JSON.stringify(hello));
    const { gap, events } = this.#log.replaySince(since);
    if (gap !== null) {
      this.#send(client, JSON.stringify(gap));
      client.lastSent = gap.data.to;
    }
    client.backlog = events;
    this.#pump(client);
  }

  /**
   * Closes every client with 1001 and a close frame, waits (bounded) for the
   * handshakes, and stops listening to the log.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#pinger);
    this.#unsubscribe();
    const closing = [...this.#clients].map((client) =>
      this.#close(client, FEED_CLOSE_GOING_AWAY, 'sink shutting down'),
    );
    // Clients already closed with 4008 get the shutdown deadline instead of their longer one.
    const cut = this.#clock.setTimeout(() => {
      for (const ws of this.#closing) ws.terminate();
    }, this.#options.closeTimeoutMs);
    unref(cut);
    await Promise.all(closing);
    if (this.#closing.size === 0) this.#clock.clearTimeout(cut);
  }

  /** Runs inside EventLog.append on the ingest path: one misbehaving socket must never throw into it. */
  #onEvent(event: SinkEvent): void {
    this.#json = undefined;
    for (const client of this.#clients) {
      try {
        this.#deliver(client, event);
      } catch (err) {
        this.#options.logger?.warn('feed client failed; terminated', {
          error: err instanceof Error ? err.message : String(err),
        });
        client.closing = true;
        if (this.#clients.delete(client)) this.#options.onClientClosed?.();
        client.ws.terminate();
      }
    }
    this.#json = undefined;
  }

  #deliver(client: Client, event: SinkEvent): void {
    if (client.closing) return;
    if (!client.live) {
      this.#checkLag(client);
      return;
    }
    if (event.seq <= client.lastSent) return;
    if (client.ws.bufferedAmount >= this.#options.softBufferBytes) {
      // Fall back to reading the log once the socket has flushed.
      client.live = false;
      this.#pause(client);
      return;
    }
    if (event.seq !== client.lastSent + 1) {
      // Defensive: never skip a seq; read what is missing from the log.
      client.live = false;
      this.#pump(client);
      return;
    }
    client.lastSent = event.seq;
    if (wanted(client, event)) {
      this.#json ??= JSON.stringify(event);
      this.#send(client, this.#json);
    }
  }

  /** Sends from the log until caught up (then goes live) or the socket buffer is full (then pauses). */
  #pump(client: Client): void {
    client.paused = false;
    while (!client.closing) {
      if (client.backlogIndex >= client.backlog.length) {
        const { gap, events } = this.#log.replaySince(client.lastSent);
        if (gap !== null) {
          // Its cursor left the retained window while it was paused.
          this.#drop(client);
          return;
        }
        client.backlog = events;
        client.backlogIndex = 0;
        if (events.length === 0) {
          client.live = true;
          return;
        }
      }
      if (client.ws.bufferedAmount >= this.#options.softBufferBytes) {
        this.#pause(client);
        return;
      }
      const event = client.backlog[client.backlogIndex++];
      if (event.seq <= client.lastSent) continue;
      client.lastSent = event.seq;
      if (wanted(client, event)) this.#send(client, JSON.stringify(event));
    }
  }

  /**
   * Stops sending until everything queued has been flushed. Sends made while
   * the socket was empty carry no callback, so when none is pending a ping
   * (answered by any live client anyway) marks the point to wait for.
   */
  #pause(client: Client): void {
    client.paused = true;
    if (client.inFlight > 0 || client.closing) return;
    client.inFlight++;
    try {
      client.ws.ping(undefined, undefined, (err) => this.#flushed(client, err));
    } catch {
      client.inFlight--;
    }
  }

  #flushed(client: Client, err: Error | null | undefined): void {
    client.inFlight--;
    if (
      (err === undefined || err === null) &&
      client.paused &&
      client.inFlight === 0 &&
      !client.closing
    )
      this.#pump(client);
  }

  #send(client: Client, data: string): void {
    this.#batch(client);
    const buffered = client.ws.bufferedAmount + data.length;
    if (buffered > this.#peakBuffered) this.#peakBuffered = buffered;
    if (client.batchBase === 0 && !client.paused) {
      // The common case: the socket was empty when this turn's batch began, so
      // everything in it leaves with the uncork; no flush callback needed.
      client.ws.send(data);
      return;
    }
    // Data is queuing: track flushes so a paused client resumes when all of it is out.
    client.inFlight++;
    client.ws.send(data, (err) => this.#flushed(client, err));
  }

  /**
   * Frames sent to a client in one turn of the event loop leave in one write
   * (writev) instead of one system call per event: the socket is corked at the
   * first frame and uncorked by a setImmediate, after the I/O callbacks of this
   * turn. Each frame is still one SinkEvent; only the syscalls are shared.
   */
  #batch(client: Client): void {
    if (client.corked) return;
    client.batchBase = client.ws.bufferedAmount;
    const socket = client.socket;
    if (socket === null || socket.destroyed) return;
    socket.cork();
    client.corked = true;
    this.#corked.push(client);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#uncorkAll());
    }
  }

  #uncorkAll(): void {
    this.#flushScheduled = false;
    const corked = this.#corked;
    this.#corked = [];
    for (const client of corked) {
      client.corked = false;
      client.batchBase = 0;
      try {
        client.socket!.uncork();
      } catch (err) {
        this.#options.logger?.debug('feed client flush failed', {
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  #checkLag(client: Client): void {
    if (client.closing) return;
    const lag = this.#log.lastSeq - client.lastSent;
    if (lag > client.allowedLag || client.lastSent + 1 < this.#log.oldestSeq) this.#drop(client);
  }

  #drop(client: Client): void {
    this.#options.logger?.info('feed client too slow; dropped so it can resume', {
      lastSent: client.lastSent,
      lastSeq: this.#log.lastSeq,
    });
    this.#options.onClientDropped?.('slow');
    void this.#close(
      client,
      FEED_CLOSE_TOO_SLOW,
      'too slow, resume with since',
      this.#options.slowCloseTimeoutMs,
    );
  }

  #close(
    client: Client,
    code: number,
    reason: string,
    timeoutMs = this.#options.closeTimeoutMs,
  ): Promise<void> {
    client.closing = true;
    client.backlog = [];
    // It no longer counts as a client, even while its close frame waits behind its unread data.
    if (this.#clients.delete(client)) this.#options.onClientClosed?.();
    const ws = client.ws;
    if (ws.readyState === ws.CLOSED) return Promise.resolve();
    this.#closing.add(ws);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => ws.terminate(), timeoutMs);
      unref(timer);
      ws.once('close', () => {
        this.#clock.clearTimeout(timer);
        this.#closing.delete(ws);
        resolve();
      });
      try {
        ws.close(code, reason);
      } catch {
        ws.terminate();
      }
    });
  }

  #ping(): void {
    for (const client of this.#clients) {
      if (client.closing) continue;
      if (!client.alive) {
        // Dead, or alive but not reading (its pong waits unread): a close frame
        // tells the second kind to resume; the deadline ends the first.
        this.#options.onClientDropped?.('dead');
        this.#options.logger?.info('feed client did not answer a ping; closing with 4008');
        void this.#close(
          client,
          FEED_CLOSE_TOO_SLOW,
          'no pong, resume with since',
          this.#options.slowCloseTimeoutMs,
        );
        continue;
      }
      client.alive = false;
      try {
        client.ws.ping();
      } catch {
        client.ws.terminate();
      }
    }
  }
}

/** A real timer never keeps the process alive (a FakeClock's handle has no unref). */
function unref(timer: unknown): void {
  (timer as { unref?: () => void } | null)?.unref?.();
}

function wanted(client: Client, event: SinkEvent): boolean {
  return client.types === null || event.type === 'gap' || client.types.has(event.type);
}
