/**
 * Post-tsc build steps (run by `npm run build`; `node plugin/build.ts [step…]`
 * runs only the named steps):
 *
 * - `ui`: the web inbox (plugin/build-ui.ts) into dist/ui/assets.json; prints its gzipped size.
 * - `sink`: the sink as one ESM file (with the inbox's assets inline), dist/sink/sink.bundle.mjs: what `up` ships
 *   in ConfigMaps, the cluster runs on the stock Node.js image, and the fake API
 *   server's kubelet runs in tests.
 * - `check`: the shard program of `check --in-cluster` (checker/),
 *   dist/checker/checker.bundle.mjs, shipped the same way.
 * - `plugin`: for start-up time, (1) oclif.manifest.json, so oclif lists
 *   commands and prints `--help` without importing every command module (what
 *   `oclif manifest` does, without installing the oclif CLI package); (2)
 *   dist/plugin/lib/kube/adapter.js rebuilt as one bundle that includes
 *   @kubernetes/client-node (importing its ~1,000 files takes about 0.6 s, one
 *   bundled file about 0.2 s). Our own modules stay external, so they are the
 *   same instances as the rest of dist/.
 * - `cli`: the whole CLI (plugin/cli.ts: oclif, every command, their dependencies)
 *   as one CommonJS file, dist/cli/cli.cjs, with package.json's oclif section and
 *   the manifest embedded and one lazy loader per command: what plugin/bin/run.js
 *   and the single executable (plugin/build-sea.ts) run. Start-up: one file for
 *   Node's compile cache instead of ~180 modules resolved and read one by one.
 *   Runs after `plugin` (it embeds oclif.manifest.json).
 * - `sea` (not in the default steps; plugin/build-sea.ts runs it): the single
 *   executable's main script dist/sea/sea.cjs (runner and commands in one file) and
 *   the worker bundles it embeds, dist/sea/workers/*.mjs (src/worker-thread.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { buildUi, UI_GZIP_BUDGET_BYTES, type UiBuild } from './build-ui.ts';
import {
  SEA_COMMANDS_ASSET,
  SEA_COMMANDS_CACHE_ASSET,
  SEA_COMMANDS_CACHE_FILE,
} from './build-sea.ts';
import { SEA_CHECK_WORKER_ASSET } from './lib/check/worker.ts';
import { SEA_PARSE_WORKER_ASSET } from '../sink/parse-worker.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Some CommonJS dependencies call require() on Node built-ins; give each ESM bundle one. */
const REQUIRE_SHIM =
  "import { createRequire as __evCreateRequire } from 'node:module'; const require = __evCreateRequire(import.meta.url);";

async function bundle(entry: string, outfile: string, extra: BuildOptions = {}): Promise<void> {
  mkdirSync(dirname(join(root, outfile)), { recursive: true });
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(root, outfile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // EV_NO_MINIFY=1: readable names in `node --cpu-prof` profiles of the sink (docs/performance.md).
    minify: !process.env.EV_NO_MINIFY,
    legalComments: 'none',
    banner: { js: REQUIRE_SHIM },
    logLevel: 'warning',
    ...extra,
  });
}

