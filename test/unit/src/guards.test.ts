import assert from 'node:assert/strict';
import {
  boundPort,
  codeInCauses,
  codeOrMessage,
  errorCode,
  errorMessage,
  errorStack,
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

  it('errorMessage: numbers and big integers as JavaScript prints them, not as JSON', () => {
    assert.equal(errorMessage(Number.NaN), 'NaN');
    assert.equal(errorMessage(-Infinity), '-Infinity');
    assert.equal(errorMessage(10n), '10');
    assert.equal(errorMessage(false), 'false');
    assert.equal(errorMessage(Symbol('s')), 'Symbol(s)');
    assert.equal(errorMessage(null), 'null');
  });

  it('codeInCauses walks the cause chain, past errors without a code, up to the depth', () => {
    const chain = (...codes: Array<string | undefined>): unknown =>
      codes.reduceRight<unknown>(
        (cause, code) =>
          Object.assign(new Error('e', cause === undefined ? undefined : { cause }), { code }),
        undefined,
      );
    const isSocket = (c: string) => c.startsWith('ECONN');
    assert.equal(codeInCauses(chain(undefined, 'EV_ERR_X', 'ECONNRESET'), isSocket), 'ECONNRESET');
    assert.equal(codeInCauses(chain('ECONNREFUSED', 'ECONNRESET'), isSocket), 'ECONNREFUSED');
    assert.equal(
      codeInCauses(chain(undefined, undefined, 'ECONNRESET'), isSocket, 3),
      'ECONNRESET',
    );
    assert.equal(codeInCauses(chain(undefined, undefined, 'ECONNRESET'), isSocket, 2), undefined);
    assert.equal(codeInCauses(chain(undefined, 'EV_ERR_X'), isSocket), undefined);
    const loop: Record<string, unknown> = { code: 'EV_ERR_X' };
    loop.cause = loop;
    assert.equal(codeInCauses(loop, isSocket), undefined, 'a cycle ends at the depth');
    assert.equal(codeInCauses('ECONNRESET', isSocket), undefined);
  });

  it('errorStack: the stack of an error, nothing for anything else', () => {
    const err = new Error('with a stack');
    assert.equal(errorStack(err), err.stack);
    assert.match(errorStack(err) ?? '', /^Error: with a stack\n/);
    assert.equal(errorStack({ stack: 5 }), undefined);
    assert.equal(errorStack('Error: x'), undefined);
    assert.equal(errorStack(null), undefined);
  });

  it('boundPort: the port of a TCP server, an error naming anything else', () => {
    assert.equal(boundPort({ port: 8025 }), 8025);
    assert.throws(() => boundPort(null), {
      message: 'not a listening TCP server (address null)',
    });
    assert.throws(() => boundPort('/tmp/sink.sock'), {
      message: 'not a listening TCP server (address /tmp/sink.sock)',
    });
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
