/**
 * CLI start-up: `kubectl-email_validate --help` against a bare `node -e 0`,
 * measured in the same run, interleaved. Prints medians; asserts nothing.
 * Targets (docs/performance.md): median <= 250 ms and <= 4x the bare Node start.
 *
 *   npm run build && node test/bench/cli.bench.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.argv[2] ?? 21);
const runJs = fileURLToPath(new URL('../../plugin/bin/run.js', import.meta.url));
const bin = mkdtempSync(join(tmpdir(), 'ev-bench-'));
symlinkSync(runJs, join(bin, 'kubectl-email_validate'));
// The pinned Node first on PATH: what a user with a current Node gets.
const pinnedPath = `${bin}${delimiter}${join(process.execPath, '..')}${delimiter}${process.env.PATH ?? ''}`;
// The machine's PATH node (20 here): the launcher re-runs under the pinned Node.
const systemPath = `${bin}${delimiter}${process.env.PATH ?? ''}`;

function time(cmd: string, args: string[], env: Record<string, string | undefined>): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const cases = {
  'node -e 0 (pinned Node, baseline)': () =>
    time(process.execPath, ['-e', '0'], { PATH: pinnedPath }),
  'kubectl-email_validate --help (Node 24 on PATH)': () =>
    time('kubectl-email_validate', ['--help'], { PATH: pinnedPath, HOME: bin }),
  'kubectl-email_validate up --help (Node 24 on PATH)': () =>
    time('kubectl-email_validate', ['up', '--help'], { PATH: pinnedPath, HOME: bin }),
  'kubectl-email_validate --help (old PATH node, re-exec)': () =>
    time('kubectl-email_validate', ['--help'], { PATH: systemPath, HOME: bin }),
};
const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(cases).map((k) => [k, []]),
);
for (const fn of Object.values(cases)) fn(); // warm the file cache
for (let i = 0; i < RUNS; i++)
  for (const [name, fn] of Object.entries(cases)) samples[name].push(fn());

const base = median(samples['node -e 0 (pinned Node, baseline)']);
process.stdout.write(`CLI start-up, ${RUNS} runs each (median, ratio to bare node)\n`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  process.stdout.write(
    `  ${name.padEnd(56)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(1)}x\n`,
  );
}
process.stdout.write('targets: --help median <= 250 ms and <= 4x node -e 0\n');
