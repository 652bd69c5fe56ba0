import { describe, it, beforeEach, afterEach } from 'mocha';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLists } from '../../../../../src/address/lists.ts';
import { checkOffline, createOfflineContext } from '../../../../../src/check/pipeline.ts';
import type { Checkpoint } from '../../../../../src/check/engine.ts';
import type { CheckResult } from '../../../../../src/check/result.ts';
import {
  StateChain,
  decodeState,
  encodeCheckpoint,
  encodeCompleted,
  encodeHeader,
  type StateFingerprint,
} from '../../../../../src/check/state.ts';
import { StateJournal, loadState } from '../../../../../plugin/lib/check/state-file.ts';
import { acquireRunLock, TORN_LOCK_GRACE_MS } from '../../../../../plugin/lib/check/run-lock.ts';

const offline = createOfflineContext(createLists());
const fp: StateFingerprint = {
  inputs: [{ path: '/in.txt', size: 100_000, head: 'h' }],
  output: '/out.jsonl',
  format: 'jsonl',
  column: null,
  options: '[]',
};
const counts = (index: number) => ({
  read: index,
  written: index,
  duplicates: 0,
  valid: index,
  invalid: 0,
  risky: 0,
  unknown: 0,
});
const cp = (index: number): Checkpoint => ({
  file: 0,
  offset: index * 10,
  index,
  outputBytes: index * 50,
  counts: counts(index),
});
function result(index: number, verdict: 'unknown' | 'valid' = 'unknown'): CheckResult {
  const r = checkOffline(`u${index}@d${index}.test`, index, offline);
  if (verdict === 'unknown') {
    r.reasons.push('dns_timeout');
    r.verdict = 'unknown';
  }
  return r;
}

