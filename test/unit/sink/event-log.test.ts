/** The sink's event window: bounds, times from the injected clock, replay with a gap. */
import assert from 'node:assert/strict';
import { EventLog } from '../../../sink/event-log.ts';

describe('sink/EventLog', () => {
  it('needs a window of a positive integer', () => {
    for (const window of [0, -1, 1.5])
      assert.throws(() => new EventLog({ window }), {
        name: 'RangeError',
        message: `event window must be a positive integer, got ${window}`,
      });
    const one = new EventLog({ window: 1 });
    one.append('gap', { from: 1, to: 1, missed: 1 });
    assert.equal(one.replaySince(0).events.length, 1);
  });

  it("stamps each event with the injected clock's time, in ISO form", () => {
    let t = Date.parse('2026-11-28T00:00:00.000Z');
    const log = new EventLog({ window: 4, now: () => new Date(t) });
    const a = log.append('gap', { from: 1, to: 1, missed: 1 });
    t += 5;
    const b = log.append('gap', { from: 1, to: 1, missed: 1 });
    assert.equal(a.time, '2026-11-28T00:00:00.000Z');
    assert.equal(b.time, '2026-11-28T00:00:00.005Z');
  });

  it('replays what it kept after since, preceded by a gap for what it lost', () => {
    const log = new EventLog({ window: 2, now: () => new Date(0) });
    for (let i = 0; i < 5; i++) log.append('gap', { from: i, to: i, missed: 0 });
    const r = log.replaySince(1);
    assert.deepEqual(r.gap?.data, { from: 2, to: 3, missed: 2 });
    assert.equal(r.gap?.seq, 4);
    assert.deepEqual(
      r.events.map((e) => e.seq),
      [4, 5],
    );
    assert.equal(log.replaySince(4).gap, null);
    assert.equal(log.replaySince(99).events.length, 0);
  });
});
