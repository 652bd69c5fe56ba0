import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberedDomains, startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import { StateChain } from '../../../src/check/state.ts';
import { CLI, NODE, ROOT, baseIo, baseOptions, runCli, tempDir, waitFor } from './helpers.ts';

function checkpointIndex(stateFile: string): number {
  if (!existsSync(stateFile)) return 0;
  let index = 0;
  for (const l of readFileSync(stateFile, 'utf8').split('\n')) {
    if (!l.startsWith('{"cp"')) continue;
    try {
      index = (JSON.parse(l.slice(0, l.lastIndexOf('\t'))) as { cp: { index: number } }).cp.index;
    } catch {
      /* torn line */
    }
  }
  return index;
}

function start(args: string[]): {
  child: ChildProcess;
  exited: Promise<number | null>;
  done(): boolean;
  stderr(): string;
} {
  const child = spawn(NODE, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let finished = false;
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      finished = true;
      r(code);
    }),
  );
  return { child, exited, done: () => finished, stderr: () => err };
}

/** Counts from the summary line on stderr. */
function summaryCounts(stderr: string): { written: number; duplicates: number } {
  const m = /([\d,]+) address(?:es)? checked \(([\d,]+) duplicates? skipped\)/.exec(stderr);
  assert.ok(m, `no summary in ${stderr}`);
  return {
    written: Number(m[1].replaceAll(',', '')),
    duplicates: Number(m[2].replaceAll(',', '')),
  };
}

