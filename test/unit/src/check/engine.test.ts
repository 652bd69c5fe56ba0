import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createLists } from '../../../../src/address/lists.ts';
import { createOfflineContext, checkOffline } from '../../../../src/check/pipeline.ts';
import {
  runCheck,
  rebuildDedupe,
  type Checkpoint,
  type InputBatch,
  type Journal,
  type ResultWriter,
} from '../../../../src/check/engine.ts';
import { DigestSet } from '../../../../src/check/dedupe.ts';
import { resultToJsonLine } from '../../../../src/check/serialize.ts';
import {
  StateChain,
  decodeState,
  encodeCheckpoint,
  encodeCompleted,
  encodeHeader,
  fingerprintDiff,
  type StateFingerprint,
} from '../../../../src/check/state.ts';
import { FakeClock } from '../../../support/fake-clock.ts';
import { DnsChecker, type DnsResolver } from '../../../../src/address/dns.ts';
import type { CheckResult } from '../../../../src/check/result.ts';
import { REASONS, verdictOf } from '../../../../src/check/reasons.ts';

// Built in each suite's hook, not at load: a mutation-testing run switches a mutant on only
// while tests and hooks run (CONTRIBUTING.md, "Mutation testing").
let offline: ReturnType<typeof createOfflineContext>;
const buildOffline = () => {
  offline = createOfflineContext(createLists());
};

function batches(values: string[], size = 3): InputBatch[] {
  const out: InputBatch[] = [];
  let off = 0;
  for (let i = 0; i < values.length; i += size) {
    const vs = values.slice(i, i + size);
    out.push({ file: 0, values: vs, ends: vs.map((v) => (off += v.length + 1)) });
  }
  return out;
}

async function* source(bs: InputBatch[]): AsyncGenerator<InputBatch> {
  for (const b of bs) yield b;
}

function memoryWriter(): ResultWriter & { results: CheckResult[]; text: string } {
  const w = {
    results: [] as CheckResult[],
    text: '',
    write(r: CheckResult) {
      w.results.push(r);
      w.text += resultToJsonLine(r);
    },
    flush: async () => Buffer.byteLength(w.text),
  };
  return w;
}

/** A resolver whose answers resolve in a scrambled order, to exercise the reorder window. */
function scrambledResolver(): DnsResolver & { calls: string[] } {
  const calls: string[] = [];
  let n = 0;
  const later = <T>(v: () => T): Promise<T> =>
    new Promise((resolve, reject) =>
      setTimeout(
        () => {
          try {
            resolve(v());
          } catch (e) {
            reject(e);
          }
        },
        (n++ * 7) % 5,
      ),
    );
  const enodata = (): never => {
    throw Object.assign(new Error('no data'), { code: 'ENODATA' });
  };
  return {
    calls,
    resolveMx: (name) => {
      calls.push(name);
      return later(() =>
        name.startsWith('nx')
          ? (() => {
              throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
            })()
          : [{ exchange: `mx.${name}`, priority: 10 }],
      );
    },
    resolve4: (name) => later(() => (name.startsWith('mx.') ? ['192.0.2.10'] : enodata())),
    resolve6: () => later(enodata),
  };
}

describe('check/serialize', () => {
  before(buildOffline);
  it('writes exactly what JSON.stringify would', () => {
    const inputs = [
      'a@gmail.com',
      'Admin@Mailinator.com',
      'bad@@x',
      '"q\\"b"@x.org',
      'josé@bücher.de',
      'tab\there@x.com',
      'x@gmial.com',
      'a@[1.2.3.4]',
    ];
    for (const a of inputs) {
      const r = checkOffline(a, 7, offline);
      assert.equal(resultToJsonLine(r), `${JSON.stringify(r)}\n`, a);
    }
    const r = checkOffline('a@b.com', 1, offline);
    r.checks.dns = {
      status: 'ok',
      implicitMx: false,
      mx: [{ exchange: 'mx.b.com', priority: 1, addresses: ['192.0.2.1'], private: false }],
    };
    assert.equal(resultToJsonLine(r), `${JSON.stringify(r)}\n`);
  });
});

