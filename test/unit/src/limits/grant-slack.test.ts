/**
 * grantSlack: the split of a rate's burst into the bucket's capacity and
 * the age past which a grant is stale keeps any second at or under
 * rate + burst with room left for the delay after a grant is used.
 */
import assert from 'node:assert/strict';
import { grantSlack } from '../../../../src/limits/redis-permits.ts';

describe('grantSlack: the burst kept back for grants used late', () => {
  it('capacity + rate x (1 s + max age) stays under rate + burst, with slack left for delivery', () => {
    for (const rate of [1, 5, 25, 100, 200, 1000, 10_000])
      for (const burst of [2, 3, 5, 10, 20, 100, 1000]) {
        const { capacity, maxAgeMs } = grantSlack(rate, burst);
        assert.ok(capacity >= 1 && capacity <= burst, `${rate}/${burst}: capacity ${capacity}`);
        const worst = capacity + rate * (1 + maxAgeMs / 1000);
        assert.ok(worst <= rate + burst, `${rate}/s burst ${burst}: ${worst} in one second`);
        if (capacity < burst)
          assert.ok(maxAgeMs > 0 && worst < rate + burst, `${rate}/${burst}: room for delivery`);
      }
  });

  it('the default burst (rate / 10) gives 50 ms to read a grant at any rate; a burst of 1 is used as is', () => {
    assert.deepEqual(grantSlack(200, 20), { capacity: 5, maxAgeMs: 50 });
    assert.deepEqual(grantSlack(1000, 100), { capacity: 25, maxAgeMs: 50 });
    assert.deepEqual(grantSlack(10, 1), { capacity: 1, maxAgeMs: 0 });
    assert.deepEqual(grantSlack(0, 5), { capacity: 5, maxAgeMs: 0 });
  });
});
