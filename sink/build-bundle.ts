/**
 * Bundles the sink into one ESM file (dist/sink/sink.bundle.mjs) with esbuild.
 * This is the file that `up` ships in a ConfigMap and the cluster runs on the
 * stock Node.js image, and the one the fake API server's kubelet runs in tests.
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'sink', 'main.ts');
const outfile = join(root, 'dist', 'sink', 'sink.bundle.mjs');

if (!existsSync(entry)) {
  process.stderr.write('sink/main.ts not present yet; skipping the sink bundle\n');
} else {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
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
}
