/**
 * The live event feed: the sink's WebSocket `/api/events`, resumed from the
 * last `seq` seen after every drop, with the token offered as a `bearer.`
 * subprotocol (browsers cannot set headers on a WebSocket). The status it
 * reports is shown on the page: a dropped feed is never silent.
 */
import type { HelloFrame, SinkEvent } from '../../../src/protocol.ts';

/** Subprotocol of the feed (sink/http/auth.ts FEED_SUBPROTOCOL). */
const FEED_SUBPROTOCOL = 'email-validate.v1';
const BEARER_PREFIX = 'bearer.';
/** Reconnect backoff: first retry, cap. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

export type FeedStatus =
  | { state: 'connecting' }
  | { state: 'live'; resumedAfter: number | null }
  | { state: 'reconnecting'; attempt: number; lastSeq: number }
  | { state: 'closed' }
  /** The browser refused to open the socket, e.g. a token with characters a subprotocol cannot carry. */
  | { state: 'failed'; reason: string };

export interface FeedHandlers {
  onHello(hello: HelloFrame): void;
  onEvent(event: SinkEvent): void;
  onStatus(status: FeedStatus): void;
}

export class LiveFeed {
  readonly #token: string | null;
  readonly #handlers: FeedHandlers;
  #ws: WebSocket | null = null;
  #lastSeq: number;
  #instance: string;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #everOpened = false;

  constructor(options: {
    token: string | null;
    since: number;
    instance: string;
    handlers: FeedHandlers;
  }) {
    this.#token = options.token;
    this.#lastSeq = options.since;
    this.#instance = options.instance;
    this.#handlers = options.handlers;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Restarts from a new position (after the inbox reloaded its snapshot). */
  resetTo(since: number, instance: string): void {
    this.#lastSeq = since;
    this.#instance = instance;
  }

  start(): void {
    this.#handlers.onStatus({ state: 'connecting' });
    this.#connect();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#ws?.close(1000);
    this.#handlers.onStatus({ state: 'closed' });
  }

  /** Drops the connection as a network failure would (tests and the "reconnect" button). */
  drop(): void {
    this.#ws?.close(4000, 'dropped by the page');
  }

  #connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/api/events?since=${this.#lastSeq}&instance=${encodeURIComponent(this.#instance)}`;
    const protocols =
      this.#token === null
        ? [FEED_SUBPROTOCOL]
        : [FEED_SUBPROTOCOL, `${BEARER_PREFIX}${this.#token}`];
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols);
    } catch (err) {
      // RFC 6455 subprotocols are HTTP tokens: a token with '/', '=' or ':' cannot be offered.
      this.#handlers.onStatus({
        state: 'failed',
        reason: `the live feed cannot be opened (${err instanceof Error ? err.message : String(err)}); use a token of letters, digits, '-' and '_'`,
      });
      return;
    }
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.#attempt = 0;
    };
    ws.onmessage = (msg) => {
      let frame: SinkEvent | HelloFrame;
      try {
        frame = JSON.parse(String(msg.data)) as SinkEvent | HelloFrame;
      } catch {
        return;
      }
      if (frame.type === 'hello') {
        // Live only once the hello says which sink answered: "resumed, nothing missed"
        // is true only for the same process; a new one is reported by onHello instead.
        const sameSink = frame.instance === this.#instance;
        const resumed = this.#everOpened && sameSink ? this.#lastSeq : null;
        this.#everOpened = true;
        this.#instance = frame.instance;
        this.#handlers.onStatus({ state: 'live', resumedAfter: resumed });
        this.#handlers.onHello(frame);
        return;
      }
      if (frame.seq <= this.#lastSeq && frame.type !== 'gap') return;
      this.#lastSeq = Math.max(this.#lastSeq, frame.seq);
      this.#handlers.onEvent(frame);
    };
    ws.onclose = () => {
      if (this.#ws !== ws || this.#closed) return;
      this.#ws = null;
      this.#attempt++;
      this.#handlers.onStatus({
        state: 'reconnecting',
        attempt: this.#attempt,
        lastSeq: this.#lastSeq,
      });
      const delay = opened
        ? RETRY_FIRST_MS
        : Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(this.#attempt, 5));
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
  }
}
