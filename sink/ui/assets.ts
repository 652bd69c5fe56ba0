/**
 * The inbox's static files. `npm run build` bundles the browser code
 * (sink/ui/web/) into dist/ui/assets.json: `{ "index.html": text,
 * "app-<hash>.js": text, ... }`. The sink bundle carries that object inline
 * (esbuild `define` of `__EV_UI_ASSETS__`), so the cluster's sink needs no
 * file beside it; the sink run from dist/ or from the sources reads the file.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Replaced by the sink bundle's build with the assets object. */
declare const __EV_UI_ASSETS__: Record<string, string> | undefined;

export interface UiAsset {
  body: Buffer;
  contentType: string;
  /** True for content-hashed names, served with a year-long immutable cache. */
  immutable: boolean;
}

export interface UiAssets {
  index: Buffer;
  files: ReadonlyMap<string, UiAsset>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Builds the served form of an assets object (exported for tests). */
export function uiAssetsFrom(raw: Record<string, string>): UiAssets | null {
  const index = raw['index.html'];
  if (typeof index !== 'string') return null;
  const files = new Map<string, UiAsset>();
  for (const [name, text] of Object.entries(raw)) {
    if (name === 'index.html') continue;
    const ext = name.slice(name.lastIndexOf('.'));
    files.set(name, {
      body: Buffer.from(text, 'utf8'),
      contentType: TYPES[ext] ?? 'application/octet-stream',
      immutable: /-[A-Z0-9]{8,}\./i.test(name),
    });
  }
  return { index: Buffer.from(index, 'utf8'), files };
}

let cached: UiAssets | null | undefined;

/** The inbox's files, or null when the UI was not built (the sink then answers `/` with a hint). */
export function loadUiAssets(): UiAssets | null {
  if (cached !== undefined) return cached;
  if (typeof __EV_UI_ASSETS__ !== 'undefined') return (cached = uiAssetsFrom(__EV_UI_ASSETS__));
  const here = dirname(fileURLToPath(import.meta.url));
  // From the sources (sink/ui/) and from tsc's output (dist/sink/ui/).
  for (const candidate of [
    join(here, '..', '..', 'dist', 'ui', 'assets.json'),
    join(here, '..', '..', 'ui', 'assets.json'),
  ]) {
    try {
      return (cached = uiAssetsFrom(
        JSON.parse(readFileSync(candidate, 'utf8')) as Record<string, string>,
      ));
    } catch {
      // not built here; try the next place
    }
  }
  return (cached = null);
}
