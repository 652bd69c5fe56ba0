/**
 * One run of `check --in-cluster` as it lives in Redis (see protocol.ts for
 * the keys): the operations the CLI and the shards perform on it, each one
 * command or one script. The Redis connection is passed in (ioredis, created
 * at the edges), so this module does no I/O of its own.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { evError } from '../errors.ts';
import type { CheckResult } from '../check/result.ts';
import type { Verdict } from '../check/reasons.ts';
import { resultToJsonLine } from '../check/serialize.ts';
import {
  ARRIVALS_KEY,
  CHECKPOINT_KEY,
  GROUP,
  QUEUE_KEY,
  RESULTS_KEY,
  RUN_KEY,
  type ClusterCheckpoint,
  type RunMeta,
  type WorkItem,
} from './protocol.ts';
import { CHECKPOINT, COMPLETE, PERMIT, PUSH, RENEW } from './scripts.ts';

type Script = (...args: Array<string | number | Buffer>) => Promise<number>;
interface Scripted {
  evPush: Script;
  evComplete: Script;
  evCheckpoint: Script;
  evPermit: (...args: Array<string | number>) => Promise<[number, number]>;
  evRenew: Script;
}

/** A script queued on a pipeline: the call only queues it, its reply comes from `exec()`. */
interface ScriptedPipeline {
  evPush(...args: Array<string | number | Buffer>): unknown;
}

/** Registers the scripts on a connection (once per connection; ioredis reloads them after a restart). */
export function scripted(redis: Redis): Redis & Scripted {
  const r = redis as Redis & Partial<Scripted>;
  if (r.evPush === undefined) {
    redis.defineCommand('evPush', { numberOfKeys: 2, lua: PUSH });
    redis.defineCommand('evComplete', { numberOfKeys: 4, lua: COMPLETE });
    redis.defineCommand('evCheckpoint', { numberOfKeys: 4, lua: CHECKPOINT });
    redis.defineCommand('evPermit', { numberOfKeys: 2, lua: PERMIT });
    redis.defineCommand('evRenew', { numberOfKeys: 1, lua: RENEW });
  }
  return redis as Redis & Scripted;
}

/** A claimed queue entry: the stream id (the lease) and its addresses. */
export interface ClaimedEntry {
  id: string;
  items: WorkItem[];
  reclaimed?: boolean;
}

/** Largest batch (addresses or results) inflated: far above 1,000 results, bounds a corrupt entry. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Batches travel gzipped (level 1: about 5x smaller for results, at a few
 * hundred MB/s): the tunnel carries bytes, and a port-forward that drops
 * after some bytes must still carry any single command.
 */
export function pack(value: unknown): Buffer {
  return gzipSync(JSON.stringify(value), { level: 1 });
}

export function unpack<T>(blob: Buffer): T {
  return JSON.parse(gunzipSync(blob, { maxOutputLength: MAX_BATCH_BYTES }).toString('utf8')) as T;
}

/**
 * A result as the CLI writes it: its index and verdict (for the order and the
 * counts) and its JSON line, serialised by the shard. The CLI never parses
 * and re-serialises a result for `-o jsonl` (that churn was most of its
 * memory on a million addresses); other formats parse the line.
 */
export interface StoredResult {
  index: number;
  verdict: Verdict;
  /** The result's JSON line (resultToJsonLine, with its newline). */
  line: string;
}

const VERDICTS: ReadonlySet<string> = new Set<Verdict>(['valid', 'invalid', 'risky', 'unknown']);

function isVerdict(v: string): v is Verdict {
  return VERDICTS.has(v);
}

/**
 * A batch of results as stored: gzipped text, one `INDEX<TAB>VERDICT<TAB>JSON`
 * line per result (a JSON line holds no raw tab or newline).
 */
export function packResults(results: CheckResult[]): Buffer {
  let text = '';
  for (const r of results) text += `${r.index}\t${r.verdict}\t${resultToJsonLine(r)}`;
  return gzipSync(text, { level: 1 });
}

