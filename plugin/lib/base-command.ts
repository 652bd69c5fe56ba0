import { Command, Flags, type Interfaces } from '@oclif/core';
import { stringify as toYaml } from 'yaml';
import { reportFatal } from './errors-render.ts';
import { flagHint } from './suggest.ts';

export type OutputFormat = 'text' | 'json' | 'yaml';

/** `-o text|json|yaml`, shared by every command that prints data. */
export const outputFlag = Flags.option({
  char: 'o',
  description: 'Output format: human-readable text, or JSON / YAML for scripts.',
  options: ['text', 'json', 'yaml'] as const,
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

  /** Prints `data` in the chosen format; `text` renders with `toText`. */
  protected emit(format: OutputFormat, data: unknown, toText: () => string): void {
    if (format === 'json') process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else if (format === 'yaml') process.stdout.write(toYaml(data));
    else {
      const text = toText();
      if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  protected override async catch(err: Interfaces.CommandError): Promise<never> {
    // oclif's NonExistentFlagsError carries the unknown flags: suggest the closest real ones.
    const unknown = (err as { flags?: unknown }).flags;
    const hint = Array.isArray(unknown) ? flagHint(unknown as string[], this.ctor.flags as Record<string, { char?: string; aliases?: string[]; hidden?: boolean }>) : null;
    const code = reportFatal(err, process.stderr, undefined, hint ?? undefined);
    return this.exit(code);
  }
}
