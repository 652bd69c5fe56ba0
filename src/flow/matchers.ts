/**
 * Matchers of flow files (criteria, event expectations, response bodies).
 *
 * One rule for every matcher, shared with tail, messages list and the sink's
 * API (src/match/value-matcher.ts): plain text is a case-insensitive
 * substring, `/regular expression/flags` an expression (also ignoring case),
 * run in linear time.
 */
import { compileValueMatcher, PatternError } from '../match/value-matcher.ts';
import type { ValueMatcher } from '../match/value-matcher.ts';

/** A regex source longer than this is almost certainly a mistake (and slow to compile per message). */
export const MAX_MATCHER_SOURCE = 4096;

export type TextMatcher = ValueMatcher;

export class MatcherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MatcherError';
  }
}

/** Compiles a flow matcher (text or `/re/flags`); throws MatcherError with the reason. */
export function textMatcher(source: string): TextMatcher {
  if (source.length > MAX_MATCHER_SOURCE)
    throw new MatcherError(`matcher longer than ${MAX_MATCHER_SOURCE} characters`);
  try {
    return compileValueMatcher(source);
  } catch (err) {
    if (err instanceof PatternError) {
      throw new MatcherError(
        err.kind === 'invalid'
          ? `invalid regular expression ${source}: ${err.reason}`
          : `regular expression ${source} is refused (linear-time matching): it ${err.reason}`,
      );
    }
    throw err;
  }
}

/** The bare address of `"Name" <a@b>` or `a@b`. */
export function bareAddress(value: string): string {
  const lt = value.lastIndexOf('<');
  const gt = value.lastIndexOf('>');
  if (lt >= 0 && gt > lt) return value.slice(lt + 1, gt).trim();
  return value.trim();
}

/** A status written as `200`, `"2xx"` or `"201"`. */
export function statusMatches(status: number, spec: ReadonlyArray<number | string>): boolean {
  return spec.some((s) => {
    if (typeof s === 'number') return s === status;
    const m = /^([1-5])xx$/i.exec(s);
    if (m) return Math.floor(status / 100) === Number(m[1]);
    return Number(s) === status;
  });
}

export function isStatusSpecItem(value: unknown): value is number | string {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 100 && value <= 599;
  return typeof value === 'string' && /^([1-5]xx|[1-5]\d\d)$/i.test(value);
}

export function describeStatus(spec: ReadonlyArray<number | string>): string {
  return spec.map(String).join(' or ');
}

/** For reports: a value cut to a readable length, quoted. */
export function quote(value: string | null | undefined, max = 80): string {
  if (value === null || value === undefined) return '(none)';
  const flat = value.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
}
