import assert from 'node:assert/strict';
import {
  MAX_DURATION_TEXT,
  formatDuration,
  parseDuration,
  readDuration,
} from '../../../src/duration.ts';
import { isEmailValidateError } from '../../../src/errors.ts';

describe('durations (src/duration.ts: one grammar for flags, variables, rules and flows)', () => {
  const valid: Array<[unknown, number]> = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['3d4h', 273_600_000],
    ['1.5s', 1500],
    ['0.25s', 250],
    ['0s', 0],
    ['0', 0],
    ['  45s  ', 45_000],
    // A bare number is seconds, as text and as a YAML/JSON number.
    ['30', 30_000],
    ['1.5', 1500],
    ['1.25', 1250],
    [30, 30_000],
    [0.5, 500],
    [0, 0],
    // The longest text read: MAX_DURATION_TEXT characters exactly.
    [`${'0'.repeat(MAX_DURATION_TEXT - 1)}1`, 1000],
  ];
  for (const [input, ms] of valid) {
    it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      assert.equal(readDuration(input), ms);
      assert.equal(parseDuration(input, '--x'), ms);
    });
  }

  const invalid: unknown[] = [
    // What Number() would read but the grammar does not: signs, hex, exponents.
    '+5',
    '-5',
    '0x10',
    '1e3',
    '5e',
    '',
    '   ',
    'm',
    '5 m',
    '1h 2m',
    '5 minutes',
    '-5m',
    -1,
    '2h30',
    '5m3',
    '1w',
    '1.s',
    '.5s',
    's5',
    Number.NaN,
    Number.POSITIVE_INFINITY,
    null,
    undefined,
    true,
    {},
    '9'.repeat(400),
    `${'1s'.repeat(MAX_DURATION_TEXT)}`,
  ];
  for (const input of invalid) {
    it(`refuses ${JSON.stringify(input)} with a usage error naming the option`, () => {
      assert.equal(readDuration(input), null);
      assert.throws(
        () => parseDuration(input, '--wait'),
        (err: unknown) => {
          assert.ok(isEmailValidateError(err));
          assert.equal(err.code, 'EV_ERR_INVALID_OPTION');
          assert.equal(err.exitCode, 2);
          assert.match(err.message, /^--wait .* is not a duration$/);
          assert.match(err.hint ?? '', /bare number is seconds/);
          return true;
        },
      );
    });
  }

  it("applies the caller's range and says it", () => {
    assert.equal(
      parseDuration('7d', '--ttl', { min: 60_000, max: 7 * 86_400_000 }),
      7 * 86_400_000,
      'the maximum itself is in range',
    );
    assert.equal(
      parseDuration('1m', '--ttl', { min: 60_000, max: 7 * 86_400_000 }),
      60_000,
      'the minimum itself is in range',
    );
    assert.throws(
      () => parseDuration('1s', '--wait', { min: 2000 }),
      (err: unknown) =>
        isEmailValidateError(err) &&
        err.message === '--wait "1s" is out of range' &&
        err.hint === 'use at least 2s.',
    );
    assert.throws(
      () => parseDuration('soon'),
      (err: unknown) =>
        isEmailValidateError(err) && err.message === 'duration "soon" is not a duration',
      'the default name',
    );
    assert.equal(parseDuration('2h', '--ttl', { min: 60_000, max: 7 * 86_400_000 }), 7_200_000);
    assert.throws(
      () => parseDuration('10s', '--ttl', { min: 60_000, max: 7 * 86_400_000 }),
      (err: unknown) =>
        isEmailValidateError(err) &&
        /out of range/.test(err.message) &&
        err.hint === 'use from 1m to 7d.',
    );
    assert.throws(
      () => parseDuration('31d', '--since', { max: 30 * 86_400_000 }),
      /--since "31d" is out of range/,
    );
  });

  const formatted: Array<[number, string]> = [
    [0, '0ms'],
    [-5, '0ms'],
    [850, '850ms'],
    [999.9, '999ms'],
    [1000, '1s'],
    [12_345, '12.3s'],
    [59_999, '59.9s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [245_000, '4m05s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [7_500_000, '2h05m'],
    [86_400_000, '1d'],
    [90_061_000, '1d01h'],
  ];
  for (const [ms, text] of formatted) {
    it(`formats ${ms} ms as ${text}, which reads back to at most ${ms} ms`, () => {
      assert.equal(formatDuration(ms), text);
      const back = readDuration(text)!;
      assert.ok(back <= Math.max(0, ms), `${text} -> ${back}`);
    });
  }
  it('formats non-finite input without throwing: NaN and -Infinity as 0ms, Infinity capped', () => {
    assert.equal(formatDuration(Number.NaN), '0ms');
    assert.equal(formatDuration(-Infinity), '0ms');
    const huge = formatDuration(Infinity);
    assert.match(huge, /^\d+d(\d\dh)?$/);
    assert.ok(readDuration(huge)! <= Number.MAX_SAFE_INTEGER);
  });
});
