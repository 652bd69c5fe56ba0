/**
 * CLI start-up: `kubectl-email_validate --help` against a bare `node -e 0`, and the
 * single executable (SEA) against the script form, measured in the same run in
 * alternating rounds. Prints medians and ratios; asserts nothing.
 * Targets (docs/performance.md): the script form's --help <= 3x `node -e 0` of the
 * pinned Node (a re-exec from an older PATH node may add one Node start), the
 * SEA's --help <= 1.5x the script form's.
 *
 *   npm run bench:cli [-- runs]     (builds the SEA first: npm run build:sea)
 *   node test/bench/cli.bench.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEA_OUTPUT } from '../../plugin/build-sea.ts';

const RUNS = Number(process.argv[2] ?? 21);
const runJs = fileURLToPath(new URL('../../plugin/bin/run.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ev-bench-'));
// Script form: the launcher as kubectl finds it, `#!/usr/bin/env node` picking the PATH node.
const scriptBin = join(work, 'script');
// SEA form: the executable alone, no node on PATH at all.
const seaBin = join(work, 'sea');
for (const d of [scriptBin, seaBin]) mkdirSync(d);
symlinkSync(runJs, join(scriptBin, 'kubectl-email_validate'));
const haveSea = existsSync(SEA_OUTPUT);
if (haveSea) symlinkSync(SEA_OUTPUT, join(seaBin, 'kubectl-email_validate'));
// The pinned Node first on PATH: what a user with a current Node gets.
const pinnedPath = `${scriptBin}${delimiter}${join(process.execPath, '..')}${delimiter}${process.env.PATH ?? ''}`;
// The machine's PATH node (20 here): the launcher re-runs under the pinned Node.
const systemPath = `${scriptBin}${delimiter}${process.env.PATH ?? ''}`;

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
const BASE = 'node -e 0 (pinned Node, baseline)';
const SCRIPT = 'script --help (pinned Node on PATH)';
const SEA = 'SEA --help (no node on PATH)';
const cases: Record<string, () => number> = {
  [BASE]: () => time(process.execPath, ['-e', '0'], { PATH: pinnedPath }),
  [SCRIPT]: () => time('kubectl-email_validate', ['--help'], { PATH: pinnedPath, HOME: work }),
  ...(haveSea
    ? {
        [SEA]: () => time('kubectl-email_validate', ['--help'], { PATH: seaBin, HOME: work }),
      }
    : {}),
  'script up --help': () =>
    time('kubectl-email_validate', ['up', '--help'], { PATH: pinnedPath, HOME: work }),
  ...(haveSea
    ? {
        'SEA up --help': () =>
          time('kubectl-email_validate', ['up', '--help'], { PATH: seaBin, HOME: work }),
      }
    : {}),
  'script --help (old PATH node, re-exec)': () =>
    time('kubectl-email_validate', ['--help'], { PATH: systemPath, HOME: work }),
};
const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(cases).map((k) => [k, []]),
);
// Warm the file cache and Node's compile cache (the first run of a new build fills it).
for (const fn of Object.values(cases)) fn();
for (let i = 0; i < RUNS; i++)
  for (const [name, fn] of Object.entries(cases)) samples[name].push(fn());
rmSync(work, { recursive: true, force: true });

const base = median(samples[BASE]);
const script = median(samples[SCRIPT]);
const fastest = (name: string) => Math.min(...samples[name]);
process.stdout.write(
  `CLI start-up, ${RUNS} alternating rounds: median (x node -e 0, x script form); fastest run (x node -e 0)\n`,
);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  const vsScript = name.startsWith('SEA') ? `, ${(m / script).toFixed(2)}x script` : '';
  const f = fastest(name);
  process.stdout.write(
    `  ${name.padEnd(44)} ${m.toFixed(0).padStart(5)} ms (${(m / base).toFixed(1)}x node${vsScript})` +
      `  fastest ${f.toFixed(0).padStart(4)} ms (${(f / fastest(BASE)).toFixed(1)}x)\n`,
  );
}
// On a busy machine the medians of the longer runs suffer most from waiting for a core;
// the fastest runs show what the code costs when it gets one.
process.stdout.write(`  load average at the end: ${loadavg()[0].toFixed(1)}\n`);
if (!haveSea) process.stdout.write(`  (no SEA at ${SEA_OUTPUT}: npm run build:sea)\n`);
process.stdout.write(
  'targets: script --help <= 3x node -e 0 (re-exec: + one Node start); SEA --help <= 1.5x script\n',
);
