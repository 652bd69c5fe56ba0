/** Locates the esbuild bundle of the sink that `up` ships in ConfigMaps (no client-node import here: `manifests` stays light). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { evError } from '../../../src/errors.ts';

/** The sink bundle built by `npm run build`, found from both dist/ and source layouts. */
export function readSinkBundle(): Uint8Array {
  const candidates = [
    new URL('../../../sink/sink.bundle.mjs', import.meta.url), // dist/plugin/lib/kube -> dist/sink
    new URL('../../../dist/sink/sink.bundle.mjs', import.meta.url), // plugin/lib/kube (sources) -> dist/sink
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return readFileSync(path);
  }
  throw evError('EV_ERR_INTERNAL', 'the sink bundle (dist/sink/sink.bundle.mjs) is missing from this installation', {
    hint: 'run `npm run build` in the tool\'s folder, or pass --image with a sink image built from sink/Dockerfile.',
  });
}

