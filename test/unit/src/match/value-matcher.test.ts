/**
 * A user's matcher value: `/expression/flags` only when it starts with a slash, ends with one
 * followed by known flags and holds an expression; anything else is plain text, matched as a
 * case-insensitive substring. Regex matchers are case-insensitive too, keep the user's flags
 * and drop g and y (stateful `test`).
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { compileValueMatcher, splitRegexLiteral } from '../../../../src/match/value-matcher.ts';

describe('match/value-matcher', () => {
  it('reads `/expression/flags` only when the value starts with a slash', () => {
    const table: Array<[string, { expression: string; flags: string } | null]> = [
      ['/a/', { expression: 'a', flags: '' }],
      ['/a/b/i', { expression: 'a/b', flags: 'i' }],
      ['/x/imsdgy', { expression: 'x', flags: 'imsdgy' }],
      ['x/abc/i', null],
      ['a@b.test/i', null],
      ['abc', null],
      ['/', null],
      ['//', null],
      ['//i', null],
    ];
    for (const [source, want] of table) assert.deepEqual(splitRegexLiteral(source), want, source);
  });

  it('a trailing part that is not all known flags makes the value plain text', () => {
    for (const source of ['/usr/bin', '/a/z', '/a/iz', '/a/I', '/a/ i']) {
      assert.equal(splitRegexLiteral(source), null, source);
      const m = compileValueMatcher(source);
      assert.equal(m.isRegex, false, source);
      assert.equal(m.test(`in ${source.toUpperCase()} here`), true, source);
      assert.equal(m.test(source.slice(1)), false, source);
    }
  });

  it('plain text is a case-insensitive substring, slashes and all', () => {
    const m = compileValueMatcher('x/ABC/i');
    assert.deepEqual([m.source, m.isRegex], ['x/ABC/i', false]);
    assert.equal(m.test('see X/abc/I.'), true);
    assert.equal(m.test('abc'), false);
    assert.equal(compileValueMatcher('Alice@').test('ALICE@example.com'), true);
  });

  it("a regex keeps the user's flags, adds i and drops g and y", () => {
    const multiline = compileValueMatcher('/^B$/m');
    assert.deepEqual([multiline.source, multiline.isRegex], ['/^B$/m', true]);
    assert.equal(multiline.test('a\nb'), true);
    assert.equal(compileValueMatcher('/^B$/').test('a\nb'), false);
    assert.equal(compileValueMatcher('/a.b/sm').test('A\nB'), true);
    assert.equal(compileValueMatcher('/a.b/').test('a\nb'), false);
    const sticky = compileValueMatcher('/x/gy');
    assert.deepEqual(
      ['x', 'x', 'ax', 'X'].map((v) => sticky.test(v)),
      [true, true, true, true],
    );
  });
});
