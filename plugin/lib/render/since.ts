import { evError } from '../../../src/errors.ts';
import { parseDuration } from '../../../src/duration.ts';

/** Longest `--since` accepted (30 days): beyond that any sink has long forgotten the events. */
export const MAX_SINCE_MS = 30 * 86_400_000;

/** Where `tail --since` starts: after a sequence number, or at events newer than a duration. */
export type SinceSpec =
  { kind: 'all' } | { kind: 'seq'; seq: number } | { kind: 'duration'; ms: number };

const SEQ = /^seq:(\d+)$/i;
const BARE = /^\d+(?:\.\d+)?$/;

/**
 * The one rule: `--since seq:1200` is a seq (events after it); `--since 5m` is a
 * duration, always with its unit. A bare number could be either (elsewhere a
 * bare duration is seconds), so it is refused with both readings offered.
 * Absent means everything retained.
 */
export function parseSince(text: string | undefined): SinceSpec {
  if (text === undefined) return { kind: 'all' };
  const t = text.trim();
  const seqMatch = SEQ.exec(t);
  if (seqMatch) {
    const seq = Number(seqMatch[1]);
    if (!Number.isSafeInteger(seq))
      throw evError('EV_ERR_INVALID_OPTION', `--since ${text} is too large`, {
        hint: 'use a seq printed by tail -o json',
      });
    return { kind: 'seq', seq };
  }
  if (BARE.test(t)) {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `--since ${t} is ambiguous: a seq or a number of seconds?`,
      {
        hint: `write --since seq:${t} for the events after seq ${t}, or --since ${t}s for the last ${t} seconds`,
      },
    );
  }
  return { kind: 'duration', ms: parseDuration(t, '--since', { max: MAX_SINCE_MS }) };
}
