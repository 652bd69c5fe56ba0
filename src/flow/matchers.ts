/**
 * Text and address matchers of flow files.
 *
 * A matcher is written either as plain text or as `/regular expression/flags`.
 * Plain text means "contains" for free text (subject, body, header values,
 * URLs) and "is exactly this address, ignoring case" for addresses (to, from),
 * because `user@example.test` must not match `otheruser@example.test`.
 */
import { compileLinearRegex, PatternError } from '../match/linear-regex.ts';
import type { LinearRegex } from '../match/linear-regex.ts';

/** A regex source longer than this is almost certainly a mistake (and slow to compile per message). */
export const MAX_MATCHER_SOURCE = 4096;
const REGEX_LITERAL = /^\/(.*)\/([dgimsuvy]*)$/s;

export interface TextMatcher {
  readonly source: string;
  readonly isRegex: boolean;
  test(value: string): boolean;
}

export class MatcherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MatcherError';
  }
}

/**
 * `/re/flags` compiled for linear-time matching (src/match/linear-regex.ts):
 * a matcher runs on every captured message's text, which is outside input.
 */
function compileRegex(source: string): LinearRegex | null {
  const m = REGEX_LITERAL.exec(source);
  if (!m || m[1] === '') return null;
  // g and y make .test() stateful across calls; drop them rather than surprise.
  const flags = m[2].replace(/[gy]/g, '');
  try {
    return compileLinearRegex(m[1], flags);
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

/** Compiles a free-text matcher: `/re/flags` or a substring. */
export function textMatcher(source: string): TextMatcher {
  if (source.length > MAX_MATCHER_SOURCE)
    throw new MatcherError(`matcher longer than ${MAX_MATCHER_SOURCE} characters`);
  const re = compileRegex(source);
  if (re) return { source, isRegex: true, test: (value) => re.test(value) };
  return { source, isRegex: false, test: (value) => value.includes(source) };
}

/** Compiles an address matcher: `/re/flags` or one exact address (case-insensitive). */
export function addressMatcher(source: string): TextMatcher {
  if (source.length > MAX_MATCHER_SOURCE)
    throw new MatcherError(`matcher longer than ${MAX_MATCHER_SOURCE} characters`);
  const re = compileRegex(source);
  if (re) return { source, isRegex: true, test: (value) => re.test(value) };
  const wanted = source.trim().toLowerCase();
  return { source, isRegex: false, test: (value) => value.trim().toLowerCase() === wanted };
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
