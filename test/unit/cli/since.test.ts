import assert from 'node:assert/strict';
import { parseSince } from '../../../plugin/lib/render/since.ts';

describe('tail --since', () => {
  it('tells a seq from a duration', () => {
    assert.deepEqual(parseSince(undefined), { kind: 'all' });
    assert.deepEqual(parseSince('1200'), { kind: 'seq', seq: 1200 });
    assert.deepEqual(parseSince('0'), { kind: 'seq', seq: 0 });
    assert.deepEqual(parseSince('5m'), { kind: 'duration', ms: 300_000 });
    assert.deepEqual(parseSince('1h30m'), { kind: 'duration', ms: 5_400_000 });
    assert.throws(() => parseSince('99999999999999999999'), /too large/);
    assert.throws(() => parseSince('yesterday'), /not a duration/);
    assert.throws(() => parseSince('31d'), /out of range/);
  });
});
