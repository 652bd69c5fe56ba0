import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { EventLog } from '../../../sink/event-log.ts';
import {
  GcValve,
  LARGE_RAW_BYTES,
  MIN_MAJOR_INTERVAL_MS,
  MIN_MINOR_INTERVAL_MS,
  OLD_DISCARD_TRIGGER_BYTES,
  YOUNG_DISCARD_TRIGGER_BYTES,
  processGcValve,
  runtimeGc,
} from '../../../sink/gc-valve.ts';
import type { GcKind } from '../../../sink/gc-valve.ts';
import { parseHeaderBlock } from '../../../sink/message-headers.ts';
import { InlineParser } from '../../../sink/parse-worker.ts';
import { analysis } from '../../support/message-analysis.ts';
import { MemoryMessageStore } from '../../../sink/store.ts';

const MiB = 1024 * 1024;

/** A valve on a fake clock that records the collections it asks for. */
function fakeValve() {
  let t = 1000;
  const calls: GcKind[] = [];
  const valve = new GcValve({ gc: (kind) => calls.push(kind), now: () => t });
  return {
    valve,
    calls,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('sink: GC valve (memory thrown away outside the heap is given back within the budget)', () => {
  it('asks for a minor collection once the DATA chunks thrown away reach the trigger, not before', () => {
    const { valve, calls } = fakeValve();
    valve.discardedChunks(YOUNG_DISCARD_TRIGGER_BYTES - 1);
    assert.deepEqual(calls, []);
    valve.discardedChunks(1);
    assert.deepEqual(calls, ['minor']);
    // the count starts again from zero
    valve.discardedChunks(YOUNG_DISCARD_TRIGGER_BYTES - 1);
    assert.deepEqual(calls, ['minor']);
  });

  it('runs at most one minor collection per interval, and the held-back one at the next chunk after it', () => {
    const { valve, calls, advance } = fakeValve();
    valve.discardedChunks(YOUNG_DISCARD_TRIGGER_BYTES);
    advance(MIN_MINOR_INTERVAL_MS - 1);
    valve.discardedChunks(YOUNG_DISCARD_TRIGGER_BYTES);
    assert.deepEqual(calls, ['minor'], 'held back inside the interval');
    advance(1);
    valve.discardedChunks(1);
    assert.deepEqual(calls, ['minor', 'minor'], 'run once the interval has passed');
    assert.equal(valve.runs.minor, 2);
  });

  it('counts removed messages from LARGE_RAW_BYTES on, and asks for a full collection at the trigger', () => {
    const { valve, calls } = fakeValve();
    for (let i = 0; i < 1000; i++) valve.discardedRaw(LARGE_RAW_BYTES - 1);
    assert.deepEqual(calls, [], 'small messages never trigger a full collection');
    const n = OLD_DISCARD_TRIGGER_BYTES / LARGE_RAW_BYTES;
    for (let i = 0; i < n - 1; i++) valve.discardedRaw(LARGE_RAW_BYTES);
    assert.deepEqual(calls, []);
    valve.discardedRaw(LARGE_RAW_BYTES);
    assert.deepEqual(calls, ['major']);
    assert.deepEqual(valve.runs, { minor: 0, major: 1 });
  });

  it('a full collection held back by its interval runs at the next chunk after it; it also clears the chunk count', () => {
    const { valve, calls, advance } = fakeValve();
    valve.discardedRaw(OLD_DISCARD_TRIGGER_BYTES);
    assert.deepEqual(calls, ['major']);
    advance(1);
    valve.discardedRaw(OLD_DISCARD_TRIGGER_BYTES);
    valve.discardedChunks(1);
    assert.deepEqual(calls, ['major'], 'inside the interval');
    advance(MIN_MAJOR_INTERVAL_MS);
    valve.discardedChunks(YOUNG_DISCARD_TRIGGER_BYTES - 2);
    assert.deepEqual(calls, ['major', 'major'], 'the held-back full collection, no minor one');
    valve.discardedChunks(1);
    assert.deepEqual(calls, ['major', 'major'], 'the chunks counted before it were cleared by it');
  });

  it('a full collection is allowed again exactly MIN_MAJOR_INTERVAL_MS after the last', () => {
    const { valve, calls, advance } = fakeValve();
    valve.discardedRaw(OLD_DISCARD_TRIGGER_BYTES);
    advance(MIN_MAJOR_INTERVAL_MS);
    valve.discardedRaw(OLD_DISCARD_TRIGGER_BYTES);
    assert.deepEqual(calls, ['major', 'major']);
  });

  it('without a way to ask V8 it only counts, and never throws', () => {
    const valve = new GcValve({ gc: null });
    valve.discardedChunks(10 * YOUNG_DISCARD_TRIGGER_BYTES);
    valve.discardedRaw(10 * OLD_DISCARD_TRIGGER_BYTES);
    valve.pending();
    assert.deepEqual(valve.runs, { minor: 0, major: 0 });
  });

  it("runtimeGc gets V8's collection without a command-line flag, and a full collection frees an unreachable object", async () => {
    const gc = runtimeGc();
    assert.equal(typeof gc, 'function');
    let target: object | null = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(target);
    target = null;
    await tick(); // a WeakRef keeps its target until the end of the job that created it
    gc!('minor');
    gc!('major');
    assert.equal(ref.deref(), undefined);
    assert.equal(processGcValve(), processGcValve(), 'one valve per process');
  });

  it('the store reports the raw memory of every message it lets go (evicted, deleted, cleared)', () => {
    const valve = new GcValve({ gc: null });
    const reported: number[] = [];
    const discardedRaw = valve.discardedRaw.bind(valve);
    valve.discardedRaw = (bytes: number) => {
      reported.push(bytes);
      discardedRaw(bytes);
    };
    const store = new MemoryMessageStore({
      maxMessages: 3,
      maxBytes: 64 * MiB,
      events: new EventLog(),
      parser: new InlineParser(async () => analysis()),
      gcValve: valve,
    });
    const add = (bytes: number) => {
      const raw = Buffer.alloc(bytes, 'a');
      raw.write('Subject: x\r\n\r\n');
      return store.add({
        envelope: {
          helo: 'h',
          mailFrom: null,
          rcptTo: [{ address: 'a@example.com', tag: null }],
          clientAddress: '127.0.0.1',
          tls: false,
          authUser: null,
        },
        raw,
        headers: parseHeaderBlock(raw),
      }).id;
    };
    const first = add(100);
    const second = add(200);
    add(300);
    add(400); // evicts the first
    assert.deepEqual(reported, [100]);
    assert.ok(store.delete(second));
    assert.deepEqual(reported, [100, 200]);
    assert.equal(store.has(first), false);
    store.clear();
    assert.deepEqual(
      reported.slice(2).sort((a, b) => a - b),
      [300, 400],
    );
  });
});
