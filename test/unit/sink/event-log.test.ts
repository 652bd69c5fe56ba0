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

  it('appendRecord: the record itself is kept, numbered, and rebuilt on replay', () => {
    const log = new EventLog({ window: 4, now: () => new Date(0) });
    const data = { from: 3, to: 4, missed: 1 };
    const record = {
      seq: 0,
      time: '',
      type: 'gap' as const,
      json: JSON.stringify(data),
      revive: (text: string) => JSON.parse(text) as typeof data,
    };
    const seen: unknown[] = [];
    log.subscribe((e) => seen.push(e));
    log.append('gap', { from: 1, to: 1, missed: 0 });
    log.appendRecord(record, data);
    assert.equal(record.seq, 2);
    assert.equal(record.time, new Date(0).toISOString());
    assert.deepEqual(seen[1], { seq: 2, time: record.time, type: 'gap', data });
    assert.deepEqual(log.replaySince(1).events, [{ seq: 2, time: record.time, type: 'gap', data }]);
  });

  it('appendPacked: listeners get the data as given, the replay rebuilds it from the JSON, in seq order with the others', () => {
    const log = new EventLog({ window: 4, now: () => new Date(0) });
    const seen: unknown[] = [];
    log.append('gap', { from: 1, to: 1, missed: 0 });
    const data = { from: 7, to: 8, missed: 2 };
    const json = JSON.stringify(data);
    let revived = 0;
    const revive = (text: string) => {
      revived++;
      const [from, to, missed] = (text.match(/\d+/g) ?? []).map(Number);
      return { from, to, missed };
    };
    log.appendPacked('gap', data, json, revive); // no listener yet: nothing built
    const off = log.subscribe((e) => seen.push(e.data));
    log.appendPacked('gap', data, json, revive);
    off();
    assert.equal(seen.length, 1);
    assert.equal(seen[0], data, 'a listener gets the very object');
    assert.equal(revived, 0, 'nothing parsed until a replay');
    const { events } = log.replaySince(0);
    assert.deepEqual(
      events.map((e) => [e.seq, e.data]),
      [
        [1, { from: 1, to: 1, missed: 0 }],
        [2, data],
        [3, data],
      ],
    );
    assert.equal(revived, 2);
    assert.equal(log.lastSeq, 3);
  });
});
