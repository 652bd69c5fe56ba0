import assert from 'node:assert/strict';
import { plusTag } from '../../../src/protocol.ts';

describe('protocol: plusTag', () => {
  it('is what follows the first + of the local part, also right at its start', () => {
    assert.equal(plusTag('user+tag@example.org'), 'tag');
    assert.equal(plusTag('user+a+b@example.org'), 'a+b');
    assert.equal(plusTag('+tag@example.org'), 'tag');
    assert.equal(plusTag('user+@example.org'), '');
    assert.equal(plusTag('user@example.org'), null);
    assert.equal(plusTag('user+tag'), 'tag', 'no domain: the whole address is the local part');
  });

  it('never reads a + in the domain', () => {
    assert.equal(plusTag('user@ex+ample.org'), null);
    assert.equal(plusTag('@ex+ample.org'), null);
  });
});
