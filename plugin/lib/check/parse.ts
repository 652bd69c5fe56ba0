import { evError } from '../../../src/errors.ts';
import { parseRate } from '../../../src/check/provider-config.ts';

/** `50/s`, `3000/m`, `0.5/s` or a bare number per second. */
export function rateFlag(name: string, v: string): number {
  const r = parseRate(v);
  if (r === null)
    throw evError('EV_ERR_INVALID_OPTION', `--${name} "${v}" is not a rate`, {
      hint: `e.g. --${name} 50/s or --${name} 600/m`,
    });
  return r;
}
