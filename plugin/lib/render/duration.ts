import { evError } from '../../../src/errors.ts';

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 });

/** Longest duration accepted (30 days): beyond that any sink has long forgotten the events. */
export const MAX_DURATION_MS = 30 * 86_400_000;

/**
 * Parses a Go-style duration such as `90s`, `5m`, `1h30m` or `250ms` into
 * milliseconds. `flag` names the option in the error.
 */
export function parseDuration(text: string, flag: string): number {
  const input = text.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(input)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  if (input === '' || matched !== input.length) {
    throw evError('EV_ERR_INVALID_OPTION', `${flag} "${text}" is not a duration`, {
      hint: `use a number with a unit, e.g. ${flag} 30s, 5m, 1h30m (units: ms, s, m, h, d)`,
    });
  }
  if (total > MAX_DURATION_MS) {
    throw evError('EV_ERR_INVALID_OPTION', `${flag} "${text}" is longer than 30 days`, { hint: `use a shorter ${flag}` });
  }
  return total;
}

/** Where `tail --since` starts: after a sequence number, or at events newer than a duration. */
export type SinceSpec = { kind: 'all' } | { kind: 'seq'; seq: number } | { kind: 'duration'; ms: number };

/** `--since 1200` is a seq (events after it); `--since 5m` a duration; absent means all retained. */
export function parseSince(text: string | undefined): SinceSpec {
  if (text === undefined) return { kind: 'all' };
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const seq = Number(t);
    if (!Number.isSafeInteger(seq)) throw evError('EV_ERR_INVALID_OPTION', `--since ${text} is too large`, { hint: 'use a seq printed by tail -o json' });
    return { kind: 'seq', seq };
  }
  return { kind: 'duration', ms: parseDuration(t, '--since') };
}

/** Short human duration for summaries: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
