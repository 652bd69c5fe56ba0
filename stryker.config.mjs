// Mutation testing (StrykerJS) of the pure core (src/) and the sink's logic (sink/ minus I/O glue).
// Not part of `npm test`. Run one folder at a time (see CONTRIBUTING.md, "Mutation testing"):
//
//   EV_MUTATE='src/match/**/*.ts' npm run mutate      (a folder; the I/O glue below stays out)
//   npm run mutate -- --mutate src/duration.ts         (files, taken as given)
//
// Test runner: @stryker-mutator/mocha-runner with per-test coverage, so each mutant runs only
// the tests that execute it. The runner cannot find mocha 12's `.cjs` CLI files on its own; the
// shim in test/support/stryker/mocha12-cli.cjs fixes the lookup (here and in the runner processes).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// The I/O glue left out of the scope and the glob matcher, shared with the scores script.
import { IO_GLUE, globTest } from './test/support/stryker/scope.ts';

const shim = fileURLToPath(new URL('./test/support/stryker/mocha12-cli.cjs', import.meta.url));
createRequire(import.meta.url)(shim);

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

const SOURCE_ROOTS = ['src', 'sink', 'plugin', 'checker', 'manifests', 'test'];
/** Relative import specifiers of one of our own TypeScript files (static, dynamic, `export … from`). */
const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"\n]+)['"]/g;

/**
 * Integration tests that run the sink in the test's own process (`startSink` on loopback, port
 * 0; no child process, no cluster), so per-test coverage sees which mutants they reach: the
 * MailHog and Mailpit drop-in tests with the real `mailhog` and `mailpit-api` clients, the
 * sink's API, limits, rules over SMTP, hostile input and the web inbox's routes; the check
 * engine against fake DNS, SMTP and provider servers; flows driven against a local sink. The other
 * integration tests run our code in child processes (the CLI, the sink's bundle in a pod of the
 * fake cluster), where no mutant is switched on: loading them would only slow the dry run.
 */
const IN_PROCESS_INTEGRATION = [
  'test/integration/compat/*.test.ts',
  'test/integration/sink/{api-lockout,api-real-sink,feed-smtp-resume,hostile-input,hostile,limits,rules-smtp}.test.ts',
  'test/integration/inbox/ui-routes.test.ts',
  'test/integration/check/{broken-services,dns,hostile-input,provider,smtp-probe}.test.ts',
  'test/integration/flow/flow-driver.test.ts',
].flatMap((glob) => {
  const braces = /\{([^}]+)\}/.exec(glob);
  return braces
    ? braces[1].split(',').map((alt) => globTest(glob.replace(braces[0], alt)))
    : [globTest(glob)];
});

/**
 * The test files (unit, and the in-process integration tests above) that import (directly or through other modules) a file in scope. A test
 * that reaches no mutated module cannot kill a mutant, but the mocha runner cannot hot-swap a
 * mutant whose code also runs when its module loads, so for each such mutant it restarts and
 * loads every spec file again: loading only the tests that matter makes each restart several
 * times cheaper. Equivalent for the score (per-test coverage picks the same tests).
 */
function unitTestsReaching(inScope) {
  const files = SOURCE_ROOTS.flatMap((root) =>
    readdirSync(root, { recursive: true })
      .map((f) => `${root}/${String(f).split(path.sep).join('/')}`)
      .filter((f) => f.endsWith('.ts') && !f.includes('node_modules/')),
  );
  const imports = new Map();
  for (const file of files) {
    const targets = [];
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
      targets.push(target.endsWith('.js') ? `${target.slice(0, -3)}.ts` : target);
    }
    imports.set(file, targets);
  }
  const reaches = new Map();
  const visit = (file, onPath) => {
    if (reaches.has(file)) return reaches.get(file);
    if (onPath.has(file)) return false;
    onPath.add(file);
    const hit = inScope(file) || (imports.get(file) ?? []).some((t) => visit(t, onPath));
    onPath.delete(file);
    reaches.set(file, hit);
    return hit;
  };
  return files.filter(
    (f) =>
      (f.startsWith('test/unit/') || IN_PROCESS_INTEGRATION.some((t) => t(f))) &&
      f.endsWith('.test.ts') &&
      !f.endsWith('tunnel-half-close.test.ts') &&
      visit(f, new Set()),
  );
}

const scopeTests = patterns.length > 0 ? patterns.map(globTest) : [];
const specs =
  scopeTests.length > 0
    ? unitTestsReaching((file) => scopeTests.some((t) => t(file)))
    : ['test/unit/**/*.test.ts'];
if (scopeTests.length > 0) {
  console.error(`mutate: ${specs.length} test files reach ${patterns.join(', ')}`);
}

/**
 * Hot-swap "hybrid" mutants too. A mutant whose code runs outside any test (when its module
 * loads, in a `before` hook, while mocha collects tests) as well as inside tests is planned
 * with a reload of the test environment; the mocha runner cannot reload, so Stryker restarts
 * the runner process for each such mutant and again for the next one: most of the run's time.
 * With `ignoreStatic` we already accept not seeing a mutant's load-time effect, so these run
 * like every other runtime mutant: active only inside the tests that cover it. This can only
 * lower the score (a kill that needed the load-time effect is missed), never raise it.
 * Patched from outside (Stryker 10.1's planner); without that method it warns and does nothing.
 */
async function hotSwapHybridMutants() {
  const core = path.dirname(
    createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json'),
  );
  const planner = pathToFileURL(path.join(core, 'dist/src/mutants/mutant-test-planner.js')).href;
  const { MutantTestPlanner } = await import(planner);
  const original = MutantTestPlanner?.prototype?.createMutantRunPlan;
  if (typeof original !== 'function') {
    console.error("mutate: Stryker's planner changed; hybrid mutants will restart the runner");
    return;
  }
  MutantTestPlanner.prototype.createMutantRunPlan = function (mutant, info) {
    const plan = original.call(this, mutant, info);
    if (process.env.EV_MUTATE_RELOAD !== '1' && info.testFilter?.length > 0) {
      plan.runOptions.reloadEnvironment = false;
    }
    return plan;
  };
}
await hotSwapHybridMutants();

/** One incremental file per scope: a run keeps only the results of the files it mutated. */
const scope =
  patterns
    .join('+')
    .replace(/\/\*\*\/\*\.ts/g, '')
    .replace(/\/\*\.ts/g, '-top')
    .replace(/\.ts/g, '')
    .replace(/[^A-Za-z0-9+-]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'all';

/**
 * The TypeScript checker's project: for a scope, only the files in it (and what they import),
 * so each mutant costs a check of its own file rather than of every module that imports it.
 * The price: a mutant that only breaks the types of a caller outside the scope is not rejected
 * as a compile error; it runs, and the tests decide (in practice such mutants are rare).
 * The ambient declarations (`*.d.ts`, which nothing imports) always come along.
 */
function checkerProject() {
  if (patterns.length === 0) return 'tsconfig.mutate.json';
  const file = 'tsconfig.mutate.scope.json';
  const project = {
    extends: './tsconfig.mutate.json',
    include: [...patterns, 'src/**/*.d.ts', 'sink/**/*.d.ts'],
    exclude: ['node_modules', 'dist', 'sink/ui'],
  };
  writeFileSync(file, `${JSON.stringify(project, null, 2)}\n`);
  return file;
}

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
    spec: specs,
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
  tsconfigFile: checkerProject(),
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
