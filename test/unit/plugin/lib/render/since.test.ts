import assert from 'node:assert/strict';
import { parseSince } from '../../../../../plugin/lib/render/since.ts';

describe('tail --since', () => {
  it('tells a seq from a duration', () => {
    assert.deepEqual(parseSince(undefined), { kind: 'all' });
    assert.deepEqual(parseSince('seq:1200'), { kind: 'seq', seq: 1200 });
    assert.deepEqual(parseSince('SEQ:0'), { kind: 'seq', seq: 0 });
    assert.throws(
      () => parseSince('1200'),
      (err: Error & { hint?: string }) =>
        /ambiguous/.test(err.message) &&
        err.hint ===
          'write --since seq:1200 for the events after seq 1200, or --since 1200s for the last 1200 seconds',
    );
    assert.throws(() => parseSince('1.5'), /ambiguous/);
    assert.deepEqual(parseSince('1200s'), { kind: 'duration', ms: 1_200_000 });
    assert.throws(() => parseSince('seq:'), /not a duration/);
    assert.deepEqual(parseSince('5m'), { kind: 'duration', ms: 300_000 });
    assert.deepEqual(parseSince('1h30m'), { kind: 'duration', ms: 5_400_000 });
    assert.throws(() => parseSince('seq:99999999999999999999'), /too large/);
    assert.throws(() => parseSince('yesterday'), /not a duration/);
    assert.throws(() => parseSince('31d'), /out of range/);
  });
});
