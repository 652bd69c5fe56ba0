import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberedDomains, startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { CLI, NODE, ROOT, runCli, tempDir, waitFor } from './helpers.ts';

const SAMPLE = join(ROOT, 'test/fixtures/addresses/sample.txt');
const SAMPLE_CSV = join(ROOT, 'test/fixtures/addresses/sample.csv');

function lastCheckpointIndex(stateFile: string): number {
  if (!existsSync(stateFile)) return 0;
  const lines = readFileSync(stateFile, 'utf8').split('\n');
  let index = 0;
  for (const l of lines) {
    if (!l.startsWith('{"cp"')) continue;
    // Each line is JSON, a tab and a checksum.
    try {
      index = (JSON.parse(l.slice(0, l.lastIndexOf('\t'))) as { cp: { index: number } }).cp.index;
    } catch {
      /* torn line */
    }
  }
  return index;
}

/** Starts the CLI, SIGKILLs it once the state file holds a checkpoint past `minIndex`, resolves when it is dead. */
async function killMidRun(
  args: string[],
  stateFile: string,
  minIndex: number,
): Promise<{ killedAt: number; exited: 'killed' | 'finished' }> {
  const child = spawn(NODE, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let finished = false;
  const exited = new Promise<void>((r) =>
    child.on('exit', () => {
      finished = true;
      r();
    }),
  );
  await waitFor(
    () => finished || lastCheckpointIndex(stateFile) > minIndex,
    60_000,
    'a checkpoint',
  );
  if (finished) return { killedAt: lastCheckpointIndex(stateFile), exited: 'finished' };
  child.kill('SIGKILL');
  await exited;
  return { killedAt: lastCheckpointIndex(stateFile), exited: 'killed' };
}

describe('check: the CLI end to end', function () {
  this.timeout(120_000);

  it('streams JSON lines for a file (offline) with a summary on stderr', async () => {
    const r = await runCli(['check', '--offline', SAMPLE]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as CheckResult);
    assert.equal(
      rows.length,
      9,
      'alice@EXAMPLE.com is alice@example.com (domains are case-insensitive); Bob and bob differ (local parts are not)',
    );
    assert.deepEqual(
      rows.map((x) => x.verdict),
      ['valid', 'valid', 'valid', 'invalid', 'risky', 'risky', 'risky', 'risky', 'valid'],
    );
    assert.match(r.stderr, /9 addresses checked \(1 duplicate skipped\)/);
  });

  it('reads a CSV column from standard input and writes CSV', async () => {
    const r = await runCli(['check', '--offline', '--column', 'email', '-o', 'csv'], {
      input: readFileSync(SAMPLE_CSV, 'utf8'),
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^address,normalized,verdict,reasons/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[0]),
      ['alice@example.com', 'bob@example.com', 'bad@@example.com'],
    );
  });

  it('exits 1 with --fail-on when a verdict matches, 0 otherwise', async () => {
    assert.equal((await runCli(['check', '--offline', '--fail-on', 'invalid', SAMPLE])).code, 1);
    assert.equal((await runCli(['check', '--offline', '--fail-on', 'unknown', SAMPLE])).code, 0);
  });

  it('reports user mistakes as one line with a code and a hint, exit 2, no stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['check', '--offline', '/nonexistent/list.txt'], /EV_ERR_INPUT_INVALID/],
      [
        ['check', '--offline', '--column', 'mail', SAMPLE_CSV],
        /no column "mail".*EV_ERR_INPUT_INVALID/,
      ],
      [
        ['check', '--offline', '--state', '/tmp/x.state', SAMPLE],
        /--state needs --out.*EV_ERR_CONFLICTING_OPTIONS/,
      ],
      [['check', '--rate', 'fast', '--offline', SAMPLE], /--rate "fast".*EV_ERR_INVALID_OPTION/],
      [['check', '--smtp-probe', '--helo', 'gmail.com', SAMPLE], /EV_ERR_INVALID_OPTION/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /^hint: /m);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('refuses a state file from another run (EV_ERR_STATE_INVALID)', async () => {
    const t = tempDir();
    try {
      const state = join(t.dir, 's.state');
      const out = join(t.dir, 'out.jsonl');
      assert.equal(
        (await runCli(['check', '--offline', SAMPLE, '--out', out, '--state', state])).code,
        0,
      );
      const r = await runCli([
        'check',
        '--offline',
        SAMPLE_CSV,
        '--column',
        'email',
        '--out',
        out,
        '--state',
        state,
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /EV_ERR_STATE_INVALID/);
      writeFileSync(state, 'garbage\n');
      assert.match(
        (await runCli(['check', '--offline', SAMPLE, '--out', out, '--state', state])).stderr,
        /EV_ERR_STATE_INVALID/,
      );
    } finally {
      t.cleanup();
    }
  });

  it('resumes after kill -9 (offline, twice) and writes every result exactly once', async () => {
    const t = tempDir();
    try {
      const input = join(t.dir, 'in.txt');
      const lines: string[] = [];
      for (let i = 0; i < 300_000; i++)
        lines.push(
          i % 17 === 0
            ? `dup${i % 1000}@example.com`
            : i % 31 === 0
              ? `bad..${i}@x`
              : `user${i}@d${i % 5000}.example.com`,
        );
      writeFileSync(input, `${lines.join('\n')}\n`);
      const ref = join(t.dir, 'ref.jsonl');
      const refRun = await runCli(['check', '--offline', input, '--out', ref], {
        env: { DEBUG: '1' },
      });
      assert.equal(refRun.code, 0, refRun.stderr);

      const out = join(t.dir, 'out.jsonl');
      const state = join(t.dir, 'run.state');
      const args = [
        'check',
        '--offline',
        input,
        '--out',
        out,
        '--state',
        state,
        '--checkpoint-interval',
        '5ms',
      ];
      const k1 = await killMidRun(args, state, 20_000);
      assert.equal(k1.exited, 'killed', 'the run finished before it could be killed');
      const k2 = await killMidRun(args, state, k1.killedAt + 20_000);
      const last = await runCli(args);
      assert.equal(last.code, 0, last.stderr);
      if (k2.exited === 'killed') assert.match(last.stderr, /^resumed; /m);
      assert.equal(readFileSync(out, 'utf8'), readFileSync(ref, 'utf8'));
    } finally {
      t.cleanup();
    }
  });

  describe('with network checks', () => {
    let dns: FakeDns;
    before(async () => {
      dns = await startFakeDns(numberedDomains);
    });
    after(() => dns.close());

    it('resumes after kill -9 without re-checking finished addresses', async () => {
      const t = tempDir();
      try {
        const input = join(t.dir, 'in.txt');
        const n = 3000;
        writeFileSync(
          input,
          `${Array.from({ length: n }, (_, i) => `u${i}@d${i}.test`).join('\n')}\n`,
        );
        const ref = join(t.dir, 'ref.jsonl');
        assert.equal(
          (await runCli(['check', input, '--out', ref, '--dns-server', dns.server])).code,
          0,
        );
        dns.queries.clear();

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
          '1000/s',
          '--concurrency',
          '8',
          '--checkpoint-interval',
          '10ms',
        ];
        const k = await killMidRun(args, state, 600);
        assert.equal(k.exited, 'killed');
        const r = await runCli(args);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(readFileSync(out, 'utf8'), readFileSync(ref, 'utf8'));
        let twice = 0;
        for (const [key, count] of dns.queries) if (key.startsWith('MX ') && count > 1) twice++;
        // Only lookups in flight at the moment of the kill (at most --concurrency) may be repeated.
        assert.ok(twice <= 8, `${twice} domains were looked up twice`);
      } finally {
        t.cleanup();
      }
    });
  });
});
