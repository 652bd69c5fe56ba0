/**
 * How far V8 lets the sink's old generation grow between two full collections.
 *
 * V8 picks the factor from the heap's cap: 4x for a heap at its default size,
 * scaled down to 1.3x for a cap of 256 MiB or less, "small devices" in its
 * words (deps/v8/src/heap/heap-controller.cc, `MaxGrowingFactor`). The pod
 * caps the sink's heap at 256 MiB (`SINK_NODE_OPTIONS`) to keep it inside the
 * memory budget, so V8 took it for a small device: while the store fills, a
 * full collection came every 1.3x of growth, 13 in 46,000 messages, and the
 * concurrent marking of those was most of what the sink cost per message
 * above a bare smtp-server (docs/performance.md, scenario 6).
 *
 * So after each full collection the sink sets the factor itself: the old
 * generation may grow by {@link GROWTH_HEADROOM_BYTES} over what survived, at
 * most 2x ({@link MAX_GROWING_PERCENT}, V8's own factor for a cap of about
 * 2 GiB), and never less than V8's 1.3x ({@link V8_SMALL_HEAP_PERCENT}: past
 * that, the flag is cleared and V8 decides). A store filling up runs fewer
 * full collections (`bench:sink` scenario 6: the GC threads' CPU per message
 * 8-11 µs against 14-17 before); a store holding tens of thousands of
 * messages keeps close to V8's 1.3x, where a fixed 2x held 60 MiB more at
 * 50,000 messages (docs/performance.md, scenario 5). The cap still bounds
 * everything: V8 never sets the next limit past halfway from the live size to
 * the cap (`BoundAllocationLimit`).
 *
 * Only a capped heap is tuned (under {@link SMALL_HEAP_LIMIT_BYTES}); an
 * uncapped one (the embedded local sink, inside the CLI) keeps V8's 4x. The
 * flag is process-wide and V8 reads it at every full collection, of every
 * isolate: the parse worker's heap (capped at 128 MiB) grows the same way.
 * Node refuses `--heap-growing-percent` in NODE_OPTIONS; set at run time
 * through `v8.setFlagsFromString` it needs no change to the container command.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

const MiB = 1024 * 1024;

/** At most this growth between full collections (2x). */
export const MAX_GROWING_PERCENT = 100;
/** V8's own factor for the pod's cap (1.3x); a choice at or under it clears the flag instead. */
export const V8_SMALL_HEAP_PERCENT = 30;
/** The growth allowed over the live heap, in bytes (within the two percents above). */
export const GROWTH_HEADROOM_BYTES = 32 * MiB;
/** Heaps capped below this are tuned (the pod's: 448 MiB with its semi-spaces); larger ones keep V8's factor. */
export const SMALL_HEAP_LIMIT_BYTES = 1024 * MiB;

/** The `--heap-growing-percent` for a live heap of `liveBytes`: 0 means V8's own factor. */
export function growingPercent(liveBytes: number): number {
  const percent = Math.min(
    MAX_GROWING_PERCENT,
    Math.floor((100 * GROWTH_HEADROOM_BYTES) / Math.max(1, liveBytes)),
  );
  return percent <= V8_SMALL_HEAP_PERCENT ? 0 : percent;
}

/**
 * Sets the growing factor after each full collection from the live heap then
 * ({@link growingPercent}). V8 reads the flag when it sets the limit for the
 * next collection, so a choice takes effect one collection later.
 */
export class HeapGrowth {
  readonly #setFlags: (flags: string) => void;
  readonly #liveBytes: () => number;
  /** The percent last set; null before the first choice. */
  #percent: number | null = null;

  constructor(setFlags: (flags: string) => void, liveBytes: () => number) {
    this.#setFlags = setFlags;
    this.#liveBytes = liveBytes;
  }

  /** The percent in force (0: V8's own factor; null: not chosen yet). */
  get percent(): number | null {
    return this.#percent;
  }

  /** After a full collection (and once at start): sets the flag if the choice changed. */
  afterFullCollection(): void {
    const percent = growingPercent(this.#liveBytes());
    if (percent === this.#percent) return;
    this.#setFlags(`--heap-growing-percent=${percent}`);
    this.#percent = percent;
  }
}

/**
 * Tunes the process's heap growth if its heap is capped small: chooses now,
 * then after every full collection. Returns the tuner, or null if the heap is
 * not capped small or V8 refused the flag (the sink then runs with V8's own
 * factor). `observe` subscribes to full collections; it returns the
 * unsubscribe function.
 */
export function tuneHeapGrowth(
  heapLimitBytes = getHeapStatistics().heap_size_limit,
  setFlags: (flags: string) => void = setFlagsFromString,
  liveBytes: () => number = () => getHeapStatistics().used_heap_size,
  observe: (onFull: () => void) => () => void = observeFullCollections,
): HeapGrowth | null {
  if (heapLimitBytes >= SMALL_HEAP_LIMIT_BYTES) return null;
  const growth = new HeapGrowth(setFlags, liveBytes);
  try {
    growth.afterFullCollection();
  } catch {
    return null;
  }
  observe(() => {
    try {
      growth.afterFullCollection();
    } catch {
      // V8 accepted the flag once; nothing to do if it no longer does.
    }
  });
  return growth;
}

/** Calls `onFull` after every full (mark-compact) collection, from Node's `gc` performance entries. */
export function observeFullCollections(onFull: () => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (gcKind(entry) === constants.NODE_PERFORMANCE_GC_MAJOR) {
        onFull();
        return;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

/** The collection kind of a `gc` performance entry (Node puts it in `detail.kind`). */
function gcKind(entry: PerformanceEntry): number | null {
  const detail: unknown = (entry as PerformanceEntry & { detail?: unknown }).detail;
  if (typeof detail !== 'object' || detail === null || !('kind' in detail)) return null;
  return typeof detail.kind === 'number' ? detail.kind : null;
}
