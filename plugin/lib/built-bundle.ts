/**
 * The esbuild bundles `npm run build` writes for shipping into pods (the sink,
 * the in-cluster checker), found from both the installed layout (this file in
 * dist/plugin/lib) and the source layout (plugin/lib, bundles in dist/), or
 * embedded as assets of the single executable (plugin/build-sea.ts), which has
 * no dist/ beside it.
 * No client-node import here: `manifests` stays light.
 */
import { existsSync, readFileSync } from 'node:fs';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { evError } from '../../src/errors.ts';

/** The sink's bundle, relative to dist/ (and its SEA asset key). */
export const SINK_BUNDLE_PATH = 'sink/sink.bundle.mjs';
/** The in-cluster checker's bundle, relative to dist/ (and its SEA asset key). */
export const CHECKER_BUNDLE_PATH = 'checker/checker.bundle.mjs';
/** Every bundle the single executable embeds. */
export const SHIPPED_BUNDLES = [SINK_BUNDLE_PATH, CHECKER_BUNDLE_PATH] as const;

/**
 * Reads `dist/<path>`. `what` names it in the error, `hint` says what else
 * works (e.g. an image) besides building.
 */
export function readBuiltBundle(path: string, what: string, hint?: string): Uint8Array {
  if (isSea()) return new Uint8Array(getAsset(path));
  const candidates = [
    new URL(`../../${path}`, import.meta.url), // dist/plugin/lib -> dist/
    new URL(`../../dist/${path}`, import.meta.url), // plugin/lib (sources) -> dist/
  ];
  for (const url of candidates) {
    const file = fileURLToPath(url);
    if (existsSync(file)) return readFileSync(file);
  }
  throw evError('EV_ERR_INTERNAL', `${what} (dist/${path}) is missing from this installation`, {
    hint: `run \`npm run build\` in the tool's folder${hint ? `, or ${hint}` : ''}.`,
  });
}
