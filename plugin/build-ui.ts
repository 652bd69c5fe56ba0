/**
 * Builds the web inbox (sink/ui/web/, Preact) for the browser: one JS and one
 * CSS file with content-hashed names (served with a year-long immutable
 * cache), and an index.html that loads them (no inline script or style, so
 * the page's CSP can forbid both). Everything goes into dist/ui/assets.json,
 * which the sink bundle inlines (see sink/ui/assets.ts); the files are also
 * written beside it for inspection.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The budget for the inbox, gzipped (HTML + JS + CSS). */
export const UI_GZIP_BUDGET_BYTES = 80 * 1024;

export interface UiBuild {
  assets: Record<string, string>;
  gzipBytes: number;
}

function indexHtml(js: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>email sink inbox</title>
<link rel="stylesheet" href="ui/${css}">
<script type="module" src="ui/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The inbox needs JavaScript; the API is under /api/.</noscript>
</body>
</html>
`;
}

export async function buildUi(root: string): Promise<UiBuild> {
  const outdir = join(root, 'dist', 'ui');
  const result = await build({
    entryPoints: { app: join(root, 'sink', 'ui', 'web', 'main.tsx') },
    outdir,
    entryNames: '[name]-[hash]',
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const assets: Record<string, string> = {};
  let js = '';
  let css = '';
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    assets[name] = file.text;
    if (name.endsWith('.js')) js = name;
    if (name.endsWith('.css')) css = name;
  }
  if (!js || !css) throw new Error('the inbox build produced no JS or no CSS file');
  assets['index.html'] = indexHtml(js, css);
  mkdirSync(outdir, { recursive: true });
  for (const [name, text] of Object.entries(assets)) writeFileSync(join(outdir, name), text);
  writeFileSync(join(outdir, 'assets.json'), JSON.stringify(assets));
  const gzipBytes = Object.values(assets).reduce(
    (n, text) => n + gzipSync(text, { level: 9 }).length,
    0,
  );
  if (gzipBytes > UI_GZIP_BUDGET_BYTES)
    throw new Error(
      `the inbox is ${gzipBytes} bytes gzipped, over its budget of ${UI_GZIP_BUDGET_BYTES}`,
    );
  return { assets, gzipBytes };
}
