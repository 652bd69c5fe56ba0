import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { mailProviderOverrides } from '../../../../src/check/limit-options.ts';
import { rateBurst } from '../../../../src/limits/token-bucket.ts';

describe('check/limit-options', () => {
  it('the burst is the one given, else a tenth of the rate rounded up, at least 1', () => {
    assert.equal(rateBurst(500), 50);
    assert.equal(rateBurst(15), 2);
    assert.equal(rateBurst(10), 1);
    assert.equal(rateBurst(0.5), 1);
    assert.equal(rateBurst(500, 3), 3);
    assert.equal(rateBurst(500, 0), 0);
  });

  it('Microsoft gets a third of the MX budget, never below 1 session or 0.1 a second', () => {
    assert.deepEqual(
      [...mailProviderOverrides({ mxConcurrency: 10, mxRate: 60 })],
      [['microsoft', { concurrency: 3, rate: 20, burst: 2 }]],
    );
    assert.deepEqual(
      [...mailProviderOverrides({ mxConcurrency: 2, mxRate: 0.15 })],
      [['microsoft', { concurrency: 1, rate: 0.1, burst: 1 }]],
    );
  });
});
