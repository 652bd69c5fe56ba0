import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, parseSince } from '../../../plugin/lib/render/duration.ts';
import { isEmailValidateError } from '../../../src/errors.ts';

describe('durations', () => {
  const cases: Array<[string, number]> = [
    ['250ms', 250], ['30s', 30_000], ['5m', 300_000], ['1h30m', 5_400_000], ['2d', 172_800_000], ['1.5s', 1500], ['0s', 0],
  ];
  for (const [text, ms] of cases) {
    it(`parses ${text}`, () => assert.equal(parseDuration(text, '--x'), ms));
  }

  for (const bad of ['', '5', 'm', '5 minutes', '-5m', '5m3', '1w', '31d']) {
    it(`rejects "${bad}" with a usage error naming the flag`, () => {
      assert.throws(() => parseDuration(bad, '--since'), (err: unknown) => {
        assert.ok(isEmailValidateError(err));
        assert.equal(err.code, 'EV_ERR_INVALID_OPTION');
        assert.equal(err.exitCode, 2);
        assert.match(err.message, /--since/);
        assert.ok(err.hint);
        return true;
      });
    });
  }

  it('tells a seq from a duration in --since', () => {
    assert.deepEqual(parseSince(undefined), { kind: 'all' });
    assert.deepEqual(parseSince('1200'), { kind: 'seq', seq: 1200 });
    assert.deepEqual(parseSince('0'), { kind: 'seq', seq: 0 });
    assert.deepEqual(parseSince('5m'), { kind: 'duration', ms: 300_000 });
    assert.throws(() => parseSince('99999999999999999999'), /too large/);
    assert.throws(() => parseSince('yesterday'), /not a duration/);
  });

  it('formats durations for humans', () => {
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(12_345), '12.3s');
    assert.equal(formatDuration(245_000), '4m05s');
    assert.equal(formatDuration(7_500_000), '2h05m');
  });
});
