import { evError } from '../../../src/errors.ts';
import { parseDuration } from '../../../src/duration.ts';

/** Longest `--since` accepted (30 days): beyond that any sink has long forgotten the events. */
export const MAX_SINCE_MS = 30 * 86_400_000;

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
  return { kind: 'duration', ms: parseDuration(t, '--since', { max: MAX_SINCE_MS }) };
}
