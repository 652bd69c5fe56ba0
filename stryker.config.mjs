// Mutation testing (StrykerJS) of the pure core (src/) and the sink's logic (sink/ minus I/O glue).
// Not part of `npm test`. Run one folder at a time (see CONTRIBUTING.md, "Mutation testing"):
//
//   EV_MUTATE='src/match/**/*.ts' npm run mutate      (a folder; the I/O glue below stays out)
//   npm run mutate -- --mutate src/duration.ts         (files, taken as given)
//
// Test runner: @stryker-mutator/mocha-runner with per-test coverage, so each mutant runs only
// the tests that execute it. The runner cannot find mocha 12's `.cjs` CLI files on its own; the
// shim in test/support/stryker/mocha12-cli.cjs fixes the lookup (here and in the runner processes).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const shim = fileURLToPath(new URL('./test/support/stryker/mocha12-cli.cjs', import.meta.url));
createRequire(import.meta.url)(shim);

/** Modules that are I/O glue (servers, processes, sockets, the clock itself): mutating them is for the integration suite. */
const IO_GLUE = [
  'sink/ui/**',
  'sink/main.ts',
  'sink/index.ts',
  'sink/sink.ts',
  'sink/listen.ts',
  'sink/smtp-server.ts',
  'sink/smtp-front.ts',
  'sink/smtp-tls.ts',
  'sink/parse-worker.ts',
  'src/system-clock.ts',
  'sink/logger.ts',
  'sink/types.ts',
  'sink/http/api-server.ts',
  'src/clock.ts',
  // Talk to Redis (commands and Lua scripts): tested against a real redis-server by the
  // check --in-cluster integration tests, which run them in other processes (no mutant reaches them).
  'src/limits/redis-permits.ts',
  'src/check-cluster/redis-run.ts',
  'src/check-cluster/scripts.ts',
  'src/check-cluster/shared-dns.ts',
  'src/check-cluster/shared-catch-all.ts',
  '**/*.d.ts',
];

/** The scope: EV_MUTATE (comma-separated globs, the I/O glue still left out) or --mutate (taken as is), without line ranges. */
function mutateArg() {
  if (process.env.EV_MUTATE) return process.env.EV_MUTATE.split(',').map((p) => p.trim());
  const i = process.argv.indexOf('--mutate');
  const value =
    i >= 0
      ? process.argv[i + 1]
      : process.argv.find((a) => a.startsWith('--mutate='))?.slice('--mutate='.length);
  return value
    ? value
        .split(',')
        .map((p) => p.replace(/:\d.*$/, '').trim())
        .filter(Boolean)
    : [];
}

const patterns = mutateArg();
/** One incremental file per scope: a run keeps only the results of the files it mutated. */
const scope =
  patterns
    .join('+')
    .replace(/\/\*\*\/\*\.ts/g, '')
    .replace(/\/\*\.ts/g, '-top')
    .replace(/\.ts/g, '')
    .replace(/[^A-Za-z0-9+-]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'all';

export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  testRunnerNodeArgs: ['--require', shim],
  checkerNodeArgs: ['--require', shim],
  // Every unit test runs once (the dry run, which records which tests reach which mutant); each
  // mutant then runs only the tests that reached it, so modules tested through others count too.
  // Left out: the port-forward tunnel test drives plugin/ code (outside the scope, so it reaches no
  // mutant) through sockets, and under the runner's disabled mocha timeouts it failed the dry run
  // once on the loaded build machine.
  mochaOptions: {
    spec: ['test/unit/**/*.test.ts'],
    ignore: ['test/unit/**/tunnel-half-close.test.ts'],
    extension: ['ts'],
    'no-config': true,
  },
  coverageAnalysis: 'perTest',
  // Code that runs when a module loads (top-level constants, tables) cannot be re-run without a
  // new process per mutant, which costs a full test run each; those mutants are reported as
  // "ignored" and left out of the score (the counts are in CONTRIBUTING.md).
  ignoreStatic: true,
  checkers: ['typescript'],
  // The checker compiles only what can be mutated (and what it imports), not the tests: much faster.
  tsconfigFile: 'tsconfig.mutate.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    ...(process.env.EV_MUTATE ? patterns : ['src/**/*.ts', 'sink/**/*.ts']),
    ...IO_GLUE.map((p) => `!${p}`),
  ],
  // dist/ is copied: a few unit tests read the built sink bundle.
  ignorePatterns: ['coverage', 'reports', '.tmp', 'sink/ui/web/node_modules'],
  incremental: true,
  incrementalFile: `reports/stryker-incremental/${scope}.json`,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${scope}.html` },
  jsonReporter: { fileName: `reports/mutation/${scope}.json` },
  concurrency: 2,
  // Added to the covering tests' own time (times timeoutFactor) before a mutant counts as a timeout.
  timeoutMS: 3000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
