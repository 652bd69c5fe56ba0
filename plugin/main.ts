import { flush } from '@oclif/core/flush';
import { run } from '@oclif/core/run';
import { reportFatal } from './lib/errors-render.ts';

/** Entry point used by `bin/run.js`: runs oclif and turns any escaped error into a clean exit. */
export async function main(argv: string[], options: { root: string; argv0: string }): Promise<void> {
  try {
    // `kubectl email-validate help [COMMAND…]` is `COMMAND… --help` (oclif's help plugin is not bundled).
    if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
    await run(argv, { root: options.root });
    await flush();
  } catch (err) {
    process.exitCode = reportFatal(err, process.stderr);
  }
}
