import { Config } from '@oclif/core/config';
import { flush } from '@oclif/core/flush';
import { run } from '@oclif/core/run';
import { EXIT } from '../src/errors.ts';
import { reportFatal } from './lib/errors-render.ts';
import { closestCommand } from './lib/suggest.ts';

/** `command mesages:list not found` (oclif's words, its ids use ':') → the words the user typed. */
const NOT_FOUND = /^command (\S+) not found$/;

/** An unknown command as the user typed it, with the closest real one; returns the exit code. */
function unknownCommand(id: string, config: Config): number {
  const typed = id.split(':');
  const commands = config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '));
  const guess = closestCommand(typed, commands);
  const topic = commands.filter((c) => c.startsWith(`${typed[0]} `));
  const hint =
    guess !== null
      ? `did you mean "${config.bin} ${guess}"?`
      : topic.length > 0
        ? `"${typed[0]}" has: ${topic.map((c) => c.split(' ').slice(1).join(' ')).join(', ')}`
        : `run "${config.bin} --help" for the commands`;
  process.stderr.write(`error: unknown command "${typed.join(' ')}"\nhint: ${hint}\n`);
  return EXIT.USAGE;
}

/** Entry point used by `bin/run.js`: runs oclif and turns any escaped error into a clean exit. */
export async function main(
  argv: string[],
  options: { root: string; argv0: string; loadConfig?: () => Promise<Config> },
): Promise<void> {
  let config: Config | undefined;
  try {
    // `kubectl email-validate help [COMMAND…]` is `COMMAND… --help` (oclif's help plugin is not bundled).
    if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
    config = await (options.loadConfig?.() ?? Config.load({ root: options.root }));
    await run(argv, config);
    await flush();
  } catch (err) {
    const m = err instanceof Error ? NOT_FOUND.exec(err.message) : null;
    process.exitCode =
      m && config ? unknownCommand(m[1], config) : reportFatal(err, process.stderr);
  }
}
