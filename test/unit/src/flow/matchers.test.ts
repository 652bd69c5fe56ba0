import assert from 'node:assert/strict';
import {
  bareAddress,
  describeStatus,
  isStatusSpecItem,
  MatcherError,
  MAX_MATCHER_SOURCE,
  quote,
  statusMatches,
  textMatcher,
} from '../../../../src/flow/matchers.ts';

describe('flow matchers', () => {
  it('bare addresses', () => {
    const table: Array<[string, string]> = [
      ['a@b.test', 'a@b.test'],
      ['  a@b.test  ', 'a@b.test'],
      ['"Name" < a@b.test >', 'a@b.test'],
      ['<a@b.test>', 'a@b.test'],
      ['Name <a@b.test', 'Name <a@b.test'],
      ['Name >a@b.test<', 'Name >a@b.test<'],
      ['x> Name <a@b.test>', 'a@b.test'],
      ['a> b@b.test', 'a> b@b.test'],
    ];
    for (const [value, want] of table) assert.equal(bareAddress(value), want, value);
  });

  it('status specs: numbers, classes and numeric strings', () => {
    const table: Array<[number, Array<number | string>, boolean]> = [
      [200, [200], true],
      [201, [200], false],
      [204, ['2xx'], true],
      [204, ['2XX'], true],
      [304, ['2xx'], false],
      [404, ['404'], true],
      [404, ['x404'], false],
      [404, ['4xx0'], false],
      [404, ['14xx'], false],
      [500, [200, '5xx'], true],
      [500, [], false],
    ];
    for (const [status, spec, want] of table)
      assert.equal(statusMatches(status, spec), want, `${status} ${JSON.stringify(spec)}`);
    assert.equal(describeStatus([200, '3xx', '404']), '200 or 3xx or 404');
  });

  it('status spec items', () => {
    const table: Array<[unknown, boolean]> = [
      [100, true],
      [99, false],
      [599, true],
      [600, false],
      [200.5, false],
      ['2xx', true],
      ['5XX', true],
      ['6xx', false],
      ['0xx', false],
      ['200', true],
      ['600', false],
      ['2a0', false],
      ['20a', false],
      ['x200', false],
      ['2000', false],
      ['2xxx', false],
      [null, false],
    ];
    for (const [value, want] of table) assert.equal(isStatusSpecItem(value), want, String(value));
  });

  it('quotes values flattened and cut to a length', () => {
    assert.equal(quote(null), '(none)');
    assert.equal(quote(undefined), '(none)');
    assert.equal(quote('  a \n\t b  '), '"a b"');
    assert.equal(quote('abcde', 5), '"abcde"');
    assert.equal(quote('abcdef', 5), '"abcd…"');
    assert.equal(quote('x'.repeat(81)), `"${'x'.repeat(79)}…"`);
    assert.equal(quote('x'.repeat(80)), `"${'x'.repeat(80)}"`);
  });

  it('refuses matchers over the size limit and bad expressions, with the reason', () => {
    assert.equal(textMatcher('a'.repeat(MAX_MATCHER_SOURCE)).source.length, MAX_MATCHER_SOURCE);
    assert.throws(
      () => textMatcher('a'.repeat(MAX_MATCHER_SOURCE + 1)),
      (err: unknown) =>
        err instanceof MatcherError &&
        err.name === 'MatcherError' &&
        err.message === `matcher longer than ${MAX_MATCHER_SOURCE} characters`,
    );
    assert.throws(
      () => textMatcher('/(/'),
      (err: unknown) =>
        err instanceof MatcherError && /^invalid regular expression \/\(\/: /.test(err.message),
    );
  });
});