describe('check/state-file: the journal on disk', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ev-state-'));
    path = join(dir, 'run.state');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes results and checkpoints that read back, each line sealed', async () => {
    const j = StateJournal.open(path, fp, null);
    j.completed(result(2));
    j.completed(result(1));
    await j.checkpoint(cp(1));
    j.completed(result(3));
    j.close();
    const s = loadState(path)!;
    assert.deepEqual(s.fingerprint, fp);
    assert.equal(s.resume!.checkpoint.index, 1);
    assert.deepEqual([...s.resume!.completed.keys()].sort(), [2, 3]);
    for (const line of readFileSync(path, 'utf8').trimEnd().split('\n'))
      assert.match(line, /\t[0-9a-f]{16}$/);
  });

  it('a resumed journal keeps the results journaled past the checkpoint (a second kill must not lose them)', async () => {
    const first = StateJournal.open(path, fp, null);
    await first.checkpoint(cp(4));
    for (const i of [5, 7, 9]) first.completed(result(i));
    first.close();
    const s1 = loadState(path)!;
    // Resume: the journal is rewritten; then the process dies again before any new result.
    const second = StateJournal.open(path, fp, s1.resume);
    second.close();
    const s2 = loadState(path)!;
    assert.equal(s2.resume!.checkpoint.index, 4);
    assert.deepEqual(
      [...s2.resume!.completed.keys()].sort((a, b) => a - b),
      [5, 7, 9],
    );
    assert.deepEqual(s2.resume!.completed.get(7), s1.resume!.completed.get(7));
  });

  it('compacts past its bound: only the last checkpoint and the results after it remain', async () => {
    const j = StateJournal.open(path, fp, null, { compactBytes: 4096 });
    for (let i = 1; i <= 60; i++) j.completed(result(i));
    const before = statSync(path).size;
    assert.ok(before > 4096);
    await j.checkpoint(cp(50));
    const after = statSync(path).size;
    assert.ok(after < before / 3, `compacted ${before} -> ${after}`);
    j.completed(result(61));
    await j.checkpoint(cp(52));
    j.close();
    const s = loadState(path)!;
    assert.equal(s.resume!.checkpoint.index, 52);
    assert.deepEqual(
      [...s.resume!.completed.keys()].sort((a, b) => a - b),
      [53, 54, 55, 56, 57, 58, 59, 60, 61],
    );
    assert.equal(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"cp"')).length,
      2,
      'one checkpoint rewritten, one appended',
    );
  });

  it('ignores a torn last line (killed mid-append), and a resumed journal drops it', async () => {
    const j = StateJournal.open(path, fp, null);
    await j.checkpoint(cp(3));
    j.completed(result(4));
    j.close();
    const line = new StateChain().seal(encodeCompleted(result(5)));
    appendFileSync(path, line.slice(0, 25));
    const s = loadState(path)!;
    assert.deepEqual([...s.resume!.completed.keys()], [4]);
    StateJournal.open(path, fp, s.resume).close();
    assert.ok(readFileSync(path, 'utf8').endsWith('\n'));
    assert.deepEqual([...loadState(path)!.resume!.completed.keys()], [4]);
  });

  describe('damaged or edited state answers EV_ERR_STATE_INVALID with the line and what is wrong', () => {
    /** A well-formed journal's lines (bodies, unsealed). */
    const bodies = (): string[] => [
      encodeHeader(fp),
      encodeCheckpoint(cp(2)),
      encodeCompleted(result(3)),
      encodeCompleted(result(4)),
      encodeCheckpoint(cp(3)),
    ];
    const seal = (bs: string[]): string => {
      const c = new StateChain();
      return bs.map((b) => c.seal(b)).join('');
    };
    /** Re-seals after a change: what a careful editor (or a bug) would produce; validation must still catch it. */
    const forged = (i: number, edit: (o: Record<string, any>) => void): string => {
      const bs = bodies();
      const o = JSON.parse(bs[i]) as Record<string, any>;
      edit(o);
      bs[i] = JSON.stringify(o);
      return seal(bs);
    };
    const good = seal(bodies());
    const lines = good.split('\n');
    const cases: Array<[string, string, RegExp]> = [
      [
        'an edited result (verdict changed by hand)',
        good.replace('"verdict":"unknown"', '"verdict":"valid"'),
        /line 3 fails its checksum/,
      ],
      [
        'a removed line',
        [lines[0], lines[1], lines[3], lines[4], ''].join('\n'),
        /line 3 fails its checksum/,
      ],
      [
        'a repeated line',
        [lines[0], lines[1], lines[2], lines[2], lines[3], lines[4], ''].join('\n'),
        /line 4 fails its checksum/,
      ],
      [
        'two lines swapped',
        [lines[0], lines[1], lines[3], lines[2], lines[4], ''].join('\n'),
        /line 3 fails its checksum/,
      ],
      [
        'a line without checksum',
        `${lines[0]}\n${encodeCheckpoint(cp(2))}\n`,
        /line 2 has no checksum/,
      ],
      [
        'an empty line in the middle',
        [lines[0], '', lines[1], ''].join('\n'),
        /line 2 has no checksum/,
      ],
      ['binary garbage', '\u0000\u0001\u00ff\n', /not a check state file/],
      [
        'a version 1 file',
        `${JSON.stringify({ kind: 'kubectl-email-validate/check-state', version: 1, fingerprint: fp })}\n`,
        /version 1; this version reads 2/,
      ],
      [
        'a header without fingerprint',
        forged(0, (o) => {
          delete o.fingerprint;
        }),
        /line 1: the header's fingerprint is missing/,
      ],
      [
        'a fingerprint whose inputs are not a list',
        forged(0, (o) => {
          o.fingerprint.inputs = 'x';
        }),
        /fingerprint has no inputs/,
      ],
      [
        'a checkpoint offset as a string',
        forged(1, (o) => {
          o.cp.offset = '20';
        }),
        /line 2: checkpoint has no valid offset/,
      ],
      [
        'a negative output length',
        forged(1, (o) => {
          o.cp.outputBytes = -1;
        }),
        /line 2: checkpoint has no valid outputBytes/,
      ],
      [
        'a checkpoint in a file that is not an input',
        forged(1, (o) => {
          o.cp.file = 3;
        }),
        /points at input 4 of 1/,
      ],
      [
        'a checkpoint past the end of the input',
        forged(1, (o) => {
          o.cp.offset = 10 ** 9;
        }),
        /past the end of \/in\.txt/,
      ],
      [
        'counts that do not add up',
        forged(1, (o) => {
          o.cp.counts.valid = 7;
        }),
        /verdict counts do not add up/,
      ],
      [
        'counts missing',
        forged(1, (o) => {
          delete o.cp.counts;
        }),
        /line 2: checkpoint has no counts/,
      ],
      [
        'a checkpoint going backwards',
        forged(4, (o) => {
          o.cp = cp(1);
        }),
        /line 5: checkpoint goes back/,
      ],
      [
        'a result with an unknown verdict',
        forged(2, (o) => {
          o.r.verdict = 'great';
        }),
        /line 3: result has an unknown verdict/,
      ],
      [
        'a result whose verdict does not follow from its reasons',
        forged(2, (o) => {
          o.r.verdict = 'valid';
        }),
        /line 3: result verdict valid does not follow/,
      ],
      [
        'a result with an unknown reason',
        forged(2, (o) => {
          o.r.reasons = ['trust_me'];
        }),
        /line 3: result has an unknown reason/,
      ],
      [
        'a result without index',
        forged(3, (o) => {
          delete o.r.index;
        }),
        /line 4: result has no valid index/,
      ],
      [
        'a result without syntax details',
        forged(3, (o) => {
          o.r.checks = {};
        }),
        /line 4: result has no syntax details/,
      ],
      [
        'a record of another kind',
        forged(3, (o) => {
          o.x = o.r;
          delete o.r;
        }),
        /line 4 is neither a checkpoint nor a result/,
      ],
      ['a record that is an array', seal([encodeHeader(fp), '[1,2]']), /line 2 is neither/],
      ['a record that is not JSON', seal([encodeHeader(fp), '{"cp":']), /line 2 is not JSON/],
    ];
    for (const [what, text, re] of cases) {
      it(what, () => {
        writeFileSync(path, text);
        assert.throws(
          () => loadState(path),
          (err: Error & { code?: string }) => {
            assert.equal(err.code, 'EV_ERR_STATE_INVALID', `${what}: ${err.code} ${err.message}`);
            assert.match(err.message, re);
            return true;
          },
        );
      });
    }

    it('a directory or an unreadable path is EV_ERR_STATE_INVALID too', () => {
      mkdirSync(join(dir, 'd.state'));
      assert.throws(() => loadState(join(dir, 'd.state')), { code: 'EV_ERR_STATE_INVALID' });
    });

    it('the well-formed journal itself reads back', () => {
      assert.equal(decodeState(good, 'st').resume!.checkpoint.index, 3);
    });
  });
});

