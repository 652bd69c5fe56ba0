/**
 * The check engine's failure and shutdown paths: the concurrency bound, a
 * failed network step stopping the run (and no more input read after it),
 * in-flight checks settling before the last checkpoint of a failed run, the
 * interrupt message's count, and checkpoints only as often as asked.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createLists } from '../../../../src/address/lists.ts';
import { sleep } from '../../../../src/clock.ts';
import { DnsChecker, type DnsResolver } from '../../../../src/address/dns.ts';
import { createOfflineContext, type OfflineContext } from '../../../../src/check/pipeline.ts';
import {
  MAX_CONCURRENCY,
  runCheck,
  type Checkpoint,
  type InputBatch,
  type Journal,
  type ResultWriter,
} from '../../../../src/check/engine.ts';
import type { CheckResult } from '../../../../src/check/result.ts';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';

/** One record a batch, offsets counted as one line each. */
function oneByOne(values: string[]): InputBatch[] {
  let off = 0;
  return values.map((v) => ({ file: 0, values: [v], ends: [(off += v.length + 1)] }));
}

function writer(): ResultWriter & { results: CheckResult[] } {
  const w = {
    results: [] as CheckResult[],
    write(r: CheckResult) {
      w.results.push(r);
    },
    flush: async () => w.results.length,
  };
  return w;
}

function journal(): Journal & { checkpoints: Checkpoint[]; done: number[] } {
  const j = {
    checkpoints: [] as Checkpoint[],
    done: [] as number[],
    completed(r: CheckResult) {
      j.done.push(r.index);
    },
    async checkpoint(cp: Checkpoint) {
      j.checkpoints.push(cp);
    },
  };
  return j;
}

/** Every domain has an MX on a documentation address; answers come at once. */
const resolver: DnsResolver = {
  resolveMx: async (n) => [{ exchange: `mx.${n}`, priority: 10 }],
  resolve4: async () => ['192.0.2.10'],
  resolve6: async () => {
    throw Object.assign(new Error('no data'), { code: 'ENODATA' });
  },
};

function context(): OfflineContext {
  return createOfflineContext(createLists());
}

describe('check/engine: failure and shutdown paths', () => {
  it('refuses a concurrency outside 1..MAX_CONCURRENCY with EV_ERR_INVALID_OPTION', async () => {
    for (const concurrency of [0, MAX_CONCURRENCY + 1, Number.NaN])
      await assert.rejects(
        runCheck((async function* () {})(), writer(), {
          offline: context(),
          stages: {},
          concurrency,
          clock: new FakeClock(),
        }),
        {
          code: 'EV_ERR_INVALID_OPTION',
          message: `--concurrency must be from 1 to ${MAX_CONCURRENCY}`,
        },
      );
  });

  it('a failed network step stops the run with its error, and no more input is read after it', async () => {
    const clock = new FakeClock();
    const broken = new Error('rate source down');
    let pulled = 0;
    const bs = oneByOne(Array.from({ length: 50 }, (_, i) => `u${i}@example.com`));
    async function* src(): AsyncGenerator<InputBatch> {
      for (const b of bs) {
        pulled++;
        yield b;
      }
    }
    const w = writer();
    await assert.rejects(
      runCheck(src(), w, {
        offline: context(),
        stages: { dns: new DnsChecker({ resolver, clock }) },
        concurrency: 1,
        clock,
        rate: {
          take: async () => {
            throw broken;
          },
        },
      }),
      (err) => err === broken,
    );
    assert.ok(pulled < 10, `${pulled} batches read after the failure`);
    assert.deepEqual(w.results, []);
  });

  it('a failing journal stops the run with its error', async () => {
    const clock = new FakeClock();
    const full = new Error('disk full');
    const j = journal();
    j.completed = () => {
      throw full;
    };
    await assert.rejects(
      runCheck(
        (async function* () {
          yield* oneByOne(['a@example.com', 'b@example.com']);
        })(),
        writer(),
        {
          offline: context(),
          stages: { dns: new DnsChecker({ resolver, clock }) },
          concurrency: 1,
          clock,
          journal: j,
        },
      ),
      (err) => err === full,
    );
  });

  it('on an input error, lets the checks in flight finish and saves them in the last checkpoint; the error is the input one', async () => {
    const clock = new FakeClock();
    const j = journal();
    const w = writer();
    const inputError = new Error('bad csv');
    async function* src(): AsyncGenerator<InputBatch> {
      yield* oneByOne(['a@example.com']);
      throw inputError;
    }
    const ac = new AbortController();
    let settled = false;
    const run = runCheck(src(), w, {
      offline: context(),
      stages: { dns: new DnsChecker({ resolver, clock }) },
      concurrency: 1,
      clock,
      journal: j,
      signal: ac.signal,
      // The check waits 10 ms of fake time before going out.
      rate: { take: () => sleep(clock, 10) },
    }).finally(() => {
      settled = true;
    });
    const outcome = run.then(
      () => assert.fail('resolved'),
      (err: unknown) => err,
    );
    await flushMicrotasks();
    assert.equal(settled, false, 'the run waits for the check in flight');
    await clock.advance(10);
    assert.equal(await outcome, inputError);
    assert.deepEqual(
      w.results.map((r) => r.index),
      [1],
    );
    assert.equal(j.checkpoints.at(-1)?.index, 1);
    assert.equal(j.checkpoints.at(-1)?.counts.written, 1);
  });

  it('an interrupt counts what was written: "1 address", "0 addresses"', async () => {
    for (const [values, want] of [
      [['a@example.com'], '1 address'],
      [[], '0 addresses'],
      [['a@example.com', 'b@example.com', 'c@example.com'], '3 addresses'],
    ] as const) {
      const ac = new AbortController();
      const reason = new Error('interrupted');
      async function* src(): AsyncGenerator<InputBatch> {
        yield* oneByOne([...values]);
        ac.abort(reason);
        yield* oneByOne(['late@example.com']);
      }
      await assert.rejects(
        runCheck(src(), writer(), {
          offline: context(),
          stages: {},
          concurrency: 1,
          clock: new FakeClock(),
          signal: ac.signal,
        }),
        {
          code: 'EV_ERR_INTERRUPTED',
          message: `interrupted after ${want} checked; the results so far were written`,
        },
      );
    }
  });

  it('a real failure during an interrupt is reported as itself, not as the interrupt', async () => {
    const ac = new AbortController();
    const inputError = new Error('bad csv');
    async function* src(): AsyncGenerator<InputBatch> {
      yield* oneByOne(['a@example.com']);
      ac.abort(new Error('interrupted'));
      throw inputError;
    }
    await assert.rejects(
      runCheck(src(), writer(), {
        offline: context(),
        stages: {},
        concurrency: 1,
        clock: new FakeClock(),
        signal: ac.signal,
      }),
      (err) => err === inputError,
    );
  });

  it('checkpoints only when checkpointEveryMs has passed: once at the end of a quick run', async () => {
    const clock = new FakeClock();
    const j = journal();
    const counts = await runCheck(
      (async function* () {
        yield* oneByOne(['a@example.com', 'b@example.org', 'c@example.net']);
      })(),
      writer(),
      {
        offline: context(),
        stages: { dns: new DnsChecker({ resolver, clock }) },
        concurrency: 2,
        clock,
        journal: j,
      },
    );
    assert.equal(counts.written, 3);
    assert.equal(j.checkpoints.length, 1);
    assert.equal(j.checkpoints[0].index, 3);
  });
});
