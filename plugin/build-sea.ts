/**
 * The single executable (Node.js SEA, https://nodejs.org/api/single-executable-applications.html):
 * `kubectl-email_validate` for linux-x64, a copy of the project's pinned Node.js
 * binary with the CLI injected, so a user without Node.js runs the plugin as is.
 *
 *   npm run build:sea       (after `npm run build`; writes dist/sea/kubectl-email_validate)
 *   node plugin/build-sea.ts [--out FILE]
 *
 * Steps: `node plugin/build.ts sea` bundles the runner into one CommonJS script
 * (dist/sea/sea.cjs; the pinned Node 24 runs only CommonJS as a SEA's main), makes
 * V8's code cache of the commands bundle and bundles the worker threads into ES
 * modules; `node --experimental-sea-config` turns the script, its code cache and the
 * assets (the commands bundle and its cache, the sink and checker bundles `up` and
 * `check --in-cluster` ship into pods, the worker bundles) into a blob; postject
 * injects the blob into the copy of the binary (Node 24 has no `--build-sea` yet).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'postject';
import { SHIPPED_BUNDLES } from './lib/built-bundle.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** SEA asset keys of the commands bundle (dist/cli/commands.cjs) and of V8's code cache for it (build.ts, step `sea`). */
export const SEA_COMMANDS_ASSET = 'cli/commands.cjs';
export const SEA_COMMANDS_CACHE_ASSET = 'cli/commands.cjs.cache';
/** Where build.ts writes that code cache, relative to the package root. */
export const SEA_COMMANDS_CACHE_FILE = 'dist/sea/commands.cjs.cache';

/** Where `npm run build:sea` writes the executable. */
export const SEA_OUTPUT = join(root, 'dist', 'sea', 'kubectl-email_validate');

/** The fuse Node.js looks for to know a blob was injected (documented with the SEA feature). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** LIEF's warning about an unnamed ELF note section (postject's injection prints it; harmless). */
const LIEF_NOTE_WARNING = /^warning: Can't find string offset for section name/;

/** The platforms a SEA is built for here: the binary is the machine's own Node.js. */
export const SEA_PLATFORMS = ['linux-x64'] as const;

/** The Node.js binary the executable is made of: the project's pinned one. */
export function seaNode(): string {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(pinned) ? pinned : process.execPath;
}

/** Why a SEA cannot be built with this machine's pinned Node, or null when it can. */
export function seaUnsupported(): string | null {
  const platform = `${process.platform}-${process.arch}`;
  if (!(SEA_PLATFORMS as readonly string[]).includes(platform))
    return `single executables are built for ${SEA_PLATFORMS.join(', ')} only (this is ${platform})`;
  const node = seaNode();
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const [major, minor] = version.slice(1).split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 19))
    return `${node} is ${version}; the CLI needs >= 22.19 (run npm install for the pinned Node)`;
  const help = execFileSync(node, ['--help'], { encoding: 'utf8', maxBuffer: 8 << 20 });
  if (!help.includes('--experimental-sea-config'))
    return `${node} (${version}) was built without single-executable support`;
  return null;
}

/** Builds the executable at `out`; returns its path. Expects `npm run build` to have run. */
export async function buildSea(out: string = SEA_OUTPUT): Promise<string> {
  const why = seaUnsupported();
  if (why) throw new Error(`build-sea: ${why}`);
  const node = seaNode();
  execFileSync(node, [join(root, 'plugin', 'build.ts'), 'sea'], { cwd: root, stdio: 'inherit' });
  const work = mkdtempSync(join(tmpdir(), 'ev-sea-'));
  try {
    const assets: Record<string, string> = {};
    for (const path of SHIPPED_BUNDLES) assets[path] = join(root, 'dist', path);
    assets[SEA_COMMANDS_ASSET] = join(root, 'dist', 'cli', 'commands.cjs');
    assets[SEA_COMMANDS_CACHE_ASSET] = join(root, SEA_COMMANDS_CACHE_FILE);
    // The worker bundles `build.ts sea` wrote (their keys are their paths under dist/sea/).
    for (const name of readdirSync(join(root, 'dist', 'sea', 'workers')))
      assets[`workers/${name}`] = join(root, 'dist', 'sea', 'workers', name);
    for (const [key, file] of Object.entries(assets))
      if (!existsSync(file))
        throw new Error(`build-sea: ${file} (asset ${key}) is missing: run npm run build`);
    const blob = join(work, 'sea.blob');
    const config = join(work, 'sea-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        main: join(root, 'dist', 'sea', 'sea.cjs'),
        output: blob,
        disableExperimentalSEAWarning: true,
        // V8's compiled code for the main script, stored in the blob: the start-up a script
        // gets from Node's compile cache. (Not useSnapshot: the CLI reads argv and env at load.)
        useCodeCache: true,
        assets,
      }),
    );
    execFileSync(node, ['--experimental-sea-config', config], { cwd: work, stdio: 'pipe' });
    mkdirSync(dirname(out), { recursive: true });
    rmSync(out, { force: true });
    copyFileSync(node, out);
    chmodSync(out, 0o755);
    // LIEF (inside postject) warns through console.warn about ELF note sections it
    // cannot name, a dozen lines on every build; harmless, so those lines are dropped.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (!(typeof args[0] === 'string' && LIEF_NOTE_WARNING.test(args[0]))) warn(...args);
    };
    try {
      await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
    } finally {
      console.warn = warn;
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]) : SEA_OUTPUT;
  const file = await buildSea(out);
  process.stderr.write(`build-sea: ${file}\n`);
}
