/**
 * The streaming check engine: pulls batches of input records, runs the
 * per-address pipeline (offline synchronously, network under a global
 * concurrency limit and rate), drops duplicates, and hands results to the
 * writer in input order through a bounded reorder window. Checkpoints tie an
 * input position to an output length, so a run killed at any moment resumes
 * without losing or repeating a result (see state.ts).
 *
 * Pure: input, output, journal and clock are injected.
 */

import pLimit from 'p-limit';
import type { Clock } from '../clock.ts';
import { evError } from '../errors.ts';
import { FirstFailure } from '../first-failure.ts';
import { DigestSet } from './dedupe.ts';
import {
  checkNetwork,
  checkOffline,
  dedupeKeyOf,
  needsNetwork,
  normalizedOf,
  type NetworkStages,
  type OfflineContext,
} from './pipeline.ts';
import type { CheckResult } from './result.ts';

/** Records in flight or waiting for an earlier one, at most: bounds memory whatever the list length. */
export const MAX_WINDOW = 20_000;
/** Global network concurrency allowed at most (each check may hold a socket). */
export const MAX_CONCURRENCY = 1_000;

/** A batch of input records from one file: raw values and the byte offset just after each. */
export interface InputBatch {
  file: number;
  values: string[];
  ends: number[];
}

export interface ResultWriter {
  /** Buffers one result (called in input order). */
  write(result: CheckResult): void;
  /** Writes out everything buffered so far; resolves to the output length in bytes at that point. */
  flush(): Promise<number>;
}

export interface Counts {
  /** Non-empty records read. */
  read: number;
  /** Distinct addresses whose result was written. */
  written: number;
  duplicates: number;
  valid: number;
  invalid: number;
  risky: number;
  unknown: number;
}

export interface Checkpoint {
  /** Input file index and the byte offset up to which every record is accounted for. */
  file: number;
  offset: number;
  /** Index of the last record accounted for. */
  index: number;
  /** Output length that holds exactly the results of records up to `index`. */
  outputBytes: number;
  counts: Counts;
}

export interface Journal {
  /** Records a network result as soon as it completes (before it is written in order). */
  completed(result: CheckResult): void;
  /** Records a checkpoint (after the output up to it was flushed). */
  checkpoint(cp: Checkpoint): Promise<void>;
}

export interface ResumeFrom {
  checkpoint: Checkpoint;
  /** Results journaled after the checkpoint, by record index: not checked again. */
  completed: Map<number, CheckResult>;
}

export interface EngineOptions {
  offline: OfflineContext;
  stages: NetworkStages;
  /** Network checks in flight at once (p-limit). */
  concurrency: number;
  /** Global rate of network checks (one token per address that goes to the network): a TokenBucket or a remote one. */
  rate?: { take(signal?: AbortSignal): Promise<void> };
  clock: Clock;
  journal?: Journal;
  resume?: ResumeFrom;
  /** Minimum time between checkpoints. */
  checkpointEveryMs?: number;
  /** De-duplication set, pre-filled when resuming (see {@link rebuildDedupe}). */
  dedupe?: DigestSet;
  signal?: AbortSignal;
  /** Live counters for progress display; updated in place. */
  stats?: Counts;
  /** Sees every network result; an error it returns stops the run (see failure-watch.ts). */
  watch?: { observe(r: CheckResult): Error | null };
}

/**
 * Rebuilds the de-duplication set from the input already accounted for by a
 * checkpoint (the source must stop at the checkpoint's position). Only
 * syntax runs, so this replays about a million records a second.
 */
export async function rebuildDedupe(prefix: AsyncIterable<InputBatch>): Promise<DigestSet> {
  const set = new DigestSet();
  for await (const b of prefix) for (const v of b.values) set.add(normalizedOf(v));
  return set;
}

export function emptyCounts(): Counts {
  return { read: 0, written: 0, duplicates: 0, valid: 0, invalid: 0, risky: 0, unknown: 0 };
}

interface Done {
  result: CheckResult | null;
  file: number;
  end: number;
}

/** Thrown inside a queued check when the run is already failing: the check never ran. */
const SKIPPED = new Error('skipped: the run is already failing');

/**
 * Runs a whole check. Resolves to the final counts; rejects with the input's
 * error, or EV_ERR_INTERRUPTED when `signal` aborts (after a last checkpoint).
 */