async function writeOclifManifest(): Promise<number> {
  const { Config } = await import('@oclif/core');
  const config = await Config.load({ root, ignoreManifest: true });
  const plugin = config.getPluginsList().find((p) => p.root === root) ?? config.getPluginsList()[0];
  // `manifest` is set by Plugin.load() but is not part of the public Plugin interface.
  const manifest = (plugin as unknown as { manifest?: { commands: Record<string, unknown> } })
    .manifest;
  const count = manifest ? Object.keys(manifest.commands).length : 0;
  if (count === 0) throw new Error('no commands found in dist/plugin/commands (did tsc run?)');
  writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(manifest)}\n`);
  return count;
}

const kubeDir = join(root, 'plugin', 'lib', 'kube');

/** The CLI bundles, relative to the package root (see `cli` and `sea` above). */
const CLI_BUNDLE = 'dist/cli/cli.cjs';
const COMMANDS_BUNDLE = 'dist/cli/commands.cjs';
const SEA_BUNDLE = 'dist/sea/sea.cjs';

/**
 * `import.meta.url` has no meaning in a CommonJS bundle. Each module's own use of
 * it (workers started from a sibling file, bundles found next to the module)
 * gets the URL its tsc output has in dist/, computed from the bundle's place at
 * run time (both bundles sit one folder below dist/); the single executable finds
 * its bundles as assets instead (plugin/lib/built-bundle.ts).
 */
const IMPORT_META_BANNER =
  "var __evModuleUrl = (p) => require('node:url').pathToFileURL(require('node:path').join(__dirname, '..', p)).href;";

const importMetaUrl: Plugin = {
  name: 'import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const dist = relative(root, args.path).replace(/\.ts$/, '.js');
      return {
        contents: text.replaceAll('import.meta.url', `__evModuleUrl(${JSON.stringify(dist)})`),
        loader: args.path.endsWith('.ts') ? 'ts' : 'js',
      };
    });
  },
};

/**
 * Modules oclif requires when it loads but that the runner never calls (command
 * discovery by glob, core plugins by name pattern, the search for package.json: the
 * embedded plugin needs none; child_process for Windows' shell, perf_hooks for
 * OCLIF_PERF): in cli.cjs each is a stand-in that loads the real one on first use,
 * so `--help` does not evaluate them. oclif uses each as `x.fn(...)`.
 */
const LAZY_IN_RUNNER = [
  'tinyglobby',
  'minimatch',
  'lilconfig',
  'node:child_process',
  'node:perf_hooks',
];

/**
 * oclif asks wsl-utils whether it runs under WSL at every start; that package loads
 * child_process and PowerShell helpers for it. The runner answers with is-wsl (the
 * same test wsl-utils re-exports) and loads wsl-utils only for its PowerShell path.
 */
const wslUtilsLight: Plugin = {
  name: 'wsl-utils-light',
  setup(b) {
    b.onResolve({ filter: /^wsl-utils$/ }, (args) =>
      args.pluginData === 'real'
        ? undefined
        : { path: 'wsl-utils', namespace: 'wsl-light', pluginData: args.resolveDir },
    );
    b.onLoad({ filter: /.*/, namespace: 'wsl-light' }, (args) => ({
      contents: [
        `export { default as isWsl } from 'is-wsl';`,
        `export const powerShellPath = async (...a) => (await import('wsl-utils')).powerShellPath(...a);`,
      ].join('\n'),
      resolveDir: String(args.pluginData),
      pluginData: 'real',
      loader: 'js',
    }));
  },
};

/**
 * oclif's help passes every summary and description through ejs (for
 * `<%= config.bin %>`), compiling a template each time; text without a tag comes out
 * of ejs unchanged, so the runner hands it back without compiling.
 */
const ejsPlainText: Plugin = {
  name: 'ejs-plain-text',
  setup(b) {
    b.onResolve({ filter: /^ejs$/ }, (args) =>
      args.pluginData === 'real' ? undefined : { path: 'ejs', namespace: 'ejs-plain' },
    );
    b.onLoad({ filter: /.*/, namespace: 'ejs-plain' }, () => ({
      contents: [
        `const ejs = require('ejs');`,
        `module.exports = { ...ejs, render: (t, data, opts) => (typeof t === 'string' && !t.includes('<%') ? t : ejs.render(t, data, opts)) };`,
      ].join('\n'),
      resolveDir: root,
      pluginData: 'real',
      loader: 'js',
    }));
  },
};

const lazyRequire: Plugin = {
  name: 'lazy-require',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${LAZY_IN_RUNNER.join('|')})$`) }, (args) =>
      // Only oclif's own requires: wsl-utils' light stand-in and our code keep theirs.
      args.kind !== 'require-call' || args.pluginData === 'real'
        ? undefined
        : { path: args.path, namespace: 'lazy', pluginData: args.resolveDir },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      contents: [
        `let real;`,
        `const load = () => (real ??= require(${JSON.stringify(args.path)}));`,
        `module.exports = new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load() });`,
      ].join('\n'),
      resolveDir: String(args.pluginData),
      pluginData: 'real',
      loader: 'js',
    }));
  },
};

