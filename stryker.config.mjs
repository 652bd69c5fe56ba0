// Mutation testing (StrykerJS) of the pure core (src/) and the sink's logic (sink/ minus I/O glue).
// Not part of `npm test`: run `npm run mutate` (the whole scope: hours on two cores) or
// `npm run mutate -- --mutate src/duration.ts` (one file or glob: minutes). See CONTRIBUTING.md,
// "Mutation testing".
//
// Test runner: Stryker's command runner with mocha, because @stryker-mutator/mocha-runner 10.1.1
// cannot load mocha 12.0.3 (it requires lib/cli/run-helpers and lib/cli/options.mjs; mocha 12 ships
// them as .cjs). Without per-test coverage every mutant runs the selected test files, so the files
// are chosen here: the unit tests that import a mutated module (by its path), else every unit test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** The --mutate argument, if one was given on the command line (plain paths, no globs or ranges). */
function mutateArg() {
  const i = process.argv.indexOf('--mutate');
  const value =
    i >= 0
      ? process.argv[i + 1]
      : process.argv.find((a) => a.startsWith('--mutate='))?.slice('--mutate='.length);
  return value
    ? value
        .split(',')
        .map((p) => p.replace(/:\d.*$/, '').trim())
        .filter((p) => p && !/[*?{}!]/.test(p))
    : [];
}

function specFor(files) {
  if (files.length === 0) return ['test/unit'];
  const wanted = files.map((f) => `/${f.replace(/^\.\//, '')}'`);
  const hits = unitTests().filter((t) => {
    const text = readFileSync(t, 'utf8');
    return wanted.some((w) => text.includes(w));
  });
  return hits.length > 0 ? hits : ['test/unit'];
}

const spec = specFor(mutateArg());

export default {
  packageManager: 'npm',
  testRunner: 'command',
  commandRunner: {
    command: `npx mocha --no-config --extension ts --recursive --timeout 60000 --reporter dot --bail ${spec.join(' ')}`,
  },
  coverageAnalysis: 'off',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['src/**/*.ts', 'sink/**/*.ts', ...IO_GLUE.map((p) => `!${p}`)],
  ignorePatterns: ['dist', 'coverage', 'reports', '.tmp', 'sink/ui/web/node_modules'],
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  concurrency: 2,
  timeoutMS: 20000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
