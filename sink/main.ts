/**
 * The sink process (what the cluster runs, bundled into dist/sink/sink.bundle.mjs):
 * environment + argv -> config, start, print endpoints to stderr, JSON logs to
 * stdout; SIGTERM/SIGINT stop gracefully and exit 0.
 *
 * In the bundle this file is also the parse worker's entry (parse-worker.ts
 * re-enters the bundle in a worker thread), so it starts the sink only on the
 * main thread.
 */
import { isMainThread } from 'node:worker_threads';
import { isEmailValidateError } from '../src/errors.ts';
import { optionsFromArgv } from './argv.ts';
import { optionsFromEnv, resolveSinkConfig } from './config.ts';
import { describeEndpoints } from './endpoints.ts';
import { tuneHeapGrowth } from './heap-growth.ts';
import { createSink } from './sink.ts';
import { errorMessage, errorStack } from '../src/guards.ts';

async function main(): Promise<void> {
  tuneHeapGrowth();
  let sink;
  try {
    const config = resolveSinkConfig({
      ...optionsFromEnv(process.env),
      ...optionsFromArgv(process.argv.slice(2)),
    });
    sink = createSink(config);
    const ports = await sink.start();
    process.stderr.write(describeEndpoints(config, ports));
  } catch (err) {
    if (isEmailValidateError(err)) {
      process.stderr.write(
        `error ${err.code}: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`,
      );
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`error EV_ERR_INTERNAL: ${errorStack(err) ?? errorMessage(err)}\n`);
      process.exitCode = 3;
    }
    await sink?.stop().catch(() => undefined);
    return;
  }
  const running = sink;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    running.logger.info('signal received, shutting down', { signal });
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error('shutdown failed', { error: errorMessage(err) });
        process.exit(3);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

if (isMainThread) void main();
