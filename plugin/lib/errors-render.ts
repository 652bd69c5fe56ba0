import { ERROR_CODES, EXIT, isEmailValidateError } from '../../src/errors.ts';
import { errorCode } from '../../src/guards.ts';

interface Writable {
  write(chunk: string): unknown;
}

/** oclif's own errors carry an exit code in `oclif.exit`; parse errors are user mistakes. */
function oclifExit(err: unknown): number | undefined {
  const exit = (err as { oclif?: { exit?: unknown } } | null)?.oclif?.exit;
  return typeof exit === 'number' ? exit : undefined;
}

/** oclif's parse errors span lines ("Parsing --count\n\tExpected an integer…\nSee more help…"): fold them into one. */
function oneLine(message: string): string {
  return message
    .replace(/^Error: /, '')
    .replace(/\n?See more help with --help\s*$/, '')
    .replace(/^The following errors? occurred:\s*/, '')
    .replace(/^Missing required flag (\w[\w-]*)/gm, 'Missing required flag --$1')
    .split('\n')
    .map((line) => line.trim().replace(/\s{2,}/g, ' '))
    .filter(Boolean)
    .join(': ')
    .replace(/:: /g, ': ');
}

/**
 * Prints an error the way a user should see it (one line, then a hint) and
 * returns the exit code (an `EXIT` code, or the one oclif asked for). Stack
 * traces only with DEBUG set: a user mistake is never a crash.
 */
export function reportFatal(
  err: unknown,
  stderr: Writable,
  debug = Boolean(process.env.DEBUG),
  hint?: string,
): number {
  if (isEmailValidateError(err)) {
    stderr.write(`error: ${err.message} [${err.code}]\n`);
    if (err.hint) stderr.write(`hint: ${err.hint}\n`);
    if (debug && err.stack) stderr.write(`${err.stack}\n`);
    return ERROR_CODES[err.code].exit;
  }
  const exit = oclifExit(err);
  if (exit !== undefined) {
    // ExitError from this.exit(n) has nothing to print.
    if (errorCode(err) === 'EEXIT') return exit;
    const message = err instanceof Error ? err.message : String(err);
    stderr.write(`error: ${oneLine(message)}\n`);
    stderr.write(`hint: ${hint ?? 'see --help for usage and examples.'}\n`);
    return exit === 1 || exit === 2 ? EXIT.USAGE : exit;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`error: unexpected failure: ${message} [EV_ERR_INTERNAL]\n`);
  stderr.write('hint: this is a bug; run again with DEBUG=1 and report the output.\n');
  if (debug && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return EXIT.ENVIRONMENT;
}
