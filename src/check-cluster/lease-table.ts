/**
 * The coordinator's book of work: a bounded FIFO of items pushed by the CLI,
 * leases of items held by shards, and an outbox of results waiting for the CLI.
 *
 * - A shard that stops renewing (heartbeat, lease or result calls) for
 *   `ttlMs` is presumed dead: its unfinished items go back to the front of the
 *   queue and another shard redoes them.
 * - Results are keyed by input index: the first result for an index wins, a
 *   late one from a shard whose lease expired is counted and dropped, so each
 *   address is delivered exactly once.
 * - Memory is bounded by `maxLive` (queued + leased + unread results): pushes
 *   beyond it are refused and the CLI waits (back-pressure).
 *
 * Pure: the clock is injected (tests use FakeClock).
 */
import type { Clock } from '../clock.ts';
import type { CheckResult } from '../check/result.ts';
import type { CoordinatorStats, WorkItem } from './protocol.ts';

type State = 'queued' | 'leased' | 'done';

/** Items looked at past the oldest one when leasing with affinity: bounds the cost of a lease. */
export const AFFINITY_SCAN = 5_000;
/** Affinity keys remembered (FIFO beyond): per-domain state lives in a shard for about this many domains. */
export const MAX_AFFINITY_KEYS = 100_000;

interface Live { item: WorkItem; state: State; lease: string | null }

export interface Lease {
  id: string;
  shard: string;
  items: Map<number, WorkItem>;
}

export interface LeaseTableOptions {
  clock: Clock;
  ttlMs: number;
  maxLive: number;
  /** Called when a shard is retired (expired or replaced), e.g. to free the permits it held. */
  onRetire?: (shard: string) => void;
}

export class LeaseTable {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly maxLive: number;
  private readonly onRetire: (shard: string) => void;
  private readonly live = new Map<number, Live>();
  private queue: WorkItem[] = [];
  private head = 0;
  /** Items given back by expired leases: served before the queue. */
  private readonly redo: WorkItem[] = [];
  private readonly leases = new Map<string, Lease>();
  private readonly shards = new Map<string, number>();
  /** Affinity key (domain) -> the shard that took it first. */
  private readonly owners = new Map<string, string>();
  private outbox: Array<{ seq: number; result: CheckResult }> = [];
  private outHead = 0;
  private seq = 0;
  private leaseSeq = 0;
  private queuedCount = 0;
  private leasedCount = 0;
  /** Highest index pushed so far (pushes arrive in index order). */
  highest = 0;
  ended = false;
  /** Network items currently leased (global concurrency is counted on this). */
  netInFlight = 0;
  completed = 0;
  expired = 0;
  duplicates = 0;

  constructor(o: LeaseTableOptions) {
    this.clock = o.clock;
    this.ttlMs = o.ttlMs;
    this.maxLive = o.maxLive;
    this.onRetire = o.onRetire ?? (() => {});
  }

  /** How many more items a push may add now. */
  room(): number { return Math.max(0, this.maxLive - this.live.size); }

  /**
   * Queues items whose index is above every index seen so far (a retried push
   * repeats nothing), up to {@link room}. Returns how many were accepted.
   */
  push(items: readonly WorkItem[]): number {
    let accepted = 0;
    for (const it of items) {
      if (it.i <= this.highest) continue;
      if (this.live.size >= this.maxLive) break;
      this.highest = it.i;
      this.live.set(it.i, { item: it, state: 'queued', lease: null });
      this.queue.push(it);
      this.queuedCount++;
      accepted++;
    }
    return accepted;
  }

  /** No more input will come. */
  end(): void { this.ended = true; }

  /** True when every pushed item has a result (the shards may exit). */
  get workDone(): boolean { return this.ended && this.queuedCount === 0 && this.leasedCount === 0; }

  /** True when, in addition, the CLI has acknowledged every result. */
  get allDelivered(): boolean { return this.ended && this.live.size === 0; }

  /** True while `shard` has not been retired. */
  isAlive(shard: string): boolean { return this.shards.has(shard); }

  /** Records that `shard` is alive now. */
  touch(shard: string): void { this.shards.set(shard, this.clock.now()); }

  /** Renews every lease of `shard`; returns how many it holds. */
  heartbeat(shard: string): number {
    this.touch(shard);
    let n = 0;
    for (const l of this.leases.values()) if (l.shard === shard) n++;
    return n;
  }

  /**
   * Affinity: an item with a key (its domain, with --smtp-probe) goes to the
   * shard that took that key first while that shard lives, so per-domain
   * state such as the catch-all answer is learnt once, not once per shard.
   */
  private fits(k: string | undefined, shard: string): boolean {
    if (k === undefined) return true;
    const owner = this.owners.get(k);
    if (owner === shard) return true;
    if (owner !== undefined && this.shards.has(owner)) return false;
    if (owner === undefined && this.owners.size >= MAX_AFFINITY_KEYS) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(k, shard);
    return true;
  }