function cjsOptions(uiAssets: Record<string, string>): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    // EV_NO_MINIFY=1: readable names in `node --cpu-prof` profiles of the start-up.
    minify: !process.env.EV_NO_MINIFY,
    keepNames: true,
    legalComments: 'none',
    charset: 'ascii',
    // oclif's ts-node support requires typescript only for .ts plugins, which this CLI never loads.
    external: ['typescript'],
    define: { __EV_UI_ASSETS__: JSON.stringify(uiAssets) },
    banner: { js: IMPORT_META_BANNER },
    logLevel: 'warning',
  };
}

function readJsonObject(file: string): Record<string, unknown> {
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${file}: not a JSON object`);
  return Object.fromEntries(Object.entries(value));
}

/** package.json's fields oclif reads, and the manifest `plugin` wrote. */
function embeddedData(): { pjson: string; manifest: string; ids: string[] } {
  const pkg = readJsonObject(join(root, 'package.json'));
  const pjson = Object.fromEntries(
    ['name', 'version', 'description', 'license', 'type', 'engines', 'oclif'].map((k) => [
      k,
      pkg[k],
    ]),
  );
  const manifest = readJsonObject(join(root, 'oclif.manifest.json'));
  const { commands } = manifest;
  if (typeof commands !== 'object' || commands === null)
    throw new Error('oclif.manifest.json has no commands (run the `plugin` step first)');
  // In the order oclif's own plugin sorts them at every start (localeCompare: its first
  // call sets up ICU collation, ~10 ms); plugin/cli.ts keeps this order.
  const sorted = Object.fromEntries(
    Object.entries(commands).sort(([a], [b]) => a.localeCompare(b)),
  );
  return {
    pjson: JSON.stringify(pjson),
    manifest: JSON.stringify({ ...manifest, commands: sorted }),
    ids: Object.keys(sorted),
  };
}

/** `id: () => import(file)` for every command: each module is evaluated only when its command runs. */
function commandLoaders(ids: string[]): string {
  const loaders = ids.map((id) => {
    const file = join(root, 'plugin', 'commands', ...id.split(':')) + '.ts';
    if (!existsSync(file)) throw new Error(`command ${id}: ${file} is missing`);
    return `${JSON.stringify(id)}: () => import(${JSON.stringify(file)})`;
  });
  return `{ ${loaders.join(', ')} }`;
}

/** Our modules plugin/cli.ts reaches (main.ts, the error catalog…): the commands bundle shares them. */
async function runnerModules(): Promise<string[]> {
  const r = await build({
    entryPoints: [join(root, 'plugin', 'cli.ts')],
    bundle: true,
    platform: 'node',
    packages: 'external',
    absWorkingDir: root,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(r.metafile.inputs).map((f) => join(root, f));
}

/**
 * The script form, two files: cli.cjs holds oclif and the runner (all `--help`
 * needs); commands.cjs holds the commands and their dependencies, read at the first
 * command run. The commands use cli.cjs's instances of oclif and of the modules
 * both reach (one Command class, one error catalog), never copies of their own.
 */
async function bundleCli(uiAssets: Record<string, string>): Promise<void> {
  const { pjson, manifest, ids } = embeddedData();
  const shared = await runnerModules();
  const key = (f: string) => (f === '@oclif/core' ? f : relative(root, f));
  const runner = [
    ...shared.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`),
    `import { runCli } from ${JSON.stringify(join(root, 'plugin', 'cli.ts'))};`,
    // All of oclif only when a command runs: `--help` needs its config, help and run modules alone.
    `export const shared = { get '@oclif/core'() { return require('@oclif/core'); }, ${shared.map((f, i) => `${JSON.stringify(key(f))}: m${i}`).join(', ')} };`,
    `const load = (id) => () => require('./commands.cjs').commands[id]();`,
    `export const embedded = { pjson: ${pjson}, manifest: ${manifest}, commands: Object.fromEntries(${JSON.stringify(ids)}.map((id) => [id, load(id)])) };`,
    `export { runCli };`,
  ].join('\n');
  await build({
    ...cjsOptions(uiAssets),
    stdin: { contents: runner, resolveDir: root, sourcefile: 'cli-entry.ts', loader: 'ts' },
    // No sink code here, so no inbox: esbuild would otherwise build that object at load.
    define: {},
    outfile: join(root, CLI_BUNDLE),
    external: ['typescript', './commands.cjs'],
    plugins: [lazyRequire, ejsPlainText, wslUtilsLight, importMetaUrl],
  });
  const shareFromRunner: Plugin = {
    name: 'share-from-runner',
    setup(b) {
      b.onResolve({ filter: /^@oclif\/core$/ }, () => ({
        path: '@oclif/core',
        namespace: 'shared',
      }));
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = join(args.resolveDir, args.path);
        return shared.includes(file) ? { path: file, namespace: 'shared' } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'shared' }, (args) => {
        return {
          contents: `module.exports = require('./cli.cjs').shared[${JSON.stringify(key(args.path))}];`,
          loader: 'js',
        };
      });
    },
  };
  await build({
    ...cjsOptions(uiAssets),
    stdin: {
      contents: `export const commands = ${commandLoaders(ids)};`,
      resolveDir: root,
      sourcefile: 'commands-entry.ts',
      loader: 'ts',
    },
    outfile: join(root, COMMANDS_BUNDLE),
    external: ['typescript', './cli.cjs'],
    plugins: [shareFromRunner, importMetaUrl],
  });
}

