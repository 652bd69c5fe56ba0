import type { SinkEvent } from '../../src/protocol.ts';

/** One event and the index of the feed (sink pod) it came from. */
export interface FeedItem {
  source: number;
  event: SinkEvent;
}

/**
 * Most events held back while waiting for a slower feed's replay. Replays are
 * bounded by each sink's retained window; past this the oldest held event is
 * released out of order rather than letting memory grow.
 */
export const MAX_HELD_EVENTS = 200_000;

interface Lane {
  queue: SinkEvent[];
  head: number;
  /** The feed has replayed its retained events; an empty queue no longer blocks the others. */
  caughtUp: boolean;
  ended: boolean;
}

/**
 * Merges the event feeds of several sink pods into one stream, the way stern
 * merges pod logs, with one improvement: while the feeds replay retained
 * events, output is ordered by event time across pods (ties: feed index, then
 * seq), so `tail --no-follow` prints one history rather than one pod after the
 * other. Once every feed has caught up, live events pass straight through in
 * arrival order. Each feed's own order is always kept.
 *
 * With a single feed this is a pass-through.
 */
export class FeedMerger {
  readonly #lanes: Lane[];
  readonly #emit: (item: FeedItem) => void;
  readonly #maxHeld: number;
  #held = 0;

  constructor(sources: number, emit: (item: FeedItem) => void, options: { maxHeld?: number } = {}) {
    if (!Number.isInteger(sources) || sources < 1)
      throw new RangeError('FeedMerger needs at least one source');
    this.#lanes = Array.from({ length: sources }, () => ({
      queue: [],
      head: 0,
      caughtUp: false,
      ended: false,
    }));
    this.#emit = emit;
    this.#maxHeld = options.maxHeld ?? MAX_HELD_EVENTS;
  }

  /** Number of events held back, waiting for a slower feed. */
  get held(): number {
    return this.#held;
  }

  push(source: number, event: SinkEvent): void {
    const lane = this.#lane(source);
    lane.queue.push(event);
    this.#held += 1;
    this.#drain();
  }

  /** The feed has delivered everything it had retained when it connected. */
  caughtUp(source: number): void {
    this.#lane(source).caughtUp = true;
    this.#drain();
  }

  /** The feed will deliver nothing more. */
  end(source: number): void {
    this.#lane(source).ended = true;
    this.#drain();
  }

  /** Releases everything held, in order, regardless of slower feeds. */
  flush(): void {
    this.#drain(true);
  }

  #lane(source: number): Lane {
    const lane = this.#lanes[source];
    if (!lane) throw new RangeError(`no feed ${source}`);
    return lane;
  }

  #drain(force = false): void {
    for (;;) {
      let best = -1;
      let bestTime = 0;
      let blocked = false;
      for (let i = 0; i < this.#lanes.length; i++) {
        const lane = this.#lanes[i];
        if (lane.head >= lane.queue.length) {
          if (!lane.caughtUp && !lane.ended) blocked = true;
          continue;
        }
        const e = lane.queue[lane.head];
        const t = Date.parse(e.time);
        const time = Number.isNaN(t) ? 0 : t;
        // Strictly smaller: ties go to the lower feed index, which is visited first.
        if (best < 0 || time < bestTime) {
          best = i;
          bestTime = time;
        }
      }
      if (best < 0) return;
      if (blocked && !force && this.#held <= this.#maxHeld) return;
      const lane = this.#lanes[best];
      const event = lane.queue[lane.head];
      lane.head += 1;
      this.#held -= 1;
      if (lane.head === lane.queue.length) {
        lane.queue = [];
        lane.head = 0;
      } else if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
        lane.queue = lane.queue.slice(lane.head);
        lane.head = 0;
      }
      this.#emit({ source: best, event });
    }
  }
}