export async function runCheck(
  source: AsyncIterable<InputBatch>,
  writer: ResultWriter,
  options: EngineOptions,
): Promise<Counts> {
  if (!(options.concurrency >= 1 && options.concurrency <= MAX_CONCURRENCY))
    throw evError('EV_ERR_INVALID_OPTION', `--concurrency must be from 1 to ${MAX_CONCURRENCY}`);
  const counts = options.stats ?? emptyCounts();
  const dedupe = options.dedupe ?? new DigestSet();
  const limit = pLimit(options.concurrency);
  const window = Math.min(MAX_WINDOW, Math.max(1024, options.concurrency * 64));
  const everyMs = options.checkpointEveryMs ?? 1000;
  const precomputed = options.resume?.completed ?? new Map<number, CheckResult>();
  if (options.resume) Object.assign(counts, options.resume.checkpoint.counts);

  let index = options.resume?.checkpoint.index ?? 0;
  let next = index + 1; // next record index to write
  let lastFile = options.resume?.checkpoint.file ?? 0;
  let lastEnd = options.resume?.checkpoint.offset ?? 0;
  const done = new Map<number, Done>();
  let inFlight = 0;
  const failure = new FirstFailure();
  let wake: (() => void) | null = null;
  let lastCheckpoint = options.clock.now();
  let checkpointing: Promise<void> = Promise.resolve();

  // `read` and `duplicates` are counted here, in input order, like the
  // verdicts: a checkpoint's counts then describe exactly the records up to
  // its index. Counted at read time, they included records read ahead of the
  // output, which a resumed run reads (and counted) again.
  const emit = (r: CheckResult | null, file: number, end: number): void => {
    counts.read++;
    if (r === null) counts.duplicates++;
    else {
      writer.write(r);
      counts.written++;
      switch (r.verdict) {
        case 'valid':
          counts.valid++;
          break;
        case 'invalid':
          counts.invalid++;
          break;
        case 'risky':
          counts.risky++;
          break;
        default:
          counts.unknown++;
      }
    }
    lastFile = file;
    lastEnd = end;
    next++;
  };
  const complete = (i: number, r: CheckResult | null, file: number, end: number): void => {
    if (i === next && done.size === 0) {
      emit(r, file, end);
      return;
    }
    done.set(i, { result: r, file, end });
    for (let d = done.get(next); d !== undefined; d = done.get(next)) {
      done.delete(next);
      emit(d.result, d.file, d.end);
    }
  };
  const checkpoint = (): Promise<void> => {
    // Snapshot position and output length in the same tick, then persist.
    const cp = { file: lastFile, offset: lastEnd, index: next - 1, counts: { ...counts } };
    const flushed = writer.flush();
    lastCheckpoint = options.clock.now();
    checkpointing = checkpointing.then(async () => {
      const outputBytes = await flushed;
      if (options.journal) await options.journal.checkpoint({ ...cp, outputBytes });
    });
    return checkpointing;
  };
  const launch = (i: number, r: CheckResult, file: number, end: number): void => {
    inFlight++;
    limit(async () => {
      // Once the run is failing, checks still queued are dropped, not run:
      // a broken service is not asked a thousand more times on the way out.
      if (failure.failed) throw SKIPPED;
      if (options.rate) await options.rate.take(options.signal);
      return checkNetwork(r, options.stages, options.signal);
    })
      .then((res) => {
        options.journal?.completed(res);
        complete(i, res, file, end);
        const stop = options.watch?.observe(res) ?? null;
        if (stop !== null) failure.record(stop);
      })
      .catch((err: unknown) => {
        // A failed stage, journal or output write stops the run (reported by the main loop).
        if (err !== SKIPPED) failure.record(err);
      })
      .finally(() => {
        inFlight--;
        const w = wake;
        wake = null;
        w?.();
      });
  };
  const waitForProgress = (): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve;
    });

  try {
    let sinceClockCheck = 0;
    for await (const batch of source) {
      const { values, ends, file } = batch;
      for (let k = 0; k < values.length; k++) {
        failure.throwIfFailed();
        if (options.signal?.aborted) throw options.signal.reason;
        const i = ++index;
        const end = ends[k];
        const r = checkOffline(values[k], i, options.offline);
        if (!dedupe.add(dedupeKeyOf(r))) {
          complete(i, null, file, end);
          continue;
        }
        const pre = precomputed.size === 0 ? undefined : precomputed.get(i);
        if (pre !== undefined) {
          precomputed.delete(i);
          complete(i, pre, file, end);
        } else if (needsNetwork(r, options.stages)) {
          launch(i, r, file, end);
        } else {
          complete(i, r, file, end);
        }
        // Back-pressure: never read further than `window` records past the
        // oldest unwritten one (it bounds the reorder buffer and the sockets).
        while (inFlight > 0 && i - next >= window) {
          failure.throwIfFailed();
          await waitForProgress();
        }
        if (++sinceClockCheck >= 4096 || inFlight > 0) {
          sinceClockCheck = 0;
          if (options.clock.now() - lastCheckpoint >= everyMs) await checkpoint();
        }
      }
    }
    while (inFlight > 0) {
      await waitForProgress();
      if (options.clock.now() - lastCheckpoint >= everyMs) await checkpoint();
    }
    failure.throwIfFailed();
    await checkpoint();
    return counts;
  } catch (err) {
    // Let in-flight checks settle (they see the abort signal), then save what
    // is complete so a resumed run continues from here.
    while (inFlight > 0) await waitForProgress();
    await checkpoint().catch(() => undefined);
    if (options.signal?.aborted && err === options.signal.reason) {
      // How far it got, and how to continue: only a run with --state can resume.
      const far = `interrupted after ${counts.written.toLocaleString('en-US')} address${counts.written === 1 ? '' : 'es'} checked; the results so far were written`;
      throw evError('EV_ERR_INTERRUPTED', far, {
        hint: options.journal
          ? 'run the same command again with the same --state to continue where it stopped'
          : 'this run cannot be resumed; next time add --state FILE and --out FILE (input from files) to make it resumable',
      });
    }
    throw err;
  }
}
