/**
 * Asks V8 for a collection once the sink has thrown away a lot of memory that
 * lives outside the JS heap, so that memory is given back within the budget.
 *
 * Socket chunks and stored raw mail are ArrayBuffers. V8 frees their memory
 * only when it collects the small heap objects that own them, and those barely
 * fill the heap: a DATA chunk is a 64 KiB buffer behind an object of about
 * 100 bytes. So the chunks of refused transfers, and large messages evicted to
 * make room, wait for V8's own trigger on external memory (about 64 MiB grown
 * since the last full collection), outside every account of the memory budget.
 * In the worst case of `test/integration/sink/memory-budget.test.ts` (24
 * concurrent 22 MiB transfers into a store full of 24 MiB messages) that
 * waiting memory took the peak to 509–512 MiB in 3 of 20 rounds, against the
 * pod's 512 MiB limit (405–432 MiB in 11 rounds with the valve).
 *
 * The valve counts what is thrown away: DATA chunks once copied or dropped
 * (they die young: a minor collection frees them) and the raw memory of
 * removed messages of at least {@link LARGE_RAW_BYTES} (old by then: a full
 * collection). Past a trigger it runs that collection, at most once per
 * interval. Small messages never trigger a full collection (a store at its cap
 * evicts one per message received; V8's own heuristics handle those), and a
 * minor collection every 16 MiB of DATA is one more per several thousand small
 * messages, among the dozens V8 runs for them anyway.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MiB = 1024 * 1024;

/** DATA bytes thrown away (copied into blocks, or dropped) between two minor collections. */
export const YOUNG_DISCARD_TRIGGER_BYTES = 16 * MiB;
/** Raw bytes of removed large messages between two full collections. */
export const OLD_DISCARD_TRIGGER_BYTES = 16 * MiB;
/** A removed message counts toward the full collection from this size on. */
export const LARGE_RAW_BYTES = 64 * 1024;
/** At most one minor collection per this many ms (about 1-5 ms each). */
export const MIN_MINOR_INTERVAL_MS = 20;
/** At most one full collection per this many ms (about 5-30 ms each with the sink's small heap). */
export const MIN_MAJOR_INTERVAL_MS = 250;

export type GcKind = 'minor' | 'major';
export type GcFn = (kind: GcKind) => void;

export interface GcValveOptions {
  /** Runs a collection; null: the valve only counts (no way to ask V8). */
  gc: GcFn | null;
  /** performance.now()-like clock, injectable for tests. */
  now?: () => number;
}

export class GcValve {
  readonly #gc: GcFn | null;
  readonly #now: () => number;
  #young = 0;
  #old = 0;
  #lastMinor = -Infinity;
  #lastMajor = -Infinity;
  /** Collections run, by kind (for tests and diagnostics). */
  readonly runs = { minor: 0, major: 0 };

  constructor(options: GcValveOptions) {
    this.#gc = options.gc;
    this.#now = options.now ?? (() => performance.now());
  }

  /** `bytes` of DATA chunks are garbage now (copied into the transfer's blocks, or dropped). */
  discardedChunks(bytes: number): void {
    if (this.#old >= OLD_DISCARD_TRIGGER_BYTES) this.pending(); // one the interval held back
    this.#young += bytes;
    if (this.#young < YOUNG_DISCARD_TRIGGER_BYTES || this.#gc === null) return;
    const now = this.#now();
    if (now - this.#lastMinor < MIN_MINOR_INTERVAL_MS) return;
    this.#lastMinor = now;
    this.#young = 0;
    this.runs.minor++;
    this.#gc('minor');
  }

  /** A stored message's raw memory of `bytes` was let go (evicted, deleted, cleared). */
  discardedRaw(bytes: number): void {
    if (bytes < LARGE_RAW_BYTES) return;
    this.#old += bytes;
    this.pending();
  }

  /** Runs a full collection now if removed large messages reached the trigger and the interval allows. */
  pending(): void {
    if (this.#old < OLD_DISCARD_TRIGGER_BYTES || this.#gc === null) return;
    const now = this.#now();
    if (now - this.#lastMajor < MIN_MAJOR_INTERVAL_MS) return;
    this.#lastMajor = now;
    this.#old = 0;
    this.#young = 0; // a full collection frees the young garbage too
    this.runs.major++;
    this.#gc('major');
  }
}

/**
 * V8's collection function, obtained at run time (Node's `--expose-gc` flag
 * exposes it only to contexts created after it is set), so the pod needs no
 * extra flag and the embedded local sink gets it too; null if V8 refuses.
 */
export function runtimeGc(): GcFn | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (!isV8Gc(gc)) return null;
    return (kind) => {
      gc({ type: kind, execution: 'sync' });
    };
  } catch {
    return null;
  }
}

/** V8's `gc` extension: `gc({type, execution})`. */
function isV8Gc(v: unknown): v is (options: { type: GcKind; execution: 'sync' }) => void {
  return typeof v === 'function';
}

let shared: GcValve | null = null;

/** The process's valve (collections are process-wide): created on first use. */
export function processGcValve(): GcValve {
  return (shared ??= new GcValve({ gc: runtimeGc() }));
}
