/**
 * The CLI's half of `check --in-cluster` once the cluster side runs: reads
 * the input, numbers and de-duplicates it, queues it in Redis in batches,
 * reads the results back as they arrive, writes them in input order, and
 * checkpoints (Redis and, with --state, a local file) after each flush.
 *
 * The CLI's record: every address queued and not yet written stays in memory
 * here (at most MAX_WAITING), so when Redis comes back empty (its pod was
 * replaced and the emptyDir with it) the run is created again and exactly
 * those addresses are queued again. A reattached CLI rebuilds the same record
 * by reading the input again up to what Redis says was queued.
 */
import { statSync } from 'node:fs';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import { FirstFailure } from '../../../src/first-failure.ts';
import { diagnose } from '../../../src/address/syntax.ts';
import { DigestSet } from '../../../src/check/dedupe.ts';
import { emptyCounts, type Counts } from '../../../src/check/engine.ts';
import {
  BLOCK_MS,
  MAX_WAITING,
  NETWORK_BATCH,
  OFFLINE_BATCH,
  PUSH_ENTRIES,
  READ_ARRIVALS,
  type ClusterCheckpoint,
  type RunMeta,
  type WorkItem,
} from '../../../src/check-cluster/protocol.ts';
import {
  lastOfKey,
  type RedisRun,
  type StoredResult,
} from '../../../src/check-cluster/redis-run.ts';
import { readInputs, type ReadProgress } from '../check/input.ts';
import { createResultWriter, fdSink } from '../check/output.ts';
import { startProgress } from '../check/progress.ts';
import type { CheckIo, CheckOptions } from '../check/run-check-command.ts';

/** Checkpoints at most this often (each one is a flush, a Redis write and, with --state, a file write). */
export const CHECKPOINT_EVERY_MS = 1_000;
/** Batches of results fetched per round trip (pipelined, one reply each). */
export const FETCH_CHUNK = 16;

export interface StreamStart {
  meta: RunMeta;
  /** Where a reattached run resumes (null: a new run). */
  checkpoint: ClusterCheckpoint | null;
  /** Highest index already queued in Redis (0: none). */
  pushed: number;
}

export interface StreamHooks {
  status(line: string): void;
  /** After each checkpoint reached Redis (the --state file records it). */
  onCheckpoint?(cp: ClusterCheckpoint): void;
  /** Stops waiting when the shards cannot finish (polled by the caller). */
  failed: Promise<never>;
}

/**
 * Round trips carry as much as works: a round trip that saw the connection
 * drop carries half as much next time (one batch at least), a clean one a
 * batch more. A link that keeps dropping after some bytes then still carries
 * every single command, as a link that holds carries many at once.
 */
export class RoundTripSize {
  private n: number;
  private readonly max: number;
  constructor(max: number) {
    this.n = max;
    this.max = max;
  }
  get size(): number {
    return this.n;
  }
  after(dropped: boolean): void {
    this.n = dropped ? Math.max(1, this.n >> 1) : Math.min(this.max, this.n + 1);
  }
}

/** Errors that a retry cannot cure: ours (the client gave up), and Redis refusing a command (a bug, or out of memory). */
function isFatal(err: unknown): boolean {
  if (isEmailValidateError(err)) return true;
  const e = err as { name?: string; message?: string };
  return e?.name === 'ReplyError' && !/^(LOADING|BUSY|TRYAGAIN|MASTERDOWN)/.test(e.message ?? '');
}

/** Pause between tries of a round trip that failed with the connection (the client reconnects meanwhile). */
export const RETRY_PAUSE_MS = 50;

export interface StreamOutcome {
  counts: Counts;
  recreated: number;
  resent: number;
}

