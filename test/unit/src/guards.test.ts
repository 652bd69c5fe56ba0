import assert from 'node:assert/strict';
import {
  codeOrMessage,
  errorCode,
  errorMessage,
  hasMessage,
  isRecord,
} from '../../../src/guards.ts';
import { FirstFailure } from '../../../src/first-failure.ts';

describe('guards: narrowing caught and parsed values', () => {
  it('errorCode reads only a string code', () => {
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    assert.equal(errorCode(enoent), 'ENOENT');
    assert.equal(errorCode({ code: 404 }), undefined, 'an HTTP status is not an error code');
    assert.equal(errorCode(new Error('x')), undefined);
    assert.equal(errorCode('ENOENT'), undefined);
    assert.equal(errorCode(null), undefined);
  });

  it('errorMessage: an error of any realm by its message, anything else as text', () => {
    assert.equal(errorMessage(new TypeError('bad')), 'bad');
    assert.equal(errorMessage({ message: 'from a worker' }), 'from a worker');
    assert.equal(errorMessage('plain'), 'plain');
    assert.equal(errorMessage(42), '42');
    assert.equal(errorMessage(undefined), 'undefined');
    assert.equal(errorMessage({ reason: 'x' }), '{"reason":"x"}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.equal(errorMessage(circular), 'object');
  });

  it('codeOrMessage prefers the errno code', () => {
    assert.equal(
      codeOrMessage(Object.assign(new Error('long text'), { code: 'EACCES' })),
      'EACCES',
    );
    assert.equal(codeOrMessage(new Error('long text')), 'long text');
  });

  it('isRecord and hasMessage', () => {
    assert.equal(isRecord({}), true);
    assert.equal(isRecord([]), false);
    assert.equal(isRecord(null), false);
    assert.equal(hasMessage({ message: 1 }), false);
    assert.equal(hasMessage(new Error('')), true);
  });
});

describe('FirstFailure', () => {
  it('keeps the first failure, even a falsy one, and throws it', () => {
    const f = new FirstFailure();
    assert.equal(f.failed, false);
    f.throwIfFailed();
    f.record(undefined);
    f.record(new Error('later'));
    assert.equal(f.failed, true);
    assert.throws(
      () => f.throwIfFailed(),
      (err: unknown) => err === undefined,
    );
  });
});
