/** The sink process's command-line flags: generated from the options table (same flags as `kubectl email-validate sink`). */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { evError } from '../src/errors.ts';
import { SINK_OPTIONS, optionsFromFlagValues } from './options.ts';
import type { RawFlagValues, SinkOptionSpec, TableOptions } from './options.ts';

const PARSE_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  Object.values(SINK_OPTIONS as Record<string, SinkOptionSpec>)
    .filter((spec) => spec.flag !== null)
    .map((spec) => [
      spec.flag!,
      spec.type === 'boolean'
        ? { type: 'boolean' }
        : { type: 'string', multiple: spec.type === 'users' },
    ]),
);

export function optionsFromArgv(argv: string[]): Partial<TableOptions> {
  let values: RawFlagValues;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: PARSE_OPTIONS }));
  } catch (err) {
    throw evError('EV_ERR_INVALID_OPTION', err instanceof Error ? err.message : String(err), {
      hint: 'See `kubectl email-validate sink --help`.',
    });
  }
  return optionsFromFlagValues(values);
}
