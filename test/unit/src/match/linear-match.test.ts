/**
 * Linear-time matching (issue 10, item 2): patterns that make a backtracking
 * engine run for seconds or longer answer here, with the right result; what
 * needs backtracking is refused with the reason, in rules (file:line) and in
 * flow files.
 */
import assert from 'node:assert/strict';
import { isEmailValidateError } from '../../../../src/errors.ts';
import { parseFlow } from '../../../../src/flow/parse.ts';
import { textMatcher } from '../../../../src/flow/matchers.ts';
import { compileGlob } from '../../../../src/match/glob.ts';
import { compileLinearRegex, PatternError } from '../../../../src/match/linear-regex.ts';
import { parseRules } from '../../../../src/rules-schema.ts';

/** Long enough that a backtracking engine would not answer in the lifetime of the test run (2^n paths). */
const LONG = 50_000;

describe('match: linear-time regular expressions', () => {
  it('/^(a+)+$/ on a long non-matching input answers false', () => {
    const re = compileLinearRegex('^(a+)+$');
    assert.equal(re.test(`${'a'.repeat(LONG)}!`), false);
    assert.equal(re.test('a'.repeat(LONG)), true);
  });

  it('keeps JavaScript semantics for flags, classes, anchors and named groups', () => {
    assert.equal(compileLinearRegex('^spam', 'i').test('SPAMMER@x'), true);
    assert.equal(compileLinearRegex('^b$').test('a\nb'), false);
    assert.equal(compileLinearRegex('^b$', 'm').test('a\nb'), true);
    assert.equal(compileLinearRegex('a.b').test('a\nb'), false);
    assert.equal(compileLinearRegex('a.b', 's').test('a\nb'), true);
    assert.equal(compileLinearRegex('(?<user>\\w+)@example\\.com').test('x bob@example.com'), true);
    assert.equal(compileLinearRegex('\\u00e9t\\u00e9').test('été'), true);
    assert.equal(compileLinearRegex('a\\/b').test('a/b'), true);
    assert.equal(compileLinearRegex('[\\d]{3}').test('ab123'), true);
  });

  for (const [source, why] of [
    ['(a)\\1', /backreference \(\\1\)/],
    ['(?<x>a)\\k<x>', /named backreference/],
    ['foo(?=bar)', /lookahead/],
    ['foo(?!bar)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
  ] as const) {
    it(`refuses ${source} with the reason`, () => {
      assert.throws(
        () => compileLinearRegex(source),
        (err: unknown) =>
          err instanceof PatternError && err.kind === 'unsupported' && why.test(err.message),
      );
    });
  }

  it('does not mistake escapes or classes for those constructs', () => {
    assert.equal(compileLinearRegex('[(?=]x').test('=x'), true);
    assert.equal(compileLinearRegex('\\(\\?=').test('(?='), true);
    assert.equal(compileLinearRegex('[\\d(?!]+').test('(!'), true);
  });

  it('refuses lookaround after a class or group ends, and only real lookaround', () => {
    for (const source of ['[a](?=b)', '[a]x(?!b)', '[\\]](?<=b)'])
      assert.throws(
        () => compileLinearRegex(source),
        (err: unknown) => err instanceof PatternError && err.kind === 'unsupported',
        source,
      );
    // `=`, `!` and `<` that do not follow `(?` are literals.
    assert.equal(compileLinearRegex('a?=b').test('=b'), true);
    assert.equal(compileLinearRegex('(x=y)').test('x=y'), true);
    assert.equal(compileLinearRegex('a!b').test('a!b'), true);
    assert.equal(compileLinearRegex('ab<=c').test('ab<=c'), true);
    // \k is a named backreference only when `<` follows, and never inside a class.
    assert.equal(compileLinearRegex('\\kx').test('kx'), true);
    assert.equal(compileLinearRegex('[\\k<x>]').test('<'), true);
    assert.equal(compileLinearRegex('\\.<').test('.<'), true);
    // Inside a class, `(?=` is three literal characters.
    assert.equal(compileLinearRegex('[a(?=]').test('='), true);
  });

  it('reads [] and [^] as JavaScript does: classes closed at once, so lookaround after them is seen', () => {
    // `[]` is the empty class (matches nothing) and `[^]` any character; the `]` ends them.
    for (const source of ['[](?=x)', '[^](?!x)', 'a[](?<=b)', '[^]]?(?=x)'])
      assert.throws(
        () => compileLinearRegex(source),
        (err: unknown) =>
          err instanceof PatternError &&
          err.kind === 'unsupported' &&
          /lookahead|lookbehind/.test(err.message),
        source,
      );
    assert.equal(compileLinearRegex('a[]').test('a'), false);
    assert.equal(compileLinearRegex('^[^]$').test('\n'), true);
    assert.equal(compileLinearRegex('^[^]]$').test('x]'), true);
    // A `]` after `[^` and something else still ends a class, and `(?=` inside stays literal.
    assert.equal(compileLinearRegex('[^a(?=]').test('='), false);
    assert.equal(compileLinearRegex('[^a(?=]').test('b'), true);
  });

  it('is case-sensitive without the i flag', () => {
    assert.equal(compileLinearRegex('^spam').test('SPAM'), false);
    assert.equal(compileLinearRegex('^spam').test('spam'), true);
  });

  it('says which kind of refusal it is in the message and the error name', () => {
    try {
      compileLinearRegex('foo(?=bar)');
      assert.fail('expected a PatternError');
    } catch (err) {
      assert.ok(err instanceof PatternError);
      assert.equal(err.name, 'PatternError');
      assert.equal(
        err.message,
        'regular expression refused: it uses lookahead ((?=…)), which needs a backtracking engine',
      );
    }
    assert.throws(() => compileLinearRegex('(a'), {
      name: 'PatternError',
      message: 'invalid regular expression: missing closing ): `(a`',
    });
    assert.throws(() => compileLinearRegex('a', 'xiy'), {
      message: 'invalid regular expression: unsupported flag(s) xy (allowed: imsuvd)',
    });
  });

  it("reports an invalid pattern as invalid, with RE2's reason", () => {
    assert.throws(
      () => compileLinearRegex('(a'),
      (err: unknown) =>
        err instanceof PatternError &&
        err.kind === 'invalid' &&
        /missing closing \)/.test(err.message),
    );
    assert.throws(() => compileLinearRegex('a', 'x'), /unsupported flag/);
  });
});