describe('check/reasons', () => {
  it('orders verdicts invalid > unknown > risky > valid', () => {
    assert.equal(verdictOf([]), 'valid');
    assert.equal(verdictOf(['free_provider']), 'valid');
    assert.equal(verdictOf(['disposable', 'free_provider']), 'risky');
    assert.equal(verdictOf(['disposable', 'dns_timeout']), 'unknown');
    assert.equal(verdictOf(['dns_timeout', 'null_mx']), 'invalid');
  });
  it('reason codes are snake_case identifiers', () => {
    for (const k of Object.keys(REASONS)) assert.match(k, /^[a-z0-9_]+$/);
  });
});

describe('check/dedupe', () => {
  it('adds once, grows, and keeps 8-byte digests', () => {
    const s = new DigestSet(16);
    for (let i = 0; i < 100_000; i++) assert.equal(s.add(`user${i}@example.com`), true);
    for (let i = 0; i < 100_000; i += 997) assert.equal(s.add(`user${i}@example.com`), false);
    assert.equal(s.size, 100_000);
    assert.ok(s.bytes <= 100_000 * 32, `bytes ${s.bytes}`);
  });
});

describe('check/engine', () => {
  before(buildOffline);
  it('streams offline results in input order, skipping duplicates after normalisation', async () => {
    const w = memoryWriter();
    const counts = await runCheck(
      source(
        batches(['a@x.com', 'b@y.com', 'A@X.COM'.replace('A', 'a'), 'bad', 'b@Y.com', 'c@z.com']),
      ),
      w,
      { offline, stages: {}, concurrency: 4, clock: new FakeClock() },
    );
    assert.deepEqual(
      w.results.map((r) => r.address),
      ['a@x.com', 'b@y.com', 'bad', 'c@z.com'],
    );
    assert.deepEqual(
      w.results.map((r) => r.index),
      [1, 2, 4, 6],
    );
    assert.equal(counts.duplicates, 2);
    assert.equal(counts.read, 6);
    assert.equal(counts.invalid, 1);
  });

  it('keeps input order when network checks finish out of order, and shares DNS per domain', async () => {
    const resolver = scrambledResolver();
    const dns = new DnsChecker({ resolver, clock: new FakeClock(), timeoutMs: 60_000 });
    const addrs = Array.from(
      { length: 60 },
      (_, i) => `u${i}@${i % 7 === 0 ? 'nx' : 'd'}${i % 5}.test`,
    );
    const w = memoryWriter();
    await runCheck(source(batches(addrs, 4)), w, {
      offline,
      stages: { dns },
      concurrency: 8,
      clock: new FakeClock(),
    });
    assert.deepEqual(
      w.results.map((r) => r.address),
      addrs,
    );
    const byDomain = new Map<string, number>();
    for (const c of resolver.calls) byDomain.set(c, (byDomain.get(c) ?? 0) + 1);
    for (const [d, n] of byDomain) assert.equal(n, 1, `${d} resolved ${n} times`);
    const nx = w.results.find((r) => r.address.includes('@nx'))!;
    assert.equal(nx.verdict, 'invalid');
    assert.ok(nx.reasons.includes('domain_not_found'));
  });

  it('checkpoints positions that match the output, and resumes without repeating or losing results', async () => {
    const addrs = Array.from({ length: 50 }, (_, i) => `user${i % 40}@d${i % 3}.test`);
    const full = memoryWriter();
    await runCheck(source(batches(addrs)), full, {
      offline,
      stages: {},
      concurrency: 1,
      clock: new FakeClock(),
    });

    // First run: stop after a checkpoint in the middle.
    const clock = new FakeClock();
    const cps: Checkpoint[] = [];
    const journal: Journal = {
      completed: () => undefined,
      checkpoint: async (cp) => {
        cps.push(cp);
      },
    };
    const first = memoryWriter();
    const bs = batches(addrs);
    async function* interrupted(): AsyncGenerator<InputBatch> {
      for (let i = 0; i < bs.length; i++) {
        yield bs[i];
        if (i === 6) {
          await clock.advance(2000);
          throw new Error('killed');
        }
      }
    }
    await assert.rejects(
      runCheck(interrupted(), first, {
        offline,
        stages: {},
        concurrency: 1,
        clock,
        journal,
        checkpointEveryMs: 1000,
      }),
      /killed/,
    );
    const cp = cps.at(-1)!;
    assert.ok(cp.index > 0 && cp.index <= 21);
    const kept = first.text.slice(0, cp.outputBytes);
    // Resume from the checkpoint: replay the prefix into the dedupe set, continue after it.
    const rest = bs.filter((b) => b.ends[0] > cp.offset);
    const prefix = bs.filter((b) => b.ends[0] <= cp.offset);
    const dedupe = await rebuildDedupe(source(prefix));
    const second = memoryWriter();
    await runCheck(source(rest), second, {
      offline,
      stages: {},
      concurrency: 1,
      clock: new FakeClock(),
      dedupe,
      resume: { checkpoint: cp, completed: new Map() },
    });
    assert.equal(kept + second.text, full.text);
  });

  it('counts reads and duplicates at the checkpoint exactly as far as the output goes (summary right after a resume)', async () => {
    // Duplicates and records read ahead of the output (network checks in
    // flight) must not be in a checkpoint's counts: a resumed run reads them again.
    const addrs = Array.from({ length: 240 }, (_, i) =>
      i % 4 === 0 ? `dup${i % 9}@d${i % 9}.test` : `u${i}@d${i % 9}.test`,
    );
    const dnsFor = () =>
      new DnsChecker({ resolver: scrambledResolver(), clock: new FakeClock(), timeoutMs: 60_000 });
    const full = memoryWriter();
    const fullCounts = await runCheck(source(batches(addrs, 1)), full, {
      offline,
      stages: { dns: dnsFor() },
      concurrency: 8,
      clock: new FakeClock(),
    });
    assert.ok(fullCounts.duplicates > 0);

    const clock = new FakeClock();
    const cps: Checkpoint[] = [];
    const journal: Journal = {
      completed: () => undefined,
      checkpoint: async (cp) => {
        cps.push(cp);
      },
    };
    const first = memoryWriter();
    const bs = batches(addrs, 1);
    async function* interrupted(): AsyncGenerator<InputBatch> {
      for (let i = 0; i < bs.length; i++) {
        if (i === 100) {
          // Let some results reach the output (wait on that, with a deadline), then make the next record checkpoint with checks in flight.
          const until = Date.now() + 10_000;
          while (first.results.length < 50 && Date.now() < until)
            await new Promise((r) => setImmediate(r));
          await clock.advance(2000);
        }
        yield bs[i];
        if (i === 160) throw new Error('killed');
      }
    }
    await assert.rejects(
      runCheck(interrupted(), first, {
        offline,
        stages: { dns: dnsFor() },
        concurrency: 8,
        clock,
        journal,
        checkpointEveryMs: 1000,
      }),
      /killed/,
    );
    // kill -9 right after the mid-run checkpoint: the final one in the error path is never written.
    const cp = cps[0];
    assert.ok(cp.index > 0 && cp.index < 160, `checkpoint at ${cp.index}`);
    assert.equal(
      cp.counts.read,
      cp.index,
      'a checkpoint counts the records it accounts for, no more',
    );
    const rest = bs.filter((b) => b.ends[0] > cp.offset);
    const dedupe = await rebuildDedupe(source(bs.filter((b) => b.ends[0] <= cp.offset)));
    const second = memoryWriter();
    const counts = await runCheck(source(rest), second, {
      offline,
      stages: { dns: dnsFor() },
      concurrency: 8,
      clock: new FakeClock(),
      dedupe,
      resume: { checkpoint: cp, completed: new Map() },
    });
    assert.equal(first.text.slice(0, cp.outputBytes) + second.text, full.text);
    assert.deepEqual(counts, fullCounts);
  });

  it('reuses journaled network results instead of checking them again', async () => {
    const resolver = scrambledResolver();
    const dns = new DnsChecker({ resolver, clock: new FakeClock(), timeoutMs: 60_000 });
    const pre = checkOffline('a@done.test', 2, offline);
    pre.reasons.push('dns_timeout');
    pre.verdict = 'unknown';
    const w = memoryWriter();
    await runCheck(source(batches(['x@one.test', 'a@done.test', 'y@two.test'])), w, {
      offline,
      stages: { dns },
      concurrency: 2,
      clock: new FakeClock(),
      resume: {
        checkpoint: {
          file: 0,
          offset: 0,
          index: 0,
          outputBytes: 0,
          counts: {
            read: 0,
            written: 0,
            duplicates: 0,
            valid: 0,
            invalid: 0,
            risky: 0,
            unknown: 0,
          },
        },
        completed: new Map([[2, pre]]),
      },
    });
    assert.deepEqual(resolver.calls.sort(), ['one.test', 'two.test']);
    assert.equal(w.results[1].verdict, 'unknown');
  });

  it('propagates input errors after saving a checkpoint', async () => {
    const cps: Checkpoint[] = [];
    async function* broken(): AsyncGenerator<InputBatch> {
      yield batches(['a@b.com'])[0];
      throw new Error('bad csv');
    }
    await assert.rejects(
      runCheck(broken(), memoryWriter(), {
        offline,
        stages: {},
        concurrency: 1,
        clock: new FakeClock(),
        journal: {
          completed: () => undefined,
          checkpoint: async (c) => {
            cps.push(c);
          },
        },
      }),
      /bad csv/,
    );
    assert.equal(cps.at(-1)!.index, 1);
  });
});

