/**
 * Worker-thread entry of `check`: runs the whole check (see worker.ts for
 * why a worker) and posts the summary or the error back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isEmailValidateError } from '../../../src/errors.ts';
import { runCheckCommand, type CheckOptions } from './run-check-command.ts';
import { systemClock } from '../../../src/system-clock.ts';
import { errorCode, errorMessage, errorStack } from '../../../src/guards.ts';

const ac = new AbortController();
parentPort!.on('message', (m: { type?: string }) => {
  if (m.type === 'abort') ac.abort(new Error('interrupted'));
});

try {
  const summary = await runCheckCommand(workerData as CheckOptions, {
    stdoutFd: 1,
    stderr: process.stderr,
    env: process.env,
    clock: systemClock,
    signal: ac.signal,
  });
  parentPort!.postMessage({ type: 'done', summary });
} catch (err) {
  // The reader of stdout went away (`check … | head`): stop quietly, like any Unix filter.
  if (errorCode(err) === 'EPIPE') parentPort!.postMessage({ type: 'epipe' });
  else if (isEmailValidateError(err))
    parentPort!.postMessage({ type: 'error', error: { ev: true, ...err.toJSON() } });
  else
    parentPort!.postMessage({
      type: 'error',
      error: {
        ev: false,
        message: errorMessage(err),
        stack: errorStack(err),
      },
    });
}
