/**
 * Runs `check` in a worker thread. Why: at hundreds of thousands of
 * addresses a second V8 grows the young generation of the main isolate to
 * 128 MB and more, although almost nothing survives; a worker's young
 * generation can be capped (resourceLimits), which keeps the resident memory
 * of a million-address run near 200 MB. Standard input is piped into the
 * worker by the main thread; results go straight to the output descriptor.
 */
import { getAsset, isSea } from 'node:sea';
import { Worker } from 'node:worker_threads';
import { EmailValidateError, evError, type ErrorCode } from '../../../src/errors.ts';
import type { CheckOptions, CheckSummary } from './run-check-command.ts';
import { emptyCounts } from '../../../src/check/engine.ts';

/**
 * The worker's bundle inside the single executable (plugin/build-sea.ts embeds it;
 * a SEA has no worker-entry.js beside it): started as an ES module from a data: URL.
 * The sink's parse worker does the same (sink/parse-worker.ts).
 */
export const SEA_CHECK_WORKER_ASSET = 'workers/check-worker.mjs';

/** Young generation of the worker, in MB: enough for batches in flight, small enough to keep RSS flat. */
export const WORKER_YOUNG_GENERATION_MB = 16;

export function runCheckInWorker(
  options: CheckOptions,
  signal: AbortSignal,
): Promise<CheckSummary> {
  const entry = new URL(
    import.meta.url.endsWith('.ts') ? './worker-entry.ts' : './worker-entry.js',
    import.meta.url,
  );
  const readsStdin = options.paths.length === 0 || options.paths.includes('-');
  const source = isSea()
    ? new URL(
        `data:text/javascript;base64,${Buffer.from(getAsset(SEA_CHECK_WORKER_ASSET)).toString('base64')}`,
      )
    : entry;
  const worker = new Worker(source, {
    workerData: options,
    stdin: readsStdin,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
  if (readsStdin && worker.stdin) process.stdin.pipe(worker.stdin);
  const onAbort = (): void => worker.postMessage({ type: 'abort' });
  signal.addEventListener('abort', onAbort, { once: true });
  return new Promise<CheckSummary>((resolve, reject) => {
    let settled = false;
    worker.on(
      'message',
      (m: {
        type: string;
        summary?: CheckSummary;
        error?: {
          ev: boolean;
          code?: ErrorCode;
          message: string;
          hint?: string;
          details?: Record<string, unknown>;
          stack?: string;
        };
      }) => {
        if (m.type === 'done') {
          settled = true;
          resolve(m.summary!);
          void worker.terminate();
        } else if (m.type === 'epipe') {
          settled = true;
          resolve({
            counts: emptyCounts(),
            elapsedMs: 0,
            resumed: false,
            exitCode: 0,
            quiet: true,
          });
          void worker.terminate();
        } else if (m.type === 'error') {
          settled = true;
          void worker.terminate();
          const e = m.error!;
          if (e.ev && e.code)
            reject(
              new EmailValidateError(e.code, e.message, {
                ...(e.hint ? { hint: e.hint } : {}),
                ...(e.details ? { details: e.details } : {}),
              }),
            );
          else reject(Object.assign(new Error(e.message), { stack: e.stack }));
        }
      },
    );
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (readsStdin) process.stdin.unpipe();
      if (!settled)
        reject(
          evError('EV_ERR_INTERNAL', `the check worker exited with code ${code} before finishing`),
        );
    });
  });
}