describe('check --state: locking, damage, resumes', function () {
  this.timeout(120_000);
  let dns: FakeDns;
  before(async () => {
    dns = await startFakeDns(numberedDomains);
  });
  after(() => dns.close());

  /** n addresses, one domain each, every 7th a repeat of an earlier one. */
  function list(dir: string, n: number): string {
    const input = join(dir, 'in.txt');
    writeFileSync(
      input,
      `${Array.from({ length: n }, (_, i) => (i % 7 === 6 ? `u${i - 3}@d${i - 3}.test` : `u${i}@d${i}.test`)).join('\n')}\n`,
    );
    return input;
  }

  it('a second run on the same --state/--out is refused with the holder named; after kill -9 the next run takes over and resumes', async () => {
    const t = tempDir();
    try {
      const input = list(t.dir, 3000);
      const ref = join(t.dir, 'ref.jsonl');
      assert.equal(
        (await runCli(['check', input, '--out', ref, '--dns-server', dns.server])).code,
        0,
      );
      const out = join(t.dir, 'out.jsonl');
      const state = join(t.dir, 'run.state');
      const args = [
        'check',
        input,
        '--out',
        out,
        '--state',
        state,
        '--dns-server',
        dns.server,
        '--rate',
        '500/s',
        '--checkpoint-interval',
        '10ms',
      ];
      const a = start(args);
      await waitFor(
        () => a.done() || checkpointIndex(state) > 100,
        60_000,
        'the first run to checkpoint',
      );
      assert.ok(!a.done(), `the first run ended early: ${a.stderr()}`);
      const b = await runCli(args);
      assert.equal(b.code, 3, b.stderr);
      assert.match(
        b.stderr,
        new RegExp(
          `in use by another run \\(pid ${a.child.pid} on [^,]+, started \\d{4}-\\d\\d-\\d\\dT`,
        ),
      );
      assert.match(b.stderr, /EV_ERR_STATE_LOCKED/);
      assert.doesNotMatch(b.stderr, /\n\s+at /);
      // A run on the same output with another state file is refused too.
      const c = await runCli([
        'check',
        input,
        '--out',
        out,
        '--state',
        join(t.dir, 'other.state'),
        '--dns-server',
        dns.server,
      ]);
      assert.equal(c.code, 3, c.stderr);
      a.child.kill('SIGKILL');
      await a.exited;
      assert.ok(existsSync(`${state}.lock`), 'kill -9 leaves the lock file behind');
      const last = await runCli(args);
      assert.equal(last.code, 0, last.stderr);
      assert.match(last.stderr, /^resumed; /m);
      assert.equal(readFileSync(out, 'utf8'), readFileSync(ref, 'utf8'));
      assert.ok(
        !existsSync(`${state}.lock`) && !existsSync(`${out}.lock`),
        'a finished run removes its locks',
      );
    } finally {
      t.cleanup();
    }
  });

  it('killed twice with DNS checks: output exact, summary counts exact, no look-up repeated beyond the checks in flight', async () => {
    const t = tempDir();
    try {
      const input = list(t.dir, 4000);
      const ref = join(t.dir, 'ref.jsonl');
      const refRun = await runCli(['check', input, '--out', ref, '--dns-server', dns.server]);
      assert.equal(refRun.code, 0, refRun.stderr);
      const expected = summaryCounts(refRun.stderr);
      assert.ok(expected.duplicates > 500);
      dns.queries.clear();

      const out = join(t.dir, 'out.jsonl');
      const state = join(t.dir, 'run.state');
      const concurrency = 8;
      const args = [
        'check',
        input,
        '--out',
        out,
        '--state',
        state,
        '--dns-server',
        dns.server,
        '--rate',
        '1000/s',
        '--concurrency',
        String(concurrency),
        '--checkpoint-interval',
        '10ms',
      ];
      for (const minIndex of [600, 1800]) {
        const run = start(args);
        await waitFor(
          () => run.done() || checkpointIndex(state) > minIndex,
          60_000,
          `a checkpoint past ${minIndex}`,
        );
        assert.ok(!run.done(), `the run finished before it could be killed: ${run.stderr()}`);
        run.child.kill('SIGKILL');
        await run.exited;
      }
      const last = await runCli(args);
      assert.equal(last.code, 0, last.stderr);
      assert.match(last.stderr, /^resumed; /m);
      assert.equal(readFileSync(out, 'utf8'), readFileSync(ref, 'utf8'));
      assert.deepEqual(
        summaryCounts(last.stderr),
        expected,
        'the summary after resumes counts what a single run counts',
      );
      let repeated = 0;
      for (const [key, count] of dns.queries)
        if (key.startsWith('MX ') && count > 1) repeated += count - 1;
      // Only look-ups in flight at each kill (at most --concurrency each) may be repeated.
      assert.ok(repeated <= 2 * concurrency, `${repeated} MX look-ups were repeated`);
    } finally {
      t.cleanup();
    }
  });

  it('refuses a --state that is an input file or the --out file', async () => {
    const t = tempDir();
    try {
      const input = join(t.dir, 'in.txt');
      writeFileSync(input, 'a@d1.test\n');
      const out = join(t.dir, 'out.jsonl');
      await assert.rejects(
        runCheckCommand(
          baseOptions({ paths: [input], out, state: input, offline: true }),
          baseIo(),
        ),
        /--state would overwrite an input file/,
      );
      await assert.rejects(
        runCheckCommand(baseOptions({ paths: [input], out, state: out, offline: true }), baseIo()),
        /--state and --out name the same file/,
      );
      assert.equal(readFileSync(input, 'utf8'), 'a@d1.test\n');
    } finally {
      t.cleanup();
    }
  });

  it('an edited or damaged state file is refused with EV_ERR_STATE_INVALID naming the line, never replayed', async () => {
    const t = tempDir();
    try {
      const input = join(t.dir, 'in.txt');
      writeFileSync(input, 'a@d1.test\nb@d2.test\nc@d3.test\n');
      const out = join(t.dir, 'out.jsonl');
      const state = join(t.dir, 'run.state');
      const o = baseOptions({ paths: [input], out, state, dnsServer: dns.server });
      await runCheckCommand(o, baseIo());
      const good = readFileSync(state, 'utf8');
      const lines = good.trimEnd().split('\n');
      const header = lines[0].slice(0, lines[0].lastIndexOf('\t'));
      const chainOf = (...bodies: string[]): string => {
        const c = new StateChain();
        return bodies.map((b) => c.seal(b)).join('');
      };
      const damaged: Array<[string, string, RegExp]> = [
        [
          'a result edited to valid',
          `${lines[0]}\n${JSON.stringify({ r: { address: 'zz@d9.test', normalized: 'zz@d9.test', verdict: 'valid', reasons: [], index: 2, checks: { syntax: { category: 'valid', diagnosis: 'valid', smtputf8: false, idn: false, literal: false } } } })}\n`,
          /line 2 has no checksum/,
        ],
        [
          'a checkpoint whose counts are text',
          chainOf(
            header,
            JSON.stringify({
              cp: { file: 0, offset: 10, index: 1, outputBytes: 5, counts: 'lots' },
            }),
          ),
          /line 2: checkpoint has no counts/,
        ],
        [
          'a checkpoint without offset',
          chainOf(
            header,
            JSON.stringify({ cp: { file: 0, index: 1, outputBytes: 5, counts: {} } }),
          ),
          /line 2: checkpoint has no valid offset/,
        ],
        [
          'a header with a broken fingerprint',
          chainOf(
            JSON.stringify({
              kind: 'kubectl-email-validate/check-state',
              version: 2,
              fingerprint: { inputs: [{ path: 1 }] },
            }),
          ),
          /line 1: the header's fingerprint/,
        ],
        ['a truncated file in the middle of the header', good.slice(0, 30), /no header/],
      ];
      for (const [what, text, re] of damaged) {
        writeFileSync(state, text);
        await assert.rejects(runCheckCommand(o, baseIo()), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EV_ERR_STATE_INVALID', `${what}: ${err.code} ${err.message}`);
          assert.match(err.message, re, what);
          return true;
        });
      }
    } finally {
      t.cleanup();
    }
  });
});
