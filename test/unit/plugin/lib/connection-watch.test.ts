import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { ConnectionWatch } from '../../../../plugin/lib/sink-target.ts';
import type { SinkEvent } from '../../../../src/protocol.ts';

const hello = (instance: string, oldestSeq: number, lastSeq: number) => ({
  type: 'hello' as const,
  protocol: 1,
  instance,
  oldestSeq,
  lastSeq,
});
function event(seq: number): SinkEvent {
  const e: SinkEvent<'messages.cleared'> = {
    seq,
    time: '2026-01-01T00:00:00.000Z',
    type: 'messages.cleared',
    data: { count: 0 },
  };
  return e;
}
const down = {
  state: 'disconnected' as const,
  code: 1006,
  reason: 'socket hang up',
  retryInMs: 250,
  attempt: 1,
};

describe('tail: the sink unreachable and back', () => {
  it('says once when the sink goes away and when it is back, with the events missed', () => {
    let now = 1_000;
    const lines: string[] = [];
    const w = new ConnectionWatch(
      'sink',
      0,
      (l) => lines.push(l),
      () => now,
    );
    w.status(down);
    assert.deepEqual(
      lines,
      [],
      'a sink never reached is reported by the connection error, not here',
    );
    w.hello(hello('a', 1, 0));
    w.event(event(1));
    w.event(event(2));
    w.status(down);
    w.status({ ...down, attempt: 2 });
    assert.deepEqual(
      lines,
      ['sink sink is unreachable (socket hang up); retrying…'],
      'once per outage, not per retry',
    );
    now += 12_000;
    w.hello(hello('a', 1, 5));
    assert.equal(lines[1], 'sink sink is back after 12s; no events missed');
    w.event(event(5));
    w.status(down);
    now += 3_000;
    w.hello(hello('a', 9, 20));
    assert.equal(
      lines[3],
      'sink sink is back after 3s; 3 events missed',
      'seq 6..8 were evicted meanwhile',
    );
    w.status(down);
    w.hello(hello('b', 1, 1));
    assert.match(
      lines[5],
      /is back after 1s, restarted: its events from before the restart are gone/,
    );
  });
});
