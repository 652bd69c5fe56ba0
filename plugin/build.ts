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
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { buildUi, UI_GZIP_BUDGET_BYTES, type UiBuild } from './build-ui.ts';

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
    minify: true,
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
};

const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : Object.keys(steps)) {
  const step = steps[name];
  if (!step) {
    process.stderr.write(`build: unknown step ${name} (steps: ${Object.keys(steps).join(', ')})\n`);
    process.exit(2);
  }
  process.stderr.write(`build: ${await step()}\n`);
}