describe('check/run-lock: one run per state and output file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ev-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second holder, naming the first (pid, host, start time), and holds nothing when refused', () => {
    const a = acquireRunLock([join(dir, 's'), join(dir, 'o')], {
      pid: 4242,
      host: 'box',
      now: () => '2026-12-06T01:00:00.000Z',
      alive: () => true,
    });
    assert.ok(existsSync(join(dir, 's.lock')));
    assert.throws(
      () =>
        acquireRunLock([join(dir, 'x'), join(dir, 'o')], {
          pid: 5,
          host: 'box',
          alive: () => true,
        }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EV_ERR_STATE_LOCKED');
        assert.match(
          err.message,
          /o is in use by another run \(pid 4242 on box, started 2026-12-06T01:00:00\.000Z/,
        );
        return true;
      },
    );
    assert.ok(!existsSync(join(dir, 'x.lock')), 'the refused run released the lock it had taken');
    a.release();
    assert.ok(!existsSync(join(dir, 's.lock')) && !existsSync(join(dir, 'o.lock')));
    acquireRunLock([join(dir, 's')], { pid: 6, host: 'box', alive: () => true }).release();
  });

  it('takes over a lock whose holder died on this host (kill -9)', () => {
    acquireRunLock([join(dir, 's')], { pid: 4242, host: 'box', alive: () => true }); // never released
    const b = acquireRunLock([join(dir, 's')], {
      pid: 7,
      host: 'box',
      alive: (pid) => pid !== 4242,
    });
    assert.match(readFileSync(join(dir, 's.lock'), 'utf8'), /"pid":7/);
    b.release();
  });

  it('never takes over a lock held from another host (it cannot tell whether that run is alive)', () => {
    acquireRunLock([join(dir, 's')], { pid: 4242, host: 'other', alive: () => false });
    assert.throws(
      () => acquireRunLock([join(dir, 's')], { pid: 7, host: 'box', alive: () => false }),
      /pid 4242 on other/,
    );
  });

  it('an empty lock file (killed between create and write) is stale only once it is old', () => {
    writeFileSync(join(dir, 's.lock'), '');
    assert.throws(
      () => acquireRunLock([join(dir, 's')], { host: 'box' }),
      /lock file is unreadable/,
    );
    const old = (Date.now() - TORN_LOCK_GRACE_MS - 5000) / 1000;
    utimesSync(join(dir, 's.lock'), old, old);
    acquireRunLock([join(dir, 's')], { host: 'box' }).release();
  });

  it('an output in a directory that does not exist is a clear option error, not a lock error', () => {
    assert.throws(
      () => acquireRunLock([join(dir, 'nope', 'out.jsonl')]),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EV_ERR_INVALID_OPTION');
        assert.match(err.message, /cannot write .*out\.jsonl: ENOENT \(no such directory\)/);
        return true;
      },
    );
  });

  it('does not lock what is not a regular file (/dev/null as --out)', () => {
    const l = acquireRunLock(['/dev/null', join(dir, 's')]);
    assert.deepEqual(l.paths, [join(dir, 's.lock')]);
    l.release();
  });

  it('the default liveness check sees this process alive', () => {
    acquireRunLock([join(dir, 's')]);
    assert.throws(() => acquireRunLock([join(dir, 's')]), { code: 'EV_ERR_STATE_LOCKED' });
  });
});
