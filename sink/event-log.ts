import {
  sinkEvent,
  type EventDataMap,
  type SinkEvent,
  type SinkEventType,
} from '../src/protocol.ts';
import { DEFAULT_SINK_EVENT_WINDOW } from './options.ts';

export type EventListener = (event: SinkEvent) => void;

/**
 * An event kept in the window with its data as JSON text, rebuilt on replay.
 * The store's record of a stored message is one ({@link EventLog.appendRecord}):
 * the window's `message.received` and the store share one heap object per
 * message instead of two (bench:sink scenario 6: V8 promotes and marks every
 * object a stored message keeps).
 */
export interface PackedEvent {
  /** Set by the log when appended. */
  seq: number;
  /** Set by the log when appended. */
  time: string;
  readonly type: SinkEventType;
  readonly json: string;
  /** Rebuilds the data from `json`. */
  revive(json: string): EventDataMap[SinkEventType];
}

/** A {@link PackedEvent} of {@link EventLog.appendPacked}. */
class JsonEvent implements PackedEvent {
  seq = 0;
  time = '';
  readonly type: SinkEventType;
  readonly json: string;
  /** A module-level function: nothing allocated per event. */
  readonly revive: (json: string) => EventDataMap[SinkEventType];

  constructor(
    type: SinkEventType,
    json: string,
    revive: (json: string) => EventDataMap[SinkEventType],
  ) {
    this.type = type;
    this.json = json;
    this.revive = revive;
  }
}

/** What {@link EventLog.replaySince} hands a client that asked for `since`. */
export interface Replay {
  /** Present when events after `since` were already dropped from the window. */
  gap: SinkEvent<'gap'> | null;
  events: SinkEvent[];
}

/**
 * The sink's event sequence: assigns strictly increasing `seq`s, keeps a bounded
 * window for replay, and fans out to live listeners synchronously (listeners
 * must not block; the WebSocket feed buffers per client with its own bound).
 *
 * The window is a ring buffer, so appending is O(1) and memory is fixed.
 */
export class EventLog {
  readonly #window: Array<SinkEvent | PackedEvent | undefined>;
  readonly #listeners = new Set<EventListener>();
  readonly #now: () => Date;
  /** ISO time of the current millisecond: events of one millisecond share one string. */
  #lastMs = NaN;
  #lastIso = '';
  #lastSeq = 0;

  constructor(options: { window?: number; now?: () => Date } = {}) {
    const size = options.window ?? DEFAULT_SINK_EVENT_WINDOW;
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`event window must be a positive integer, got ${size}`);
    this.#window = new Array<SinkEvent | PackedEvent | undefined>(size);
    this.#now = options.now ?? (() => new Date());
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The oldest seq still retained (lastSeq + 1 when nothing was ever appended). */
  get oldestSeq(): number {
    return Math.max(1, this.#lastSeq - this.#window.length + 1);
  }

  append<T extends SinkEventType>(type: T, data: EventDataMap[T]): SinkEvent<T> {
    const event = sinkEvent(++this.#lastSeq, this.#isoNow(), type, data);
    this.#window[event.seq % this.#window.length] = event;
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  /**
   * Appends an event whose data the caller also has as `JSON.stringify(data)`:
   * the window keeps that one string instead of the data's objects (the store
   * keeps the same string for a message's summary; see store.ts). Listeners
   * get the event as {@link append} gives it.
   */
  appendPacked<T extends SinkEventType>(
    type: T,
    data: EventDataMap[T],
    json: string,
    revive: (json: string) => EventDataMap[T],
  ): void {
    this.appendRecord(new JsonEvent(type, json, revive), data);
  }

  /**
   * Appends `record` itself to the window (its `seq` and `time` are set here):
   * for a caller that keeps the same object and its JSON anyway. Listeners get
   * the event with `data` as {@link append} gives it.
   */
  appendRecord<T extends SinkEventType>(
    record: PackedEvent & { readonly type: T },
    data: EventDataMap[T],
  ): void {
    const seq = ++this.#lastSeq;
    const time = this.#isoNow();
    record.seq = seq;
    record.time = time;
    this.#window[seq % this.#window.length] = record;
    if (this.#listeners.size === 0) return;
    const event = sinkEvent(seq, time, record.type, data);
    for (const listener of this.#listeners) listener(event);
  }

  /**
   * Everything retained after `since` (exclusive), oldest first, preceded by a
   * `gap` when some of the events the client asked for are gone. `since` larger
   * than `lastSeq` (a client of an earlier sink process) replays nothing.
   */
  replaySince(since: number): Replay {
    const from = Math.max(0, Math.floor(since)) + 1;
    const oldest = this.oldestSeq;
    let gap: SinkEvent<'gap'> | null = null;
    if (from < oldest && this.#lastSeq > 0) {
      gap = {
        seq: oldest,
        time: this.#now().toISOString(),
        type: 'gap',
        data: { from, to: oldest - 1, missed: oldest - from },
      };
    }
    const events: SinkEvent[] = [];
    for (let seq = Math.max(from, oldest); seq <= this.#lastSeq; seq++) {
      const event = this.#window[seq % this.#window.length];
      if (event === undefined || event.seq !== seq) continue;
      events.push(
        'json' in event
          ? sinkEvent(event.seq, event.time, event.type, event.revive(event.json))
          : event,
      );
    }
    return { gap, events };
  }

  #isoNow(): string {
    const d = this.#now();
    const ms = d.getTime();
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      this.#lastIso = d.toISOString();
    }
    return this.#lastIso;
  }

  /** Live events from now on; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
