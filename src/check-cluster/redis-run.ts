/**
 * One run of `check --in-cluster` as it lives in Redis (see protocol.ts for
 * the keys): the operations the CLI and the shards perform on it, each one
 * command or one script. The Redis connection is passed in (ioredis, created
 * at the edges), so this module does no I/O of its own.
 */
import type { Redis } from 'ioredis';
import type { CheckResult } from '../check/result.ts';
import {
  ARRIVALS_KEY, CHECKPOINT_KEY, GROUP, QUEUE_KEY, RESULTS_KEY, RUN_KEY,
  type ClusterCheckpoint, type RunMeta, type WorkItem,
} from './protocol.ts';
import { CHECKPOINT, COMPLETE, PERMIT, PUSH } from './scripts.ts';

type Script = (...args: Array<string | number>) => Promise<number>;
interface Scripted { evPush: Script; evComplete: Script; evCheckpoint: Script; evPermit: Script }

/** Registers the scripts on a connection (once per connection; ioredis reloads them after a restart). */
export function scripted(redis: Redis): Redis & Scripted {
  const r = redis as Redis & Partial<Scripted>;
  if (r.evPush === undefined) {
    redis.defineCommand('evPush', { numberOfKeys: 2, lua: PUSH });
    redis.defineCommand('evComplete', { numberOfKeys: 4, lua: COMPLETE });
    redis.defineCommand('evCheckpoint', { numberOfKeys: 4, lua: CHECKPOINT });
    redis.defineCommand('evPermit', { numberOfKeys: 2, lua: PERMIT });
  }
  return redis as Redis & Scripted;
}

/** A claimed queue entry: the stream id (the lease) and its addresses. */
export interface ClaimedEntry { id: string; items: WorkItem[]; reclaimed?: boolean }

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

function entriesOf(raw: Array<[string, string[]] | null>): ClaimedEntry[] {
  const out: ClaimedEntry[] = [];
  for (const e of raw) {
    if (!e || !Array.isArray(e[1])) continue; // an entry deleted while pending
    const at = e[1].indexOf('b');
    if (at >= 0) out.push({ id: e[0], items: JSON.parse(e[1][at + 1]) as WorkItem[] });
  }
  return out;
}

export class RedisRun {
  readonly redis: Redis & Scripted;

  constructor(redis: Redis) {
    this.redis = scripted(redis);
  }

  // ---- the CLI

  /** Creates the run (or creates it again after Redis lost its data): meta, empty queue and its consumer group. */
  async create(meta: RunMeta): Promise<void> {
    const m = this.redis.multi();
    m.del(RUN_KEY, QUEUE_KEY, RESULTS_KEY, ARRIVALS_KEY, CHECKPOINT_KEY);
    m.hset(RUN_KEY, {
      id: meta.id, created: meta.created, total: meta.total, pushed: meta.pushed, written: 0,
      paths: JSON.stringify(meta.paths), out: JSON.stringify(meta.out), format: meta.format, column: JSON.stringify(meta.column), options: meta.options,
    });
    m.xgroup('CREATE', QUEUE_KEY, GROUP, '0', 'MKSTREAM');
    await m.exec();
  }

  /** The run, or null when Redis holds none (never created, or lost). */
  async meta(): Promise<(RunMeta & { written: number }) | null> {
    const h = await this.redis.hgetall(RUN_KEY);
    if (!h.id) return null;
    return {
      id: h.id, created: Number(h.created), total: Number(h.total), pushed: Number(h.pushed), written: Number(h.written ?? 0),
      paths: JSON.parse(h.paths ?? '[]') as string[], out: JSON.parse(h.out ?? 'null') as string | null, format: h.format ?? 'jsonl',
      column: JSON.parse(h.column ?? 'null') as string | null, options: h.options ?? '',
    };
  }

  /** Queues batches (each with its highest index; repeats are ignored). Resolves to entries queued, or -1 when the run is gone. */
  push(runId: string, batches: Array<{ highest: number; items: WorkItem[] }>): Promise<number> {
    const args: Array<string | number> = [RUN_KEY, QUEUE_KEY, runId];
    for (const b of batches) args.push(b.highest, JSON.stringify(b.items));
    return this.redis.evPush(...args);
  }