export function unpackResults(blob: Buffer): StoredResult[] {
  const text = gunzipSync(blob, { maxOutputLength: MAX_BATCH_BYTES }).toString('utf8');
  // A run queued by an earlier version of the CLI (reattached): a JSON array of results.
  if (text.startsWith('['))
    return unpack<CheckResult[]>(blob).map((r) => ({
      index: r.index,
      verdict: r.verdict,
      line: resultToJsonLine(r),
    }));
  const out: StoredResult[] = [];
  for (let at = 0; at < text.length;) {
    const t1 = text.indexOf('\t', at);
    const t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
    const nl = t2 < 0 ? -1 : text.indexOf('\n', t2 + 1);
    const index = Number(text.slice(at, t1));
    const verdict = text.slice(t1 + 1, t2);
    if (nl < 0 || !Number.isSafeInteger(index) || index < 1 || !isVerdict(verdict))
      throw evError('EV_ERR_INTERNAL', `a batch of results in Redis is malformed near byte ${at}`);
    out.push({ index, verdict, line: text.slice(t2 + 1, nl + 1) });
    at = nl + 1;
  }
  return out;
}

/** The key of a batch of results: its first and last input index. */
export function batchKey(first: number, last: number): string {
  return `${first}-${last}`;
}

export function lastOfKey(key: string): number {
  return Number(key.slice(key.indexOf('-') + 1));
}

type BufferStreamReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

function entriesOf(raw: Array<[Buffer, Buffer[]] | null>): ClaimedEntry[] {
  const out: ClaimedEntry[] = [];
  for (const e of raw) {
    if (!e || !Array.isArray(e[1])) continue; // an entry deleted while pending
    const at = e[1].findIndex((f) => f.toString() === 'b');
    if (at >= 0) out.push({ id: e[0].toString(), items: unpack<WorkItem[]>(e[1][at + 1]) });
  }
  return out;
}

export class RedisRun {
  readonly redis: Redis & Scripted;
  /**
   * The connection for claims and blocking reads (XREAD / XREADGROUP with BLOCK;
   * also XAUTOCLAIM, sent with `call`, which ioredis's auto-pipelining mangles). Redis
   * answers a connection's commands in order, so a blocked read on the
   * connection that also carries permits, DNS answers and pushes would hold
   * every one of them back until it returns (up to BLOCK_MS): give it its own.
   */
  readonly blocking: Redis;

  constructor(redis: Redis, blocking: Redis = redis) {
    this.redis = scripted(redis);
    this.blocking = blocking;
  }

  // ---- the CLI

  /** Creates the run (or creates it again after Redis lost its data): meta, empty queue and its consumer group. */
  async create(meta: RunMeta): Promise<void> {
    const m = this.redis.multi();
    m.del(RUN_KEY, QUEUE_KEY, RESULTS_KEY, ARRIVALS_KEY, CHECKPOINT_KEY);
    m.hset(RUN_KEY, {
      id: meta.id,
      created: meta.created,
      total: meta.total,
      pushed: meta.pushed,
      written: 0,
      paths: JSON.stringify(meta.paths),
      out: JSON.stringify(meta.out),
      format: meta.format,
      column: JSON.stringify(meta.column),
      options: meta.options,
    });
    m.xgroup('CREATE', QUEUE_KEY, GROUP, '0', 'MKSTREAM');
    await m.exec();
  }

  /** The run, or null when Redis holds none (never created, or lost). */
  async meta(): Promise<(RunMeta & { written: number }) | null> {
    const h = await this.redis.hgetall(RUN_KEY);
    if (!h.id) return null;
    return {
      id: h.id,
      created: Number(h.created),
      total: Number(h.total),
      pushed: Number(h.pushed),
      written: Number(h.written ?? 0),
      paths: JSON.parse(h.paths ?? '[]') as string[],
      out: JSON.parse(h.out ?? 'null') as string | null,
      format: h.format ?? 'jsonl',
      column: JSON.parse(h.column ?? 'null') as string | null,
      options: h.options ?? '',
    };
  }

  /**
   * Queues batches in order (each with its highest index; repeats are
   * ignored, so a re-sent command is harmless). One pipelined command per
   * batch. `total` (the input ended: its record count) is recorded with the
   * last batch. Resolves to entries queued, or -1 when the run is gone.
   */
  async push(
    runId: string,
    batches: Array<{ highest: number; items: WorkItem[] }>,
    total = -1,
  ): Promise<number> {
    const p = this.redis.pipeline();
    batches.forEach((b, k) =>
      // defineCommand adds the script to pipelines at run time, beyond what ioredis's types know.
      (p as unknown as ScriptedPipeline).evPush(
        RUN_KEY,
        QUEUE_KEY,
        runId,
        k === batches.length - 1 ? total : -1,
        b.highest,
        pack(b.items),
      ),
    );
    const replies = (await p.exec()) ?? [];
    let n = 0;
    for (const [err, v] of replies) {
      if (err) throw err;
      if (Number(v) < 0) return -1;
      n += Number(v);
    }
    return n;
  }

