import assert from 'node:assert/strict';
import {
  GROWTH_HEADROOM_BYTES,
  HeapGrowth,
  MAX_GROWING_PERCENT,
  SMALL_HEAP_LIMIT_BYTES,
  V8_SMALL_HEAP_PERCENT,
  growingPercent,
  observeFullCollections,
  tuneHeapGrowth,
} from '../../../sink/heap-growth.ts';
import { runtimeGc } from '../../../sink/gc-valve.ts';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';

const MiB = 1024 * 1024;

describe('sink: heap growth (a capped heap grows by a headroom over its live size, 1.3x to 2x)', () => {
  it('the bounds: 2x at most, V8 own 1.3x under it, 32 MiB of headroom', () => {
    assert.equal(MAX_GROWING_PERCENT, 100);
    assert.equal(V8_SMALL_HEAP_PERCENT, 30);
    assert.equal(GROWTH_HEADROOM_BYTES, 32 * MiB);
  });

  it('a small live heap may double', () => {
    assert.equal(growingPercent(0), 100);
    assert.equal(growingPercent(10 * MiB), 100);
    assert.equal(growingPercent(32 * MiB), 100); // headroom = live: exactly 2x
  });

  it('a larger one grows by the headroom only', () => {
    assert.equal(growingPercent(32 * MiB + 1), 99); // rounded down: never more than the headroom
    assert.equal(growingPercent(64 * MiB), 50);
    assert.equal(growingPercent(80 * MiB), 40);
  });

  it("at or under V8's own 1.3x the flag is cleared (0: V8 decides)", () => {
    assert.equal(growingPercent(Math.floor((32 * MiB * 100) / 31)), 31);
    assert.equal(growingPercent(Math.ceil((32 * MiB * 100) / 30)), 0);
    assert.equal(growingPercent(200 * MiB), 0);
    // A live size where the headroom is exactly 30 percent once rounded down: V8's own, cleared.
    const live = Math.floor((GROWTH_HEADROOM_BYTES * 100) / 30);
    assert.equal(Math.floor((100 * GROWTH_HEADROOM_BYTES) / live), 30);
    assert.equal(growingPercent(live), 0);
  });

  it('sets the flag after a full collection only when the choice changes', () => {
    let live = 10 * MiB;
    const flags: string[] = [];
    const g = new HeapGrowth(
      (f) => flags.push(f),
      () => live,
    );
    assert.equal(g.percent, null);
    g.afterFullCollection();
    g.afterFullCollection();
    live = 64 * MiB;
    g.afterFullCollection();
    live = 500 * MiB;
    g.afterFullCollection();
    g.afterFullCollection();
    assert.deepEqual(flags, [
      '--heap-growing-percent=100',
      '--heap-growing-percent=50',
      '--heap-growing-percent=0',
    ]);
    assert.equal(g.percent, 0);
  });

  it('tunes a heap capped under the bound: chooses at once, then after every full collection', () => {
    const flags: string[] = [];
    let onFull: (() => void) | null = null;
    let live = 8 * MiB;
    const g = tuneHeapGrowth(
      SMALL_HEAP_LIMIT_BYTES - 1,
      (f) => flags.push(f),
      () => live,
      (cb) => {
        onFull = cb;
        return () => undefined;
      },
    );
    assert.ok(g);
    assert.deepEqual(flags, ['--heap-growing-percent=100']);
    live = 128 * MiB;
    onFull!();
    assert.deepEqual(flags, ['--heap-growing-percent=100', '--heap-growing-percent=0']);
  });

  it("leaves a heap capped at the bound or above to V8 (the CLI's own, where V8 allows 4x)", () => {
    for (const limit of [SMALL_HEAP_LIMIT_BYTES, 4096 * MiB]) {
      const flags: string[] = [];
      let observed = false;
      const g = tuneHeapGrowth(
        limit,
        (f) => flags.push(f),
        () => 0,
        () => {
          observed = true;
          return () => undefined;
        },
      );
      assert.equal(g, null);
      assert.deepEqual(flags, []);
      assert.equal(observed, false);
    }
  });

  it('a refused flag is no error: the sink runs with V8 own factor, and does not watch collections', () => {
    let observed = false;
    const g = tuneHeapGrowth(
      448 * MiB,
      () => {
        throw new Error('refused');
      },
      () => 0,
      () => {
        observed = true;
        return () => undefined;
      },
    );
    assert.equal(g, null);
    assert.equal(observed, false);
  });

  it('a flag refused later leaves the last choice in force', () => {
    let calls = 0;
    let onFull: (() => void) | null = null;
    let live = 0;
    const g = tuneHeapGrowth(
      448 * MiB,
      () => {
        if (++calls > 1) throw new Error('refused');
      },
      () => live,
      (cb) => {
        onFull = cb;
        return () => undefined;
      },
    );
    live = 500 * MiB;
    assert.doesNotThrow(() => onFull!());
    assert.equal(g?.percent, 100);
  });

  it("hears every full collection from Node's gc entries, and stops when told", async () => {
    const gc = runtimeGc();
    assert.ok(gc, 'V8 gives its gc function at run time');
    const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;
    const MINOR = constants.NODE_PERFORMANCE_GC_MINOR;
    // A reference observer, subscribed alongside, sees the same entries (V8 may run collections
    // of its own, and Node hands entries over a turn or two after the collection).
    const reference = () => {
      const kinds: number[] = [];
      let waiting: { kind: number; resolve: () => void } | null = null;
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
          if (kind === undefined) continue;
          kinds.push(kind);
          if (waiting?.kind === kind) waiting.resolve();
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      return {
        kinds,
        stop: () => observer.disconnect(),
        /** Resolves once an entry of `kind` has been handed over. */
        next: (kind: number) =>
          new Promise<void>((resolve) => {
            waiting = { kind, resolve };
          }),
      };
    };
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

    let heard = 0;
    const ref = reference();
    const stop = observeFullCollections(() => {
      heard++;
    });
    try {
      let next = ref.next(MINOR);
      gc('minor');
      await next;
      await turn();
      // A scavenge is no full collection (unless V8 ran one of its own meanwhile).
      if (!ref.kinds.includes(MAJOR)) assert.equal(heard, 0, ref.kinds.join(','));
      next = ref.next(MAJOR);
      gc('major');
      await next;
      await turn();
      // Once per batch of entries Node hands over that holds a full collection.
      assert.ok(heard >= 1, ref.kinds.join(','));
      assert.ok(heard <= ref.kinds.filter((k) => k === MAJOR).length, ref.kinds.join(','));
    } finally {
      stop();
      ref.stop();
    }
    // Unsubscribed: full collections are handed to others, not to us.
    const before = heard;
    const ref2 = reference();
    const next = ref2.next(MAJOR);
    gc('major');
    await next;
    await turn();
    ref2.stop();
    assert.equal(heard, before);
  });
});