/** How the single executable evaluates commands.cjs (an asset): as CommonJS, the same text its code cache was made from. */
const SEA_COMMANDS_WRAPPER = [
  '(function (exports, require, module, __filename, __dirname) {',
  '\n})',
];

/**
 * The single executable's main script: the runner as in the script form (a SEA runs
 * one CommonJS script and cannot require files), started when it runs as a SEA. The
 * commands bundle is the script form's commands.cjs, embedded as an asset with a V8
 * code cache made here (by the same Node binary the SEA is made of) and compiled on
 * the first command run; `--help` never reads it. plugin/build-sea.ts makes the
 * executable from these files.
 */
async function bundleSea(): Promise<void> {
  const { pjson, manifest, ids } = embeddedData();
  const shared = await runnerModules();
  const key = (f: string) => (f === '@oclif/core' ? f : relative(root, f));
  const entry = [
    `import { getAsset, isSea } from 'node:sea';`,
    `import { Script } from 'node:vm';`,
    `import { dirname } from 'node:path';`,
    ...shared.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`),
    `import { runCli } from ${JSON.stringify(join(root, 'plugin', 'cli.ts'))};`,
    `const shared = { get '@oclif/core'() { return require('@oclif/core'); }, ${shared.map((f, i) => `${JSON.stringify(key(f))}: m${i}`).join(', ')} };`,
    `let commands;`,
    `const requireCommands = () => {`,
    `  if (commands) return commands;`,
    `  const text = ${JSON.stringify(SEA_COMMANDS_WRAPPER[0])} + getAsset(${JSON.stringify(SEA_COMMANDS_ASSET)}, 'utf8') + ${JSON.stringify(SEA_COMMANDS_WRAPPER[1])};`,
    `  const cachedData = new Uint8Array(getAsset(${JSON.stringify(SEA_COMMANDS_CACHE_ASSET)}));`,
    `  const fn = new Script(text, { filename: 'commands.cjs', cachedData }).runInThisContext();`,
    `  const m = { exports: {} };`,
    // commands.cjs asks './cli.cjs' for the runner's shared modules, and Node for built-ins.
    `  fn.call(m.exports, m.exports, (id) => (id === './cli.cjs' ? { shared } : require(id)), m, process.execPath, dirname(process.execPath));`,
    `  return (commands = m.exports);`,
    `};`,
    `const load = (id) => () => requireCommands().commands[id]();`,
    `const embedded = { pjson: ${pjson}, manifest: ${manifest}, commands: Object.fromEntries(${JSON.stringify(ids)}.map((id) => [id, load(id)])) };`,
    // argv is [exe, exe, ...words]; root is only a place for oclif, nothing is read from it.
    `if (isSea()) void runCli(embedded, process.argv.slice(2), { root: dirname(process.execPath), argv0: process.execPath });`,
  ].join('\n');
  await build({
    ...cjsOptions({}),
    stdin: { contents: entry, resolveDir: root, sourcefile: 'sea-entry.ts', loader: 'ts' },
    define: {},
    outfile: join(root, SEA_BUNDLE),
    plugins: [lazyRequire, ejsPlainText, wslUtilsLight, importMetaUrl],
  });
  // V8's code cache of the commands bundle, for this Node binary (a stale one is rejected, then compiled).
  const commandsText = readFileSync(join(root, COMMANDS_BUNDLE), 'utf8');
  const cache = new Script(SEA_COMMANDS_WRAPPER[0] + commandsText + SEA_COMMANDS_WRAPPER[1], {
    filename: 'commands.cjs',
  }).createCachedData();
  writeFileSync(join(root, SEA_COMMANDS_CACHE_FILE), cache);
  // Worker threads start from a data: URL there (no file to be relative to): require() from the executable's place.
  const banner = {
    js: "import { createRequire as __evCreateRequire } from 'node:module'; const require = __evCreateRequire(process.execPath);",
  };
  rmSync(join(root, 'dist', 'sea', 'workers'), { recursive: true, force: true });
  for (const [entry, out] of Object.entries(SEA_WORKERS))
    await bundle(entry, `dist/sea/${out}`, { banner });
}

/** The worker modules the single executable embeds, by source → asset key (also its path under dist/sea/). */
const SEA_WORKERS: Record<string, string> = {
  'plugin/lib/check/worker-entry.ts': SEA_CHECK_WORKER_ASSET,
  'sink/parse-worker.ts': SEA_PARSE_WORKER_ASSET,
};

let ui: UiBuild | undefined;
const steps: Record<string, () => Promise<string>> = {
  ui: async () => {
    ui = await buildUi(root);
    return `inbox UI: ${(ui.gzipBytes / 1024).toFixed(1)} KiB gzipped (budget ${UI_GZIP_BUDGET_BYTES / 1024} KiB)`;
  },
  sink: async () => {
    ui ??= await buildUi(root);
    await bundle('sink/main.ts', 'dist/sink/sink.bundle.mjs', {
      define: { __EV_UI_ASSETS__: JSON.stringify(ui.assets) },
    });
    return 'sink bundle (inbox inline)';
  },
  check: async () => {
    await bundle('checker/main.ts', 'dist/checker/checker.bundle.mjs');
    return 'checker bundle';
  },
  plugin: async () => {
    const commands = await writeOclifManifest();
    await bundle('plugin/lib/kube/adapter.ts', 'dist/plugin/lib/kube/adapter.js', {
      plugins: [
        {
          name: 'own-modules-external',
          setup(b) {
            // Our shared modules (src/, plugin/lib/ outside kube/) resolve to the tsc output next
            // to the bundle; the kube adapter's own helpers and client-node are bundled.
            b.onResolve({ filter: /^\.\.?\// }, (args) => {
              if (args.importer.includes('node_modules')) return undefined;
              if (join(args.resolveDir, args.path).startsWith(kubeDir)) return undefined;
              return { path: args.path.replace(/\.ts$/, '.js'), external: true };
            });
          },
        },
      ],
    });
    return `oclif manifest (${commands} commands), kube adapter bundle`;
  },
  cli: async () => {
    ui ??= await buildUi(root);
    await bundleCli(ui.assets);
    return `CLI bundles (${CLI_BUNDLE}, ${COMMANDS_BUNDLE})`;
  },
  sea: async () => {
    if (!existsSync(join(root, COMMANDS_BUNDLE))) await steps.cli();
    await bundleSea();
    return `single-executable script (${SEA_BUNDLE})`;
  },
};
/** Steps `npm run build` runs; `sea` only on request (plugin/build-sea.ts). */
const DEFAULT_STEPS = ['ui', 'sink', 'check', 'plugin', 'cli'];

const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : DEFAULT_STEPS) {
  const step = steps[name];
  if (!step) {
    process.stderr.write(`build: unknown step ${name} (steps: ${Object.keys(steps).join(', ')})\n`);
    process.exit(2);
  }
  process.stderr.write(`build: ${await step()}\n`);
}