  async end(total: number): Promise<void> {
    await this.redis.hset(RUN_KEY, 'total', total);
  }

  /** Batches with new results after `cursor`, waiting up to `blockMs` for some. */
  async arrivals(
    cursor: string,
    count: number,
    blockMs: number,
  ): Promise<{ cursor: string; keys: string[] }> {
    const r = await this.blocking.xread(
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      ARRIVALS_KEY,
      cursor,
    );
    const keys: string[] = [];
    let next = cursor;
    for (const [, entries] of r ?? []) {
      for (const [id, fields] of entries) {
        next = id;
        const at = fields.indexOf('k');
        if (at >= 0) keys.push(fields[at + 1]);
      }
    }
    return { cursor: next, keys };
  }

  /** The stored results of these batches (pipelined, one reply per batch: each fits through a tunnel that drops after some bytes). */
  async results(keys: string[]): Promise<StoredResult[]> {
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const k of keys) p.hgetBuffer(RESULTS_KEY, k);
    const out: StoredResult[] = [];
    for (const [err, v] of (await p.exec()) ?? []) {
      if (err) throw err;
      if (Buffer.isBuffer(v)) for (const r of unpackResults(v)) out.push(r);
    }
    return out;
  }

  /** Every batch of results stored (a reattached CLI reads them all: at most MAX_WAITING results). */
  async resultKeys(): Promise<string[]> {
    return this.redis.hkeys(RESULTS_KEY);
  }

  /** Records the CLI's checkpoint and drops the batches of results it covers. Resolves to false when the run is gone. */
  async checkpoint(cp: ClusterCheckpoint, written: string[]): Promise<boolean> {
    return (
      (await this.redis.evCheckpoint(
        RUN_KEY,
        CHECKPOINT_KEY,
        RESULTS_KEY,
        ARRIVALS_KEY,
        cp.runId,
        JSON.stringify(cp),
        cp.index,
        cp.cursor,
        ...written,
      )) === 1
    );
  }

  async lastCheckpoint(): Promise<ClusterCheckpoint | null> {
    const s = await this.redis.get(CHECKPOINT_KEY);
    return s === null ? null : (JSON.parse(s) as ClusterCheckpoint);
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
  async claim(
    consumer: string,
    leaseMs: number,
    count: number,
    blockMs: number,
  ): Promise<ClaimedEntry[]> {
    const reclaimed = (await this.blocking.callBuffer(
      'XAUTOCLAIM',
      QUEUE_KEY,
      GROUP,
      consumer,
      leaseMs,
      '0-0',
      'COUNT',
      count,
    )) as [Buffer, Array<[Buffer, Buffer[]] | null>];
    const taken = entriesOf(reclaimed[1] ?? []);
    if (taken.length > 0) return taken.map((e) => ({ ...e, reclaimed: true }));
    const r = (await this.blocking.xreadgroupBuffer(
      'GROUP',
      GROUP,
      consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      QUEUE_KEY,
      '>',
    )) as unknown as BufferStreamReply;
    return entriesOf(r?.[0]?.[1] ?? []);
  }

  /** Renews the lease on entries this consumer still works on. */
  async renew(consumer: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xclaim(QUEUE_KEY, GROUP, consumer, 0, ...ids, 'JUSTID');
  }

  /** Stores the results of a batch (the first ones win) and acknowledges the entry they came from. */
  complete(entryId: string, items: WorkItem[], results: CheckResult[]): Promise<number> {
    const key = batchKey(items[0].i, items[items.length - 1].i);
    return this.redis.evComplete(
      RUN_KEY,
      QUEUE_KEY,
      RESULTS_KEY,
      ARRIVALS_KEY,
      GROUP,
      entryId,
      key,
      packResults(results),
    );
  }

  /** True when the input ended and no work is left in the queue. */
  async finished(): Promise<boolean> {
    const [total, len] = await Promise.all([
      this.redis.hget(RUN_KEY, 'total'),
      this.redis.xlen(QUEUE_KEY),
    ]);
    return total !== null && Number(total) >= 0 && len === 0;
  }
}
