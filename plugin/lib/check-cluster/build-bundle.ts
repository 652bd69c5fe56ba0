/**
 * Bundles the coordinator + shard program of `check --in-cluster` into one
 * ESM file (dist/check-cluster/check.bundle.mjs): what the CLI ships in
 * ConfigMaps and the cluster (or the fake API server's kubelet) runs.
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const outfile = join(root, 'dist', 'check-cluster', 'check.bundle.mjs');
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(root, 'plugin', 'lib', 'check-cluster', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  legalComments: 'none',
  // Some CommonJS dependencies call require() on Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __evCreateRequire } from 'node:module'; const require = __evCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
