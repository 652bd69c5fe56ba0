// Mutation testing (StrykerJS) of the pure core (src/) and the sink's logic (sink/ minus I/O glue).
// Not part of `npm test`. Run one folder at a time (see CONTRIBUTING.md, "Mutation testing"):
//
//   npm run mutate -- --mutate 'src/match/**/*.ts'
//   npm run mutate -- --mutate src/duration.ts
//
// Test runner: @stryker-mutator/mocha-runner with per-test coverage, so each mutant runs only
// the tests that execute it. The runner cannot find mocha 12's `.cjs` CLI files on its own; the
// shim in test/support/stryker/mocha12-cli.cjs fixes the lookup (here and in the runner processes).
import { globSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
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
  'sink/system-clock.ts',
  'sink/logger.ts',
  'sink/types.ts',
  'sink/http/api-server.ts',
  'src/clock.ts',
  '**/*.d.ts',
];

function unitTests(dir = 'test/unit') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? unitTests(join(dir, e.name))
      : e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

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

/**
 * The unit tests that import a mutated module (found by its path in the test's text); every unit
 * test when nothing was named. Tests that reach a module only through another one are not picked:
 * name both, or run without --mutate.
 */
function specFor(patterns) {
  const files = patterns.flatMap((p) => globSync(p)).filter((f) => f.endsWith('.ts'));
  if (files.length === 0) return ['test/unit/**/*.test.ts'];
  const wanted = files.map((f) => `/${f.replace(/^\.\//, '')}'`);
  const hits = unitTests().filter((t) => {
    const text = readFileSync(t, 'utf8');
    return wanted.some((w) => text.includes(w));
  });
  return hits.length > 0 ? hits : ['test/unit/**/*.test.ts'];
}

const patterns = mutateArg();
const spec = specFor(patterns);
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
  mochaOptions: { spec, extension: ['ts'], 'no-config': true },
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
  ignorePatterns: ['dist', 'coverage', 'reports', '.tmp', 'sink/ui/web/node_modules'],
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
