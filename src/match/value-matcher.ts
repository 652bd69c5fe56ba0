/**
 * The one meaning of a `to`, `from` or `subject` matcher everywhere a user
 * writes one: `tail --to`, `messages list --to`, the sink's list and search
 * API (`?to=`) and flow criteria (`to:`). Documented once, in
 * docs/sink-commands.md#matching.
 *
 * - Plain text matches when the value contains it, ignoring case:
 *   `user+42@example.com` is literal (`+` and `.` are not operators), and
 *   `@example.com` matches every address at that domain.
 * - `/expression/flags` is a regular expression, also ignoring case
 *   (`(?-i:…)` inside makes a part case-sensitive), run on RE2's
 *   linear-time engine (src/match/linear-regex.ts): matchers run on
 *   captured mail, which is outside input. Flags: those of
 *   LINEAR_REGEX_FLAGS; `g` and `y` are accepted and dropped (they only make
 *   JavaScript's test() stateful).
 * - `//` (nothing between the slashes) and a value whose text after the last
 *   slash is not all flags (`/tmp/x`) are plain text.
 *
 * Flows used to match a plain `to`/`from` as the exact address; a substring
 * is what tail, messages list and the API did, and what MailHog's and
 * Mailpit's searches do. For an exact address, anchor it:
 * `/^alice@example\.test$/`.
 */
import { compileLinearRegex, LINEAR_REGEX_FLAGS } from './linear-regex.ts';

export { PatternError } from './linear-regex.ts';

export interface ValueMatcher {
  /** What the user wrote. */
  readonly source: string;
  readonly isRegex: boolean;
  test(value: string): boolean;
}

/** Flags a `/…/flags` value may carry: the engine's, plus g and y (dropped). */
const ACCEPTED_FLAGS = `${LINEAR_REGEX_FLAGS}gy`;

/** `{expression, flags}` when `source` is written `/expression/flags`, else null (plain text). */
export function splitRegexLiteral(source: string): { expression: string; flags: string } | null {
  if (!source.startsWith('/')) return null;
  const end = source.lastIndexOf('/');
  if (end < 2) return null; // `/`, `//`: text
  const flags = source.slice(end + 1);
  for (const f of flags) if (!ACCEPTED_FLAGS.includes(f)) return null;
  return { expression: source.slice(1, end), flags };
}

/**
 * Compiles a matcher written by a user. Throws PatternError (with the reason)
 * when a `/…/` expression is invalid or needs a backtracking engine; callers
 * turn it into their own error (a usage error, a flow-file error, a 400).
 * Length limits belong to the caller's edge (each names its own constant).
 */
export function compileValueMatcher(source: string): ValueMatcher {
  const literal = splitRegexLiteral(source);
  if (literal) {
    const flags = [...new Set(`${literal.flags.replace(/[gy]/g, '')}i`)].join('');
    const re = compileLinearRegex(literal.expression, flags);
    return Object.freeze({ source, isRegex: true, test: (value: string) => re.test(value) });
  }
  const needle = source.toLowerCase();
  return Object.freeze({
    source,
    isRegex: false,
    test: (value: string) => value.toLowerCase().includes(needle),
  });
}