export async function streamCheck(
  o: CheckOptions,
  io: CheckIo,
  run: RedisRun,
  start: StreamStart,
  hooks: StreamHooks,
): Promise<StreamOutcome> {
  const cp0 = start.checkpoint;
  const counts: Counts = cp0 ? { ...cp0.counts } : emptyCounts();
  const read: ReadProgress = { bytes: 0 };
  const paths = start.meta.paths;
  const keepBytes = cp0?.outputBytes ?? 0;
  if (start.meta.out && cp0) {
    let have = 0;
    try {
      have = statSync(start.meta.out).size;
    } catch {
      /* missing: checked below */
    }
    if (have < keepBytes)
      throw evError(
        'EV_ERR_CHECK_ATTACH',
        `${start.meta.out} is shorter (${have} bytes) than the run's checkpoint says (${keepBytes})`,
        { hint: 'the output was changed since the CLI stopped; start a new run' },
      );
  }
  const sink = start.meta.out
    ? fdSink({ path: start.meta.out, keepBytes })
    : fdSink({ fd: io.stdoutFd });
  const writer = createResultWriter({
    format: o.format,
    sink,
    durable: o.state !== null,
    header: keepBytes === 0,
    color: o.color,
  });
  const totalBytes = paths.includes('-') ? null : paths.reduce((n, p) => n + statSync(p).size, 0);
  const stopProgress = o.progress
    ? startProgress(io.stderr, counts, read, totalBytes, () => io.clock.now())
    : null;
  const batchSize = o.offline ? OFFLINE_BATCH : NETWORK_BATCH;
  const pushSize = new RoundTripSize(PUSH_ENTRIES);
  const fetchSize = new RoundTripSize(FETCH_CHUNK);
  /**
   * Every round trip is idempotent, so one that failed with the connection
   * (the tunnel dropped) is simply sent again once the client reconnected,
   * carrying less when `size` is given.
   */
  const retried = async <T>(fn: () => Promise<T>, size?: RoundTripSize): Promise<T> => {
    for (;;) {
      try {
        const r = await fn();
        size?.after(false);
        return r;
      } catch (err) {
        if (isFatal(err) || failure.failed) throw err;
        size?.after(true);
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  };
  const runId = start.meta.id;

  /** The record: addresses queued (or to queue) and not yet written. */
  const record = new Map<number, WorkItem>();
  /** Results (null: a duplicate, nothing to write) waiting for an earlier index, as the shards serialised them. */
  const done = new Map<number, StoredResult | null>();
  let next = (cp0?.index ?? 0) + 1;
  /**
   * The highest input index the reader has gone through. On --attach the killed CLI queued up to
   * `start.pushed`, and results for those indexes can arrive before this CLI's reader reaches
   * them: they are kept (not recorded yet, but not unknown either) and written once it has.
   */
  let seen = next - 1;
  let total = -1;
  let pushed = start.pushed;
  let cursor = cp0?.cursor ?? '0-0';
  /** Batches of results read, by their last index: dropped from Redis once a checkpoint covers them. */
  const readKeys = new Map<string, number>();
  const failure = new FirstFailure();
  let recreated = 0;
  let resent = 0;
  let waiters: Array<() => void> = [];
  const wakeUp = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const progress = (): Promise<void> =>
    new Promise((r) => {
      waiters.push(r);
    });

  const drain = (): void => {
    for (let d = done.get(next); d !== undefined && next <= seen; d = done.get(next)) {
      done.delete(next);
      record.delete(next);
      if (d !== null) {
        writer.writeJsonLine(d.line);
        counts.written++;
        counts[d.verdict]++;
      }
      next++;
    }
    wakeUp();
  };
  const accept = (r: StoredResult | null, i: number): void => {
    // Exactly once: Redis keeps the first result per index, and so do we (a re-read may repeat one).
    // A result ahead of the reader (i > seen) is kept: each batch of results is fetched once.
    if (i < next || done.has(i) || (i <= seen && !record.has(i))) return;
    done.set(i, r);
  };

  // ---- Redis lost everything (pod replaced): create the run again and queue the record again.
  // Pushes and a recovery never interleave: a batch queued into the new run before the
  // re-sent ones would make Redis ignore them (it accepts only ascending indexes).
  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = lock.then(fn);
    lock = p.catch(() => {});
    return p;
  };
  let recovering: Promise<void> | null = null;
  const recover = (): Promise<void> => {
    recovering ??= exclusive(async () => {
      // The end is recorded only after the record is queued again: shards that saw an ended run
      // with an empty queue meanwhile would exit with work still to come.
      const meta = { ...start.meta, pushed: 0, total: -1 };
      await retried(() => run.create(meta));
      const items = [...record.values()]
        .filter((it) => it.i <= pushed && !done.has(it.i))
        .sort((a, b) => a.i - b.i);
      for (let k = 0; k < items.length; k += batchSize * PUSH_ENTRIES) {
        const group = items.slice(k, k + batchSize * PUSH_ENTRIES);
        const batches: Array<{ highest: number; items: WorkItem[] }> = [];
        for (let j = 0; j < group.length; j += batchSize) {
          const b = group.slice(j, j + batchSize);
          batches.push({ highest: b[b.length - 1].i, items: b });
        }
        if ((await retried(() => run.push(runId, batches))) < 0)
          throw evError(
            'EV_ERR_CHECK_REDIS',
            'Redis lost the run again while it was being re-sent',
          );
      }
      // Indexes the reader has not reached were queued by a CLI before this one (--attach) and
      // are not in the record: the reader queues them again when it gets there.
      pushed = Math.min(pushed, seen);
      if (inputDone && queue.length === 0) await retried(() => run.end(total));
      cursor = '0-0';
      recreated++;
      resent += items.length;
      hooks.status(
        `Redis came back empty (its pod was replaced?): the run was created again and the ${items.length} addresses that had no result yet were queued again from this CLI's record`,
      );
    }).finally(() => {
      recovering = null;
    });
    return recovering;
  };

  // ---- input -> record -> Redis
  const queue: Array<{ highest: number; items: WorkItem[] }> = [];
  let inputDone = false;
  const pusher = async (): Promise<void> => {
    for (;;) {
      if (failure.failed) return;
      if (queue.length === 0) {
        if (inputDone) {
          // Record the end as soon as the last batch is queued (status shows the total, and an
          // --attach knows it), not at the puller's next turn: that may be a blocked read away.
          if (recovering) await recovering;
          await exclusive(() => retried(() => run.end(total)));
          return;
        }
        await progress();
        continue;
      }
      if (recovering) await recovering;
      let batches = queue.slice(0, pushSize.size);
      const n = await exclusive(() =>
        retried(() => {
          batches = queue.slice(0, pushSize.size);
          // The last batches of the input carry its end (shards never hold work of an unended run's tail).
          return run.push(
            runId,
            batches,
            inputDone && batches.length === queue.length ? total : -1,
          );
        }, pushSize),
      );
      if (n < 0) {
        await recover();
        continue;
      }
      queue.splice(0, batches.length);
      pushed = Math.max(pushed, batches[batches.length - 1].highest);
      wakeUp();
    }
  };
  const reader = async (): Promise<void> => {
    const dedupe = new DigestSet();
    let index = 0;
    let batch: WorkItem[] = [];
    const flushBatch = (): void => {
      if (batch.length === 0) return;
      queue.push({ highest: batch[batch.length - 1].i, items: batch });
      batch = [];
      wakeUp();
    };
    for await (const b of readInputs({ paths, column: o.column }, read, io.stdin as never)) {
      for (const v of b.values) {
        const i = ++index;
        seen = i;
        const s = diagnose(v);
        const fresh = dedupe.add(s.category === 'invalid' ? v : `${s.local}@${s.domain}`);
        if (i < next) continue; // written before this CLI (re)attached: only the de-duplication needs it
        counts.read++;
        if (!fresh) {
          counts.duplicates++;
          record.set(i, { i, a: v });
          done.set(i, null);
          continue;
        }
        const item: WorkItem = { i, a: v };
        record.set(i, item);
        if (i > pushed) {
          batch.push(item);
          if (batch.length >= batchSize) flushBatch();
        }
        // Back-pressure: at most MAX_WAITING addresses past the oldest unwritten one (Redis's memory and ours).
        while (!failure.failed && (queue.length >= PUSH_ENTRIES || i - next >= MAX_WAITING)) {
          flushBatch();
          drain(); // results that arrived before the reader got here (--attach)
          if (queue.length >= PUSH_ENTRIES || i - next >= MAX_WAITING) await progress();
        }
        failure.throwIfFailed();
      }
      drain(); // results kept while they were ahead of the reader (--attach)
    }
    flushBatch();
    total = index;
    inputDone = true;
    drain();
  };

  // ---- Redis -> results in order
  const fetch = async (keys: string[]): Promise<void> => {
    for (let k = 0; k < keys.length;) {
      let chunk = keys.slice(k, k + fetchSize.size);
      const results = await retried(
        () => run.results((chunk = keys.slice(k, k + fetchSize.size))),
        fetchSize,
      );
      k += chunk.length;
      for (const key of chunk) readKeys.set(key, lastOfKey(key));
      for (const r of results) accept(r, r.index);
      drain();
    }
  };
  let lastCheckpoint = io.clock.now();
  const checkpoint = async (): Promise<void> => {
    const outputBytes = await writer.flush();
    const cp: ClusterCheckpoint = {
      runId,
      index: next - 1,
      outputBytes,
      counts: { ...counts },
      cursor,
    };
    const written: string[] = [];
    for (const [key, last] of readKeys)
      if (last <= cp.index) {
        written.push(key);
        readKeys.delete(key);
      }
    lastCheckpoint = io.clock.now();
    if (!(await retried(() => run.checkpoint(cp, written)))) {
      // Redis lost the run: the output up to cp is written; the results dropped with it are redone.
      await recover();
      return;
    }
    hooks.onCheckpoint?.(cp);
  };
  const puller = async (): Promise<void> => {
    // Results stored before this CLI (re)attached.
    if (cp0) await fetch(await retried(() => run.resultKeys()));
    let endSent = false;
    for (;;) {
      if (failure.failed) return;
      if (recovering) await recovering;
      if (inputDone && !endSent && queue.length === 0) {
        await retried(() => run.end(total));
        endSent = true;
      }
      if (inputDone && next > total) return;
      const from = cursor;
      const r = await retried(() => run.arrivals(from, READ_ARRIVALS, BLOCK_MS));
      if (cursor !== from) continue; // a recovery reset the cursor meanwhile
      cursor = r.cursor;
      if (r.keys.length > 0) await fetch(r.keys);
      else {
        drain();
        // Nothing new for a while: is the run still there? (Redis restarted empty.)
        if ((await retried(() => run.meta())) === null) {
          await recover();
          endSent = false;
          continue;
        }
      }
      if (io.clock.now() - lastCheckpoint >= CHECKPOINT_EVERY_MS) await checkpoint();
    }
  };

  try {
    const read = reader().catch((err: unknown) => {
      failure.record(err);
      wakeUp();
      throw err;
    });
    const push = pusher().catch((err: unknown) => {
      failure.record(err);
      wakeUp();
      throw err;
    });
    const pull = puller().catch((err: unknown) => {
      failure.record(err);
      wakeUp();
      throw err;
    });
    const aborted = new Promise<never>((_, reject) => {
      if (io.signal?.aborted) reject(io.signal.reason);
      io.signal?.addEventListener('abort', () => reject(io.signal!.reason), { once: true });
    });
    aborted.catch(() => {});
    await Promise.race([Promise.all([read, push, pull]), hooks.failed, aborted]);
    drain();
    if (next !== total + 1)
      throw evError(
        'EV_ERR_INTERNAL',
        `in-cluster check ended with ${total + 1 - next} results missing`,
      );
    await checkpoint();
  } catch (err) {
    failure.record(err);
    wakeUp();
    // Save what is written, so an --attach continues from here.
    await Promise.race([checkpoint(), new Promise((r) => setTimeout(r, 2_000))]).catch(() => {});
    throw err;
  } finally {
    stopProgress?.();
    await writer.flush().catch(() => {});
    writer.close();
  }
  return { counts, recreated, resent };
}
