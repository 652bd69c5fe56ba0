import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FeedMerger, type FeedItem } from '../../../../plugin/lib/merge-feeds.ts';
import type { SinkEvent } from '../../../../src/protocol.ts';

function ev(seq: number, second: number): SinkEvent {
  return {
    seq,
    time: new Date(Date.UTC(2026, 10, 28, 10, 0, second)).toISOString(),
    type: 'messages.cleared',
    data: { count: 0 },
  };
}
const tag = (items: FeedItem[]): string[] => items.map((i) => `${i.source}:${i.event.seq}`);

describe('FeedMerger', () => {
  it('passes a single feed straight through', () => {
    const out: FeedItem[] = [];
    const m = new FeedMerger(1, (i) => out.push(i));
    m.push(0, ev(1, 5));
    m.push(0, ev(2, 1)); // out of time order within a feed: the feed's order wins
    assert.deepEqual(tag(out), ['0:1', '0:2']);
  });

  it('orders replayed events by time across feeds, then passes live events through', () => {
    const out: FeedItem[] = [];
    const m = new FeedMerger(2, (i) => out.push(i));
    m.push(0, ev(1, 1));
    m.push(0, ev(2, 4));
    m.push(0, ev(3, 6));
    assert.deepEqual(tag(out), [], 'feed 1 has not replayed yet: nothing can be ordered');
    m.push(1, ev(1, 2));
    assert.deepEqual(tag(out), ['0:1', '1:1']);
    m.push(1, ev(2, 5));
    assert.deepEqual(tag(out), ['0:1', '1:1', '0:2', '1:2']);
    m.caughtUp(1);
    assert.deepEqual(tag(out), ['0:1', '1:1', '0:2', '1:2', '0:3']);
    m.caughtUp(0);
    m.push(1, ev(3, 9));
    m.push(0, ev(4, 7));
    assert.deepEqual(tag(out).slice(5), ['1:3', '0:4'], 'live: arrival order');
    assert.equal(m.held, 0);
  });

  it('breaks time ties by feed index and keeps each feed in order', () => {
    const out: FeedItem[] = [];
    const m = new FeedMerger(3, (i) => out.push(i));
    m.push(2, ev(1, 1));
    m.push(1, ev(1, 1));
    m.push(0, ev(1, 1));
    m.push(0, ev(2, 1));
    m.end(0);
    m.end(1);
    m.end(2);
    assert.deepEqual(tag(out), ['0:1', '0:2', '1:1', '2:1']);
  });

  it('does not wait for a feed that ended', () => {
    const out: FeedItem[] = [];
    const m = new FeedMerger(2, (i) => out.push(i));
    m.push(0, ev(1, 1));
    m.end(1);
    assert.deepEqual(tag(out), ['0:1']);
  });

  it('releases events out of order rather than holding more than maxHeld', () => {
    const out: FeedItem[] = [];
    const m = new FeedMerger(2, (i) => out.push(i), { maxHeld: 3 });
    for (let s = 1; s <= 5; s++) m.push(0, ev(s, s));
    assert.equal(m.held, 3);
    assert.deepEqual(tag(out), ['0:1', '0:2']);
    m.flush();
    assert.equal(m.held, 0);
    assert.deepEqual(tag(out), ['0:1', '0:2', '0:3', '0:4', '0:5']);
  });

  it('rejects a bad source index', () => {
    const m = new FeedMerger(1, () => {});
    assert.throws(() => m.push(1, ev(1, 1)), RangeError);
    assert.throws(() => new FeedMerger(0, () => {}), RangeError);
  });
});
