/**
 * The check engine when something goes wrong: a journal that cannot record, an interrupt with
 * a check still in flight, an error other than the interrupt, an option out of range; and how
 * often it checkpoints when the clock does not move. DNS answers come from a resolver in this
 * process (no sockets), so every step is a promise and the order is the code's.
 */
import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createLists } from '../../../../src/address/lists.ts';
import { DnsChecker, type DnsResolver } from '../../../../src/address/dns.ts';
import { createOfflineContext } from '../../../../src/check/pipeline.ts';
import {
  MAX_CONCURRENCY,
  runCheck,
  type Checkpoint,
  type InputBatch,
  type Journal,
  type ResultWriter,
} from '../../../../src/check/engine.ts';
import type { CheckResult } from '../../../../src/check/result.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

let offline: ReturnType<typeof createOfflineContext>;

function batch(values: string[], offset = 0): InputBatch {
  let end = offset;
  return { file: 0, values, ends: values.map((v) => (end += v.length + 1)) };
}

function memoryWriter(): ResultWriter & { results: CheckResult[] } {
  const w = {
    results: [] as CheckResult[],
    write(r: CheckResult) {
      w.results.push(r);
    },
    flush: () => Promise.resolve(w.results.length),
  };
  return w;
}

function memoryJournal(
  o: { failOnCompleted?: Error } = {},
): Journal & { checkpoints: Checkpoint[]; completedIndexes: number[] } {
  const j = {
    checkpoints: [] as Checkpoint[],
    completedIndexes: [] as number[],
    completed(r: CheckResult) {
      if (o.failOnCompleted) throw o.failOnCompleted;
      j.completedIndexes.push(r.index);
    },
    checkpoint(cp: Checkpoint) {
      j.checkpoints.push(cp);
      return Promise.resolve();
    },
  };
  return j;
}

/** Every domain has no mail (NXDOMAIN); `hold` keeps the answers back until `release()`. */
function resolver(o: { hold?: boolean } = {}): DnsResolver & { release(): void; asked: number } {
  const waiting: Array<() => void> = [];
  let held = o.hold === true;
  const r = {
    asked: 0,
    release() {
      held = false;
      for (const w of waiting.splice(0)) w();
    },
    resolveMx: () => {
      r.asked++;
      const nx = Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      if (!held) return Promise.reject(nx);
      return new Promise<never>((_, reject) => waiting.push(() => reject(nx)));
    },
    resolve4: () => Promise.resolve([]),
    resolve6: () => Promise.resolve([]),
  };
  return r;
}

const dnsStage = (res: DnsResolver, clock: FakeClock) => ({
  dns: new DnsChecker({ resolver: res, clock }),
});

describe('check/engine: failures, interrupts and checkpoints', () => {
  before(() => {
    offline = createOfflineContext(createLists());
  });

  it('refuses a concurrency outside 1 to 1,000 with the option named', async () => {
    for (const concurrency of [0, MAX_CONCURRENCY + 1, Number.NaN]) {
      await assert.rejects(
        runCheck((async function* () {})(), memoryWriter(), {
          offline,
          stages: {},
          concurrency,
          clock: new FakeClock(),
        }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EV_ERR_INVALID_OPTION');
          assert.equal(err.message, '--concurrency must be from 1 to 1000');
          return true;
        },
      );
    }
  });

  it('a journal that cannot record a result stops the run with its error, and reads no further', async () => {
    const diskFull = Object.assign(new Error('ENOSPC: no space left on device'), {
      code: 'ENOSPC',
    });
    const clock = new FakeClock();
    const res = resolver();
    let pulled = 0;
    async function* many(): AsyncGenerator<InputBatch> {
      for (let b = 0; b < 50; b++) {
        pulled++;
        yield batch([`u${b}@d${b}.test`], b * 100);
      }
    }
    await assert.rejects(
      runCheck(many(), memoryWriter(), {
        offline,
        stages: dnsStage(res, clock),
        concurrency: 4,
        clock,
        journal: memoryJournal({ failOnCompleted: diskFull }),
      }),
      (err) => err === diskFull,
    );
    assert.ok(pulled < 50, `stopped reading after ${pulled} of 50 batches`);
  });

  it('checkpoints only when the clock says so: a clock that stands still gives the final one alone', async () => {
    const clock = new FakeClock();
    const journal = memoryJournal();
    const w = memoryWriter();
    const counts = await runCheck(
      (async function* () {
        yield batch(['a@a.test', 'b@b.test', 'c@c.test']);
        yield batch(['d@d.test', 'e@e.test'], 100);
      })(),
      w,
      { offline, stages: dnsStage(resolver(), clock), concurrency: 2, clock, journal },
    );
    assert.equal(counts.written, 5);
    assert.deepEqual(
      journal.checkpoints.map((c) => c.index),
      [5],
    );
    assert.deepEqual(
      [...journal.completedIndexes].sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
    );
  });

  it('an interrupt waits for the check in flight, writes it, and says how many were checked', async () => {
    const clock = new FakeClock();
    const res = resolver({ hold: true });
    const ac = new AbortController();
    const reason = new Error('interrupted');
    const journal = memoryJournal();
    const w = memoryWriter();
    async function* interruptedAfterOne(): AsyncGenerator<InputBatch> {
      yield batch(['only@one.test']);
      ac.abort(reason);
      // The answer arrives after the interrupt has reached the engine.
      setImmediate(() => res.release());
      throw reason;
    }
    await assert.rejects(
      runCheck(interruptedAfterOne(), w, {
        offline,
        stages: dnsStage(res, clock),
        concurrency: 1,
        clock,
        signal: ac.signal,
        journal,
      }),
      (err: Error & { code?: string; hint?: string }) => {
        assert.equal(err.code, 'EV_ERR_INTERRUPTED');
        assert.equal(
          err.message,
          'interrupted after 1 address checked; the results so far were written',
        );
        assert.equal(
          err.hint,
          'run the same command again with the same --state to continue where it stopped',
        );
        return true;
      },
    );
    assert.equal(res.asked, 1);
    assert.deepEqual(
      w.results.map((r) => [r.index, r.verdict]),
      [[1, 'invalid']],
    );
    assert.deepEqual(journal.checkpoints.at(-1)?.index, 1);
  });

  it('another error during an interrupt is reported as itself', async () => {
    const ac = new AbortController();
    const readFailed = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    async function* failsWhileInterrupted(): AsyncGenerator<InputBatch> {
      yield batch(['a@example.com']);
      ac.abort(new Error('interrupted'));
      throw readFailed;
    }
    await assert.rejects(
      runCheck(failsWhileInterrupted(), memoryWriter(), {
        offline,
        stages: {},
        concurrency: 1,
        clock: new FakeClock(),
        signal: ac.signal,
      }),
      (err) => err === readFailed,
    );
  });
});
