/**
 * Regular expressions from outside (rules, flow files) run on RE2's engine
 * (re2js, a pure-JavaScript port: the sink ships as one JS bundle, so no
 * native addon), whose matching time is linear in the input for a given
 * pattern. V8's backtracking engine took 4.8 s on 30 characters for
 * `/^(a+)+$/` and blocked the sink's event loop.
 *
 * The syntax is JavaScript's as far as RE2 can run it (re2js translates
 * `(?<name>…)`, `\u…`, `\cX`); what needs backtracking (backreferences,
 * lookahead, lookbehind) is refused with the reason.
 */
import { RE2JS } from 're2js';
import { errorMessage } from '../guards.ts';

/** Flags accepted in `/…/flags`: i, m, s as in JavaScript; u (and v, d) change nothing here (RE2 always matches code points). */
export const LINEAR_REGEX_FLAGS = 'imsuvd';

/** A pattern that is not valid (`invalid`) or that needs a backtracking engine (`unsupported`); `reason` reads after "because it …" / ": …". */
export class PatternError extends Error {
  readonly kind: 'invalid' | 'unsupported';
  readonly reason: string;

  constructor(kind: 'invalid' | 'unsupported', reason: string) {
    super(
      kind === 'invalid'
        ? `invalid regular expression: ${reason}`
        : `regular expression refused: it ${reason}`,
    );
    this.name = 'PatternError';
    this.kind = kind;
    this.reason = reason;
  }
}

export interface LinearRegex {
  readonly source: string;
  readonly flags: string;
  /** Whether the pattern matches anywhere in `value` (RegExp.prototype.test without g/y). */
  test(value: string): boolean;
}

/** The reason a construct needs a backtracking engine, or null. */
function unsupportedReason(source: string): string | null {
  // Scan outside character classes and escapes, the way a parser would.
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next))
        return `uses a backreference (\\${next}), which needs a backtracking engine`;
      if (!inClass && next === 'k' && source[i + 2] === '<')
        return 'uses a named backreference (\\k<…>), which needs a backtracking engine';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      // JavaScript: `[]` is the empty class and `[^]` any character, both closed at once (re2js
      // translates them so); a `]` right after `[` or `[^` does not start a class's content.
      if (source[i + 1] === ']') i++;
      else if (source[i + 1] === '^' && source[i + 2] === ']') i += 2;
      else inClass = true;
    } else if (c === '(' && source[i + 1] === '?') {
      const la = source.slice(i + 2, i + 4);
      if (la.startsWith('=') || la.startsWith('!'))
        return `uses lookahead ((?${la[0]}…)), which needs a backtracking engine`;
      if (la === '<=' || la === '<!')
        return `uses lookbehind ((?${la}…)), which needs a backtracking engine`;
    }
  }
  return null;
}

/**
 * Compiles `source` with JavaScript-style `flags` for linear-time matching.
 * Throws PatternError with the reason when the pattern is invalid or needs
 * backtracking.
 */
export function compileLinearRegex(source: string, flags = ''): LinearRegex {
  const unknown = [...flags].filter((f) => !LINEAR_REGEX_FLAGS.includes(f));
  if (unknown.length)
    throw new PatternError(
      'invalid',
      `unsupported flag(s) ${unknown.join('')} (allowed: ${LINEAR_REGEX_FLAGS})`,
    );
  const why = unsupportedReason(source);
  if (why) throw new PatternError('unsupported', why);
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source), bits);
  } catch (err) {
    throw new PatternError('invalid', errorMessage(err).replace(/^error parsing regexp: /, ''));
  }
  return Object.freeze({ source, flags, test: (value: string) => re.test(value) });
}