describe('match: linear-time globs', () => {
  const GLOB = '*a*a*a*a*a*a*a*a*a*a*a*a*b';

  it(`${GLOB} on a long input of a's answers false within input × pattern steps`, () => {
    const g = compileGlob(GLOB);
    const input = 'a'.repeat(LONG);
    assert.equal(g.test(input), false);
    assert.ok(g.lastSteps <= input.length * GLOB.length, `${g.lastSteps} steps`);
    assert.equal(g.test(`${input}b`), true);
    assert.ok(g.lastSteps <= (input.length + 1) * GLOB.length, `${g.lastSteps} steps`);
  });

  it('counts each character comparison', () => {
    const g = compileGlob('abc');
    assert.equal(g.test('abc'), true);
    assert.equal(g.lastSteps, 3);
    assert.equal(g.test('abd'), false);
    assert.equal(g.lastSteps, 3);
  });

  it('matches whole values, case-insensitively, with ? as one character', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*@hard.example', 'user@HARD.example', true],
      ['*@hard.example', 'user@hard.example.org', false],
      ['gone@*', 'gone@x', true],
      ['gone@*', 'xgone@x', false],
      ['a?c', 'abc', true],
      ['a?c', 'ac', false],
      ['a?c', 'aéc', true],
      ['*', '', true],
      ['', '', true],
      ['', 'x', false],
      ['a*b*c', 'abc', true],
      ['a*b*c', 'aXbYbZc', true],
      ['a*b*c', 'acb', false],
      ['ab*ba', 'aba', false],
      ['**x**', 'x', true],
      ['spring*', 'Spring sale', true],
      ['a.c', 'abc', false],
      ['[x]', '[x]', true],
      // A segment between stars must be found, in order, without overlapping the last one.
      ['a*x*c', 'abbc', false],
      ['*b*b', 'xb', false],
      ['a*bc*bc*d', 'abcd', false],
      ['a*bc*bc*d', 'abcbcd', true],
      // One character is one code point, whatever its upper case is ('ß' → 'SS').
      ['?', 'ß', true],
      ['ß', 'ß', true],
    ];
    for (const [glob, value, want] of cases)
      assert.equal(compileGlob(glob).test(value), want, `${glob} vs ${JSON.stringify(value)}`);
  });
});

describe('match: where patterns from outside are compiled', () => {
  it('rules: /^(a+)+$/ and the star glob answer on long recipients', () => {
    const set = parseRules(
      'rules:\n  - match: { recipient: "/^(a+)+$/" }\n    reject: {}\n  - match: { recipient: "*a*a*a*a*a*a*a*a*a*a*a*a*b" }\n    reject: {}\n',
    );
    const long = `${'a'.repeat(LONG)}@`;
    assert.equal(set.rules[0].match.recipient!.test(long), false);
    assert.equal(set.rules[1].match.recipient!.test(long), false);
    assert.equal(set.rules[1].match.recipient!.test(`${long}b`), true);
  });

  it('rules: a backreference is refused at load with file:line and the reason', () => {
    try {
      parseRules(
        'rules:\n  - name: x\n    match: { sender: "/(a)\\\\1/" }\n    reject: {}\n',
        'rules.yaml',
      );
      assert.fail('expected EV_ERR_RULES_INVALID');
    } catch (err) {
      assert.ok(isEmailValidateError(err), String(err));
      assert.equal(err.code, 'EV_ERR_RULES_INVALID');
      assert.match(err.message, /^rules\.yaml:3: /);
      assert.match(err.message, /backreference/);
    }
  });

  it('flows: matchers run linear-time and refuse lookaround with the reason', () => {
    assert.equal(textMatcher('/^(a+)+$/').test(`${'a'.repeat(LONG)}!`), false);
    assert.equal(textMatcher('/^(a+)+@x$/').test(`${'a'.repeat(LONG)}@y`), false);
    assert.throws(
      () => textMatcher('/foo(?=bar)/'),
      /refused \(linear-time matching\): it uses lookahead/,
    );
  });

  it('flows: a lookbehind in a flow file is refused at parse, with its location', () => {
    const source =
      'apiVersion: email-validate.dev/v1\nkind: EmailFlow\nsteps:\n  - expect:\n      subject: "/(?<=x)y/"\n';
    try {
      parseFlow(source, 'flow.yaml');
      assert.fail('expected a flow error');
    } catch (err) {
      assert.ok(isEmailValidateError(err), String(err));
      assert.match(err.message, /flow\.yaml:5:\d+: steps\[0\]\.expect\.subject: .*lookbehind/);
    }
  });
});
