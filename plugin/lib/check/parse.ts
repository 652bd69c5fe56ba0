import { evError } from '../../../src/errors.ts';
import { parseRate } from '../../../src/check/provider-config.ts';

/** `50/s`, `3000/m`, `0.5/s` or a bare number per second. */
export function rateFlag(name: string, v: string): number {
  const r = parseRate(v);
  if (r === null) throw evError('EV_ERR_INVALID_OPTION', `--${name} "${v}" is not a rate`, { hint: `e.g. --${name} 50/s or --${name} 600/m` });
  return r;
}

/** `250ms`, `30s`, `5m`, `1h` or bare milliseconds. */
export function durationFlag(name: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) throw evError('EV_ERR_INVALID_OPTION', `--${name} "${v}" is not a duration`, { hint: `e.g. --${name} 30s or --${name} 500ms` });
  const n = Number(m[1]);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  return Math.round(n * mult);
}