  /**
   * Leases up to `max` items to `shard`, oldest first (items given back by an
   * expired lease before the rest). A network item is taken only when
   * `admitNet()` says the global limits allow one more; the first refusal ends
   * the lease (order is kept). Items whose affinity key belongs to another live
   * shard are left for it (looking at most {@link AFFINITY_SCAN} items ahead).
   * Returns null when nothing was taken.
   */
  lease(shard: string, max: number, admitNet: () => boolean = () => true): Lease | null {
    this.touch(shard);
    let lease: Lease | null = null;
    let stopped = false;
    const consider = (it: WorkItem): boolean => {
      if (this.live.get(it.i)?.state !== 'queued') return true;
      if (it.k !== undefined && this.owners.get(it.k) !== shard && this.owners.get(it.k) !== undefined && this.shards.has(this.owners.get(it.k)!)) return true;
      if (it.n && !admitNet()) { stopped = true; return false; }
      if (!this.fits(it.k, shard)) return true;
      if (lease === null) {
        lease = { id: `${shard}/${++this.leaseSeq}`, shard, items: new Map() };
        this.leases.set(lease.id, lease);
      }
      const st = this.live.get(it.i)!;
      st.state = 'leased';
      st.lease = lease.id;
      lease.items.set(it.i, it);
      this.queuedCount--;
      this.leasedCount++;
      if (it.n) this.netInFlight++;
      return (lease as Lease).items.size < max;
    };
    for (let r = this.redo.length - 1; r >= 0 && !stopped; r--) if (!consider(this.redo[r])) break;
    if (this.redo.length > 0) {
      let w = 0;
      for (const it of this.redo) if (this.live.get(it.i)?.state === 'queued') this.redo[w++] = it;
      this.redo.length = w;
    }
    if (!stopped && (lease === null || (lease as Lease).items.size < max)) {
      const end = Math.min(this.queue.length, this.head + AFFINITY_SCAN);
      for (let q = this.head; q < end; q++) if (!consider(this.queue[q])) break;
    }
    while (this.head < this.queue.length && this.live.get(this.queue[this.head].i)?.state !== 'queued') this.head++;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return lease;
  }

  /**
   * Records results (any lease, even an expired one: the work is done). The
   * first result per index wins. Returns how many were new.
   */
  complete(shard: string, results: readonly CheckResult[]): number {
    this.touch(shard);
    let accepted = 0;
    for (const r of results) {
      const st = this.live.get(r.index);
      if (st === undefined || st.state === 'done') { this.duplicates++; continue; }
      if (st.state === 'leased') {
        const l = this.leases.get(st.lease!);
        if (l) {
          l.items.delete(r.index);
          if (l.items.size === 0) this.leases.delete(l.id);
        }
        this.leasedCount--;
        if (st.item.n) this.netInFlight--;
      } else {
        this.queuedCount--;
      }
      st.state = 'done';
      st.lease = null;
      this.outbox.push({ seq: ++this.seq, result: r });
      this.completed++;
      accepted++;
    }
    return accepted;
  }

  /**
   * Gives back the leases of `shard` that it does not list in `held`: a lease
   * whose response never reached the shard (a dropped connection, a retried
   * request) would otherwise be renewed by its heartbeats forever.
   */
  forgetUnheld(shard: string, held: ReadonlySet<string>): number {
    return this.giveBack(shard, (l) => !held.has(l.id));
  }

  /** Gives back the leases of `shard` at once (it is known to be gone). Returns the items requeued. */
  retire(shard: string): number {
    this.shards.delete(shard);
    const n = this.giveBack(shard, () => true);
    this.onRetire(shard);
    return n;
  }

  private giveBack(shard: string, which: (l: Lease) => boolean): number {
    let n = 0;
    for (const l of [...this.leases.values()]) {
      if (l.shard !== shard || !which(l)) continue;
      this.leases.delete(l.id);
      this.expired++;
      // Newest last so that, popped from the end, the oldest is redone first.
      const items = [...l.items.values()].sort((a, b) => b.i - a.i);
      for (const it of items) {
        const st = this.live.get(it.i)!;
        st.state = 'queued';
        st.lease = null;
        this.leasedCount--;
        this.queuedCount++;
        if (it.n) this.netInFlight--;
        this.redo.push(it);
        n++;
      }
    }
    // Keep the redo stack ordered oldest-on-top across several retired leases.
    this.redo.sort((a, b) => b.i - a.i);
    return n;
  }

  /** Retires every shard silent for longer than the TTL. Returns the items requeued. */
  expire(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [shard, seen] of [...this.shards]) if (now - seen > this.ttlMs) n += this.retire(shard);
    return n;
  }

  /** Earliest time at which some shard may expire (for the caller's timer), or null. */
  nextExpiry(): number | null {
    let min: number | null = null;
    for (const seen of this.shards.values()) if (min === null || seen + this.ttlMs < min) min = seen + this.ttlMs;
    return min;
  }

  /**
   * Acknowledges every result up to cursor `after` (they leave memory), then
   * returns up to `max` further results and the new cursor.
   */
  take(after: number, max: number): { results: CheckResult[]; cursor: number } {
    while (this.outHead < this.outbox.length && this.outbox[this.outHead].seq <= after) {
      this.live.delete(this.outbox[this.outHead].result.index);
      this.outHead++;
    }
    if (this.outHead > 4096 && this.outHead * 2 > this.outbox.length) {
      this.outbox = this.outbox.slice(this.outHead);
      this.outHead = 0;
    }
    const results: CheckResult[] = [];
    let cursor = after;
    for (let k = this.outHead; k < this.outbox.length && results.length < max; k++) {
      results.push(this.outbox[k].result);
      cursor = this.outbox[k].seq;
    }
    return { results, cursor };
  }

  /** Results completed but not yet acknowledged. */
  get outboxSize(): number { return this.outbox.length - this.outHead; }

  stats(): CoordinatorStats {
    return {
      queued: this.queuedCount, leased: this.leasedCount, outbox: this.outboxSize, completed: this.completed,
      expired: this.expired, duplicates: this.duplicates, shards: this.shards.size,
    };
  }
}
