import { Command, Flags, type Interfaces } from '@oclif/core';
import { stringify as toYaml } from 'yaml';
import { reportFatal } from './errors-render.ts';
import { evError, isEmailValidateError } from '../../src/errors.ts';
import { flagHint } from './suggest.ts';
import { interrupts } from './interrupts.ts';

export type OutputFormat = 'text' | 'wide' | 'json' | 'yaml';

/** `-o text|json|yaml`, shared by every command that prints data. */
export const outputFlag = Flags.option({
  char: 'o',
  description: 'Output format: human-readable text, or JSON / YAML for scripts.',
  options: ['text', 'json', 'yaml'] as const,
  default: 'text',
  helpGroup: 'OUTPUT',
})();

/** `-o` of a command that prints a table: `wide` adds full ids and every column, nothing cut. */
export const tableOutputFlag = Flags.option({
  char: 'o',
  description:
    'Output format: a table fitted to the terminal, wide (full ids, every column, nothing cut), or JSON / YAML for scripts.',
  options: ['text', 'wide', 'json', 'yaml'] as const,
  default: 'text',
  helpGroup: 'OUTPUT',
})();

/**
 * Base of every command: data goes to stdout, status and progress to stderr,
 * and errors become one line plus a hint and a documented exit code.
 */
export abstract class BaseCommand extends Command {
  /** Status line to stderr (never mixed with data on stdout). */
  protected status(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  /** Prints `data` in the chosen format; `text` and `wide` render with `toText`. */
  protected emit(format: OutputFormat, data: unknown, toText: () => string): void {
    if (format === 'json') process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else if (format === 'yaml') process.stdout.write(toYaml(data));
    else {
      const text = toText();
      if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** Hints name only flags this command has: "run without a cluster" differs from command to command. */
  private ownHint(err: unknown): unknown {
    if (!isEmailValidateError(err) || err.code !== 'EV_ERR_KUBECONFIG_MISSING' || !err.hint)
      return err;
    const flags = this.ctor.flags ?? {};
    const ways = [
      flags.sink && '--sink URL',
      flags.local && '--local',
      flags.smtp && '--smtp HOST:PORT',
    ].filter(Boolean);
    const base = 'point --kubeconfig or KUBECONFIG at a kubeconfig file';
    return evError(err.code, err.message, {
      hint:
        ways.length > 0
          ? `${base}, or use ${ways.join(' / ')} to run without a cluster.`
          : `${base}.`,
      details: err.details,
      cause: err.cause,
    });
  }

  protected override async catch(err: Interfaces.CommandError): Promise<never> {
    // oclif's NonExistentFlagsError carries the unknown flags: suggest the closest real ones.
    const unknown = (err as { flags?: unknown }).flags;
    const hint = Array.isArray(unknown)
      ? flagHint(
          unknown as string[],
          this.ctor.flags as Record<
            string,
            { char?: string; aliases?: string[]; hidden?: boolean }
          >,
        )
      : null;
    const code = reportFatal(this.ownHint(err), process.stderr, undefined, hint ?? undefined);
    // A command that let the interrupt handler wait for it still owes the cleanups it registered.
    if (interrupts.exitCode !== null) {
      await interrupts.runCleanups();
      return this.exit(interrupts.exitCode);
    }
    return this.exit(code);
  }
}
