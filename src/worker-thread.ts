/**
 * Worker threads that run a module of this package (`check`'s worker, the sink's
 * parse worker). From dist/ or the sources, the module's own file; in the single
 * executable, which has no files beside it, the module's bundle embedded as an
 * asset (plugin/build-sea.ts), started as an ES module from a data: URL.
 */
import { getAsset, isSea } from 'node:sea';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** SEA asset keys of the worker bundles. */
export const SEA_WORKER_ASSETS = {
  check: 'workers/check-worker.mjs',
  parse: 'workers/parse-worker.mjs',
} as const;

export function startWorker(
  file: URL,
  seaAsset: (typeof SEA_WORKER_ASSETS)[keyof typeof SEA_WORKER_ASSETS],
  options: WorkerOptions,
): Worker {
  if (!isSea()) return new Worker(file, options);
  const code = Buffer.from(getAsset(seaAsset)).toString('base64');
  return new Worker(new URL(`data:text/javascript;base64,${code}`), options);
}
