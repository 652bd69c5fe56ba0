import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { runTail, type TailSource } from '../../../../../plugin/lib/tail/run-tail.ts';
import { EventFilter } from '../../../../../plugin/lib/tail/event-filter.ts';
import type { HelloFrame, SinkEvent } from '../../../../../src/protocol.ts';

function ev(
  seq: number,
  second: number,
  type: 'gap' | 'messages.cleared' = 'messages.cleared',
): SinkEvent {
  const time = new Date(Date.UTC(2026, 10, 28, 10, 0, second)).toISOString();
  return type === 'gap'
    ? { seq, time, type, data: { from: 1, to: seq - 1, missed: seq - 1 } }
    : { seq, time, type, data: { count: seq } };
}

/** A fake feed: replays `retained` (after since) synchronously, then `live` events, then waits for abort. */
function source(
  name: string,
  retained: SinkEvent[],
  live: SinkEvent[] = [],
): TailSource & { sinces: Array<number | null> } {
  const sinces: Array<number | null> = [];
  return {
    name,
    sinces,
    async events({ since, signal, onHello, onEvent }) {
      sinces.push(since);
      const hello: HelloFrame = {
        type: 'hello',
        protocol: 1,
        instance: name,
        oldestSeq: 1,
        lastSeq: retained.at(-1)?.seq ?? 0,
      };
      onHello(hello);
      for (const e of retained) if (e.seq > (since ?? 0)) onEvent(e);
      for (const e of live) {
        await new Promise((r) => setImmediate(r));
        if (signal.aborted) return;
        onEvent(e);
      }
      if (!signal.aborted)
        await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    },
  };
}

describe('runTail', () => {
  it('--no-follow prints the retained events and returns without live ones', async () => {
    const lines: string[] = [];
    const r = await runTail({
      sources: [source('a', [ev(1, 1), ev(2, 2)], [ev(3, 3)])],
      since: { kind: 'all' },
      follow: false,
      filter: new EventFilter({}),
      output: 'json',
      write: (l) => lines.push(l),
      warn: () => {},
    });
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as SinkEvent).seq),
      [1, 2],
    );
    assert.equal(r.printed, 2);
    assert.ok(!lines[0].includes('"pod"'), 'a single feed prints the SinkEvent unchanged');
    assert.deepEqual(JSON.parse(lines[0]), ev(1, 1));
  });

  it('--no-follow on an empty sink returns at once', async () => {
    const r = await runTail({
      sources: [source('a', [])],
      since: { kind: 'all' },
      follow: false,
      filter: new EventFilter({}),
      output: 'text',
      write: () => {},
      warn: () => {},
    });
    assert.equal(r.printed, 0);
  });

  it('passes a seq --since to every feed', async () => {
    const s = source('a', [ev(1, 1), ev(2, 2), ev(3, 3)]);
    const lines: string[] = [];
    await runTail({
      sources: [s],
      since: { kind: 'seq', seq: 2 },
      follow: false,
      filter: new EventFilter({}),
      output: 'json',
      write: (l) => lines.push(l),
      warn: () => {},
    });
    assert.deepEqual(s.sinces, [2]);
    const all = source('b', [ev(1, 1)]);
    await runTail({
      sources: [all],
      since: { kind: 'duration', ms: 60_000 },
      follow: false,
      filter: new EventFilter({}),
      output: 'json',
      write: () => {},
      warn: () => {},
    });
    assert.deepEqual(
      all.sinces,
      [null],
      'durations and the default start at the oldest retained event, not at seq 0',
    );
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as SinkEvent).seq),
      [3],
    );
  });

  it('merges several feeds by time and names the pod', async () => {
    const lines: string[] = [];
    await runTail({
      sources: [source('pod-a', [ev(1, 1), ev(2, 5)]), source('pod-b', [ev(1, 2), ev(2, 3)])],
      since: { kind: 'all' },
      follow: false,
      filter: new EventFilter({}),
      output: 'json',
      write: (l) => lines.push(l),
      warn: () => {},
    });
    assert.deepEqual(
      lines.map((l) => {
        const e = JSON.parse(l) as SinkEvent & { pod: string };
        return `${e.pod}:${e.seq}`;
      }),
      ['pod-a:1', 'pod-b:1', 'pod-b:2', 'pod-a:2'],
    );
  });

  it('warns about gaps on stderr in text mode and prints them in JSON', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const feed = [ev(50, 1, 'gap'), ev(50, 1)];
    await runTail({
      sources: [source('a', feed)],
      since: { kind: 'seq', seq: 3 },
      follow: false,
      filter: new EventFilter({ types: new Set(['message.received']) }),
      output: 'text',
      write: (l) => out.push(l),
      warn: (l) => err.push(l),
    });
    assert.equal(out.length, 0, 'the type filter hides the other event');
    assert.match(err[0], /^warning: 49 event\(s\) were lost/);
    const json: string[] = [];
    const r = await runTail({
      sources: [source('a', feed)],
      since: { kind: 'seq', seq: 3 },
      follow: false,
      filter: new EventFilter({}),
      output: 'json',
      write: (l) => json.push(l),
      warn: () => {},
    });
    assert.equal((JSON.parse(json[0]) as SinkEvent).type, 'gap');
    assert.equal(r.gaps, 1);
    assert.equal(r.missed, 49);
  });

  it('follows live events until aborted', async () => {
    const ac = new AbortController();
    const lines: string[] = [];
    await runTail({
      sources: [source('a', [ev(1, 1)], [ev(2, 2), ev(3, 3)])],
      since: { kind: 'all' },
      follow: true,
      signal: ac.signal,
      filter: new EventFilter({}),
      output: 'json',
      warn: () => {},
      write: (l) => {
        lines.push(l);
        if (lines.length === 3) ac.abort();
      },
    });
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as SinkEvent).seq),
      [1, 2, 3],
    );
  });

  it('propagates a feed failure', async () => {
    const broken: TailSource = {
      name: 'x',
      events: async () => {
        throw new Error('unreachable');
      },
    };
    await assert.rejects(
      runTail({
        sources: [broken],
        since: { kind: 'all' },
        follow: true,
        filter: new EventFilter({}),
        output: 'text',
        write: () => {},
        warn: () => {},
      }),
      /unreachable/,
    );
  });
});