describe('check/state', () => {
  before(buildOffline);
  const fp: StateFingerprint = {
    inputs: [{ path: 'in.txt', size: 1000, head: 'abc' }],
    output: '/o',
    format: 'jsonl',
    column: null,
    options: '[]',
  };
  const cp = (index: number): Checkpoint => ({
    file: 0,
    offset: index * 10,
    index,
    outputBytes: index * 100,
    counts: {
      read: index,
      written: index,
      duplicates: 0,
      valid: index,
      invalid: 0,
      risky: 0,
      unknown: 0,
    },
  });
  const r = (index: number): CheckResult => ({ ...checkOffline('a@b.com', index, offline) });

  const sealed = (...bodies: string[]): string => {
    const c = new StateChain();
    return bodies.map((b) => c.seal(b)).join('');
  };

  it('takes the last checkpoint and the results journaled after it', () => {
    const text = sealed(
      encodeHeader(fp),
      encodeCompleted(r(2)),
      encodeCheckpoint(cp(3)),
      encodeCompleted(r(5)),
      encodeCompleted(r(4)),
    );
    const s = decodeState(text, 'st');
    assert.equal(s.resume!.checkpoint.index, 3);
    assert.deepEqual([...s.resume!.completed.keys()].sort(), [4, 5]);
  });

  it('ignores a torn last line (killed mid-append)', () => {
    const text =
      sealed(encodeHeader(fp), encodeCheckpoint(cp(3))) + encodeCheckpoint(cp(6)).slice(0, 20);
    assert.equal(decodeState(text, 'st').resume!.checkpoint.index, 3);
  });

  it('rejects damage elsewhere and foreign files with EV_ERR_STATE_INVALID', () => {
    assert.throws(
      () =>
        decodeState(`${sealed(encodeHeader(fp))}garbage\n${sealed(encodeCheckpoint(cp(1)))}`, 'st'),
      { code: 'EV_ERR_STATE_INVALID' },
    );
    assert.throws(() => decodeState('{"hello":1}\n', 'st'), { code: 'EV_ERR_STATE_INVALID' });
    assert.throws(() => decodeState('', 'st'), { code: 'EV_ERR_STATE_INVALID' });
  });

  it('names what changed between fingerprints', () => {
    assert.deepEqual(fingerprintDiff(fp, fp), []);
    assert.deepEqual(
      fingerprintDiff(fp, { ...fp, inputs: [{ ...fp.inputs[0], head: 'x' }], column: 'email' }),
      ['input content', '--column'],
    );
  });

  it('an interrupt says how far it got, and suggests --state only when the run has one', async () => {
    for (const withState of [false, true]) {
      const ac = new AbortController();
      const reason = new Error('interrupted');
      const bs = batches(['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com'], 2);
      async function* stopsAfterTwo(): AsyncGenerator<InputBatch> {
        yield bs[0];
        ac.abort(reason);
        throw reason;
      }
      const journal: Journal = { completed: () => undefined, checkpoint: async () => undefined };
      await assert.rejects(
        runCheck(stopsAfterTwo(), memoryWriter(), {
          offline,
          stages: {},
          concurrency: 1,
          clock: new FakeClock(),
          signal: ac.signal,
          ...(withState ? { journal } : {}),
        }),
        (err: Error & { code?: string; hint?: string }) => {
          assert.equal(err.code, 'EV_ERR_INTERRUPTED');
          assert.equal(
            err.message,
            'interrupted after 2 addresses checked; the results so far were written',
          );
          if (withState) assert.match(err.hint ?? '', /same --state to continue/);
          else
            assert.equal(
              err.hint,
              'this run cannot be resumed; next time add --state FILE and --out FILE (input from files) to make it resumable',
            );
          return true;
        },
      );
    }
  });
});
