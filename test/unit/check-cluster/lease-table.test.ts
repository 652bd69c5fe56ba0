import assert from 'node:assert/strict';
import { LeaseTable } from '../../../src/check-cluster/lease-table.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import type { WorkItem } from '../../../src/check-cluster/protocol.ts';

const items = (from: number, to: number, n = false): WorkItem[] => {
  const out: WorkItem[] = [];
  for (let i = from; i <= to; i++) out.push({ i, a: `u${i}@example.com`, n });
  return out;
};
const result = (index: number, shard = 'x'): CheckResult => ({
  address: `u${index}@example.com`, normalized: `u${index}@example.com`, verdict: 'valid', reasons: [], index,
  checks: { syntax: { category: 'valid', diagnosis: 'valid', smtputf8: false, idn: false, literal: false }, lists: { disposable: false, role: false, free: false, suggestion: shard === 'x' ? null : shard } },
});
const indexesOf = (l: { items: Map<number, WorkItem> } | null): number[] => (l ? [...l.items.keys()] : []);

describe('check-cluster: LeaseTable', () => {
  let clock: FakeClock;
  let retired: string[];
  let t: LeaseTable;
  beforeEach(() => {
    clock = new FakeClock(1000);
    retired = [];
    t = new LeaseTable({ clock, ttlMs: 10_000, maxLive: 100, onRetire: (s) => retired.push(s) });
  });

  it('leases in input order, at most `max` per lease, and reports done once everything is delivered', () => {
    assert.equal(t.push(items(1, 5)), 5);
    assert.deepEqual(indexesOf(t.lease('0/a', 3)), [1, 2, 3]);
    assert.deepEqual(indexesOf(t.lease('1/b', 3)), [4, 5]);
    assert.equal(t.lease('1/b', 3), null);
    t.end();
    assert.equal(t.workDone, false);
    assert.equal(t.complete('0/a', [1, 2, 3].map((i) => result(i))), 3);
    assert.equal(t.complete('1/b', [4, 5].map((i) => result(i))), 2);
    assert.equal(t.workDone, true);
    assert.equal(t.allDelivered, false, 'results not yet taken');
    const got = t.take(0, 10);
    assert.deepEqual(got.results.map((r) => r.index), [1, 2, 3, 4, 5]);
    assert.equal(t.allDelivered, false, 'not yet acknowledged');
    assert.deepEqual(t.take(got.cursor, 10).results, []);
    assert.equal(t.allDelivered, true);
  });

  it('ignores re-pushed indexes (a retried push repeats nothing)', () => {
    assert.equal(t.push(items(1, 3)), 3);
    assert.equal(t.push(items(2, 6)), 3);
    assert.equal(t.highest, 6);
    assert.equal(t.stats().queued, 6);
  });

  it('is bounded: pushes beyond maxLive are refused until results are acknowledged', () => {
    assert.equal(t.push(items(1, 150)), 100);
    assert.equal(t.highest, 100);
    assert.equal(t.room(), 0);
    const l = t.lease('0/a', 50)!;
    t.complete('0/a', indexesOf(l).map((i) => result(i)));
    assert.equal(t.room(), 0, 'completed but unread results still count');
    const r = t.take(0, 20);
    assert.equal(t.room(), 0);
    t.take(r.cursor, 0);
    assert.equal(t.room(), 20);
    assert.equal(t.push(items(101, 150)), 20);
  });

  it('gives the leases of a silent shard back after the TTL; another shard redoes them first, oldest first', async () => {
    t.push(items(1, 10));
    const a = t.lease('0/a', 4)!;
    t.lease('1/b', 2);
    await clock.advance(6000);
    t.heartbeat('1/b');
    await clock.advance(4001);
    assert.equal(t.expire(), 4, 'only a is silent for more than 10 s');
    assert.deepEqual(retired, ['0/a']);
    assert.equal(t.isAlive('0/a'), false);
    assert.equal(t.stats().expired, 1);
    assert.deepEqual(indexesOf(t.lease('1/b', 6)), [...a.items.keys(), 7, 8]);
  });

  it('keeps a shard alive while it renews (heartbeat, lease or results)', async () => {
    t.push(items(1, 3));
    t.lease('0/a', 3);
    for (let k = 0; k < 5; k++) {
      await clock.advance(9000);
      t.heartbeat('0/a');
      assert.equal(t.expire(), 0);
    }
    assert.equal(t.nextExpiry(), clock.now() + 10_000);
  });

  it('writes each index once: a late result from an expired lease wins only if nobody finished first', async () => {
    t.push(items(1, 4));
    t.lease('0/a', 4);
    await clock.advance(10_001);
    t.expire();
    // The slow shard finishes 1 and 2 after its lease expired: accepted (nobody else had them).
    assert.equal(t.complete('0/a', [result(1, 'late'), result(2, 'late')]), 2);
    const b = t.lease('1/b', 4)!;
    assert.deepEqual(indexesOf(b), [3, 4], 'items already done are not leased again');
    assert.equal(t.complete('1/b', [result(3), result(4)]), 2);
    // A second copy of 3 from the slow shard is dropped and counted.
    assert.equal(t.complete('0/a', [result(3, 'late')]), 0);
    assert.equal(t.stats().duplicates, 1);
    const got = t.take(0, 10).results;
    assert.deepEqual(got.map((r) => r.index).sort(), [1, 2, 3, 4]);
    assert.equal(got.find((r) => r.index === 3)!.checks.lists!.suggestion, null, 'the first result for 3 was kept');
  });

  it('retire() gives back a replaced shard\'s leases at once', () => {
    t.push(items(1, 5));
    t.lease('0/old', 5);
    assert.equal(t.retire('0/old'), 5);
    assert.deepEqual(indexesOf(t.lease('0/new', 5)), [1, 2, 3, 4, 5]);
  });

  it('gives back a lease the shard never received (it is not in the shard\'s held list)', () => {
    t.push(items(1, 6));
    const first = t.lease('0/a', 3)!;
    t.lease('0/a', 3); // the response to this one was lost on the way
    assert.equal(t.forgetUnheld('0/a', new Set([first.id])), 3);
    assert.equal(t.isAlive('0/a'), true, 'the shard itself is fine');
    assert.deepEqual(indexesOf(t.lease('1/b', 10)), [4, 5, 6]);
    assert.equal(t.forgetUnheld('0/a', new Set([first.id])), 0);
  });

  it('keeps a domain on one shard while it lives (affinity), and hands it over when it dies', () => {
    const at = (i: number, k: string): WorkItem => ({ i, a: `u${i}@${k}`, n: false, k });
    t.push([at(1, 'x.test'), at(2, 'y.test'), at(3, 'x.test'), at(4, 'z.test'), at(5, 'x.test')]);
    assert.deepEqual(indexesOf(t.lease('0/a', 1)), [1], 'a takes x.test');
    assert.deepEqual(indexesOf(t.lease('1/b', 10)), [2, 4], 'b skips x.test items');
    assert.deepEqual(indexesOf(t.lease('0/a', 10)), [3, 5]);
    t.push([at(6, 'x.test'), at(7, 'y.test')]);
    t.retire('0/a');
    assert.deepEqual(indexesOf(t.lease('1/b', 10)), [1, 3, 5, 6, 7], 'a dead: its unfinished items and its domains go to b');
  });

  it('admits network items only as the global limits allow, keeping input order', () => {
    t.push([{ i: 1, a: 'a', n: false }, { i: 2, a: 'b', n: true }, { i: 3, a: 'c', n: true }, { i: 4, a: 'd', n: false }]);
    let budget = 1;
    const admit = (): boolean => budget-- > 0;
    assert.deepEqual(indexesOf(t.lease('0/a', 10, admit)), [1, 2], 'stops at the first refused network item');
    assert.equal(t.netInFlight, 1);
    assert.equal(t.lease('0/a', 10, () => false), null);
    t.complete('0/a', [result(2)]);
    assert.equal(t.netInFlight, 0);
    assert.deepEqual(indexesOf(t.lease('0/a', 10, () => true)), [3, 4]);
    assert.equal(t.netInFlight, 1);
    t.retire('0/a');
    assert.equal(t.netInFlight, 0, 'expired network items free their global slot');
  });

  it('stays correct over many leases and expiries (every index delivered exactly once)', async () => {
    const big = new LeaseTable({ clock, ttlMs: 1000, maxLive: 500 });
    const total = 5000;
    let pushed = 0;
    let cursor = 0;
    const seen = new Map<number, number>();
    let round = 0;
    let generation = 0;
    while (seen.size < total) {
      round++;
      if (pushed < total) pushed += big.push(items(pushed + 1, Math.min(total, pushed + 200)));
      if (pushed === total) big.end();
      for (const shard of ['0/a', '1/b', `2/c${generation}`]) {
        const l = big.lease(shard, 37);
        if (!l) continue;
        const done = [...l.items.keys()];
        // Shard c dies every third round before posting (and comes back as a new process); the others finish.
        if (shard.startsWith('2/') && round % 3 === 0) { generation++; continue; }
        big.complete(shard, done.map((i) => result(i)));
        big.heartbeat(shard);
      }
      await clock.advance(400);
      big.heartbeat('0/a');
      big.heartbeat('1/b');
      big.expire();
      const r = big.take(cursor, 1000);
      cursor = r.cursor;
      for (const x of r.results) seen.set(x.index, (seen.get(x.index) ?? 0) + 1);
      assert.ok(round < 10_000, 'no livelock');
    }
    assert.equal(seen.size, total);
    assert.ok([...seen.values()].every((n) => n === 1));
    big.take(cursor, 0);
    assert.equal(big.allDelivered, true);
    assert.ok(big.stats().expired > 0);
  });
});