  async end(total: number): Promise<void> {
    await this.redis.hset(RUN_KEY, 'total', total);
  }

  /** Indexes with a new result after `cursor`, waiting up to `blockMs` for some. */
  async arrivals(cursor: string, count: number, blockMs: number): Promise<{ cursor: string; indexes: number[] }> {
    const r = await this.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', ARRIVALS_KEY, cursor) as StreamReply;
    const indexes: number[] = [];
    let next = cursor;
    for (const [, entries] of r ?? []) {
      for (const [id, fields] of entries) {
        next = id;
        const at = fields.indexOf('i');
        if (at >= 0) for (const s of fields[at + 1].split(',')) indexes.push(Number(s));
      }
    }
    return { cursor: next, indexes };
  }

  /** The stored results of these indexes (null where there is none). */
  async results(indexes: number[]): Promise<Array<CheckResult | null>> {
    if (indexes.length === 0) return [];
    const raw = await this.redis.hmget(RESULTS_KEY, ...indexes.map(String));
    return raw.map((s) => (s === null ? null : JSON.parse(s) as CheckResult));
  }

  /** Records the CLI's checkpoint and drops the results it covers. Resolves to false when the run is gone. */
  async checkpoint(cp: ClusterCheckpoint, written: number[]): Promise<boolean> {
    return await this.redis.evCheckpoint(RUN_KEY, CHECKPOINT_KEY, RESULTS_KEY, ARRIVALS_KEY, cp.runId, JSON.stringify(cp), cp.index, cp.cursor, ...written) === 1;
  }

  async lastCheckpoint(): Promise<ClusterCheckpoint | null> {
    const s = await this.redis.get(CHECKPOINT_KEY);
    return s === null ? null : JSON.parse(s) as ClusterCheckpoint;
  }

  /** Queue entries not yet done and results not yet written (for status). */
  async progress(): Promise<{ queued: number; results: number }> {
    const [q, r] = await Promise.all([this.redis.xlen(QUEUE_KEY), this.redis.hlen(RESULTS_KEY)]);
    return { queued: q, results: r };
  }

  // ---- the shards

  /**
   * Claims work for `consumer`: first entries another shard held for longer
   * than the lease (it is presumed dead), else new ones, waiting up to
   * `blockMs`.
   */
  async claim(consumer: string, leaseMs: number, count: number, blockMs: number): Promise<ClaimedEntry[]> {
    const reclaimed = await this.redis.xautoclaim(QUEUE_KEY, GROUP, consumer, leaseMs, '0-0', 'COUNT', count) as [string, Array<[string, string[]] | null>, string[]?];
    const taken = entriesOf(reclaimed[1] ?? []);
    if (taken.length > 0) return taken.map((e) => ({ ...e, reclaimed: true }));
    const r = await this.redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', QUEUE_KEY, '>') as StreamReply;
    return entriesOf(r?.[0]?.[1] ?? []);
  }

  /** Renews the lease on entries this consumer still works on. */
  async renew(consumer: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xclaim(QUEUE_KEY, GROUP, consumer, 0, ...ids, 'JUSTID');
  }

  /** Stores results (the first per index wins) and acknowledges the entry they came from. */
  complete(entryId: string, results: CheckResult[]): Promise<number> {
    const args: Array<string | number> = [RUN_KEY, QUEUE_KEY, RESULTS_KEY, ARRIVALS_KEY, GROUP, entryId];
    for (const r of results) args.push(r.index, JSON.stringify(r));
    return this.redis.evComplete(...args);
  }

  /** True when the input ended and no work is left in the queue. */
  async finished(): Promise<boolean> {
    const [total, len] = await Promise.all([this.redis.hget(RUN_KEY, 'total'), this.redis.xlen(QUEUE_KEY)]);
    return total !== null && Number(total) >= 0 && len === 0;
  }
}
