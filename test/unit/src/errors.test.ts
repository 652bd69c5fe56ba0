import assert from 'node:assert/strict';
import {
  ERROR_CODES,
  EXIT,
  EmailValidateError,
  isEmailValidateError,
  type ErrorCode,
} from '../../../src/errors.ts';
import { committedErrorSection, renderErrorSection } from '../../support/render-error-docs.ts';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const exitValues = new Set<number>(Object.values(EXIT));

describe('error catalog', () => {
  for (const code of codes) {
    it(`${code} is well-formed`, () => {
      const spec = ERROR_CODES[code] as { description: string; exit: number; http?: number };
      assert.match(code, /^EV_ERR_[A-Z0-9_]+$/);
      assert.ok(spec.description.length > 10, 'has a description for the README');
      assert.ok(exitValues.has(spec.exit), `exit ${spec.exit} is a documented exit code`);
      if (spec.http !== undefined) assert.ok(spec.http >= 400 && spec.http < 600);
      const err = new EmailValidateError(code, 'boom');
      assert.equal(err.exitCode, spec.exit);
      assert.equal(err.httpStatus, spec.http ?? 500);
    });
  }

  it('serialises code, message and hint, not the stack', () => {
    const err = new EmailValidateError('EV_ERR_INVALID_OPTION', '--rate must be N/s', {
      hint: 'e.g. --rate 50/s',
    });
    assert.deepEqual(JSON.parse(JSON.stringify(err)), {
      code: 'EV_ERR_INVALID_OPTION',
      message: '--rate must be N/s',
      hint: 'e.g. --rate 50/s',
    });
  });

  it('carries only what it was given: no empty hint, details or cause', () => {
    const bare = new EmailValidateError('EV_ERR_INTERNAL', 'x');
    assert.equal(bare.name, 'EmailValidateError');
    assert.deepEqual(bare.toJSON(), { code: 'EV_ERR_INTERNAL', message: 'x' });
    assert.equal('cause' in bare, false);
    const cause = new Error('under');
    const full = new EmailValidateError('EV_ERR_INTERNAL', 'x', {
      hint: 'h',
      details: { file: 'f' },
      cause,
    });
    assert.equal(full.cause, cause);
    assert.deepEqual(full.toJSON(), {
      code: 'EV_ERR_INTERNAL',
      message: 'x',
      hint: 'h',
      details: { file: 'f' },
    });
  });

  it('recognises its errors by shape across bundles, and nothing else', () => {
    assert.equal(isEmailValidateError(null), false);
    assert.equal(isEmailValidateError(undefined), false);
    assert.equal(isEmailValidateError('EmailValidateError'), false);
    assert.equal(isEmailValidateError({ code: 'EV_ERR_INTERNAL', message: 'x' }), false, 'no name');
    assert.equal(
      isEmailValidateError({ name: 'EmailValidateError', code: ['EV_ERR_INTERNAL'] }),
      false,
      'a code that only converts to a known one',
    );
    assert.equal(isEmailValidateError(new EmailValidateError('EV_ERR_INTERNAL', 'x')), true);
    assert.equal(
      isEmailValidateError({ name: 'EmailValidateError', code: 'EV_ERR_INTERNAL', message: 'x' }),
      true,
    );
    assert.equal(isEmailValidateError({ name: 'EmailValidateError', code: 'NOPE' }), false);
    assert.equal(isEmailValidateError(new Error('x')), false);
  });

  it('docs/errors.md shows the catalog exactly: every code, exit code, HTTP status and description', () => {
    const committed = committedErrorSection().split('\n');
    const rendered = renderErrorSection().split('\n');
    // Row by row, so a drift names the row: run `node test/support/render-error-docs.ts --write` to update.
    for (let i = 0; i < Math.max(committed.length, rendered.length); i++) {
      assert.equal(
        committed[i],
        rendered[i],
        `docs/errors.md line ${i + 1} of the errors section differs from src/errors.ts`,
      );
    }
    for (const code of codes)
      assert.ok(
        rendered.some((row) => row.startsWith(`| \`${code}\` |`)),
        `${code} rendered`,
      );
    for (const exit of exitValues)
      assert.ok(
        rendered.some((row) => row.startsWith(`| \`${exit}\` |`)),
        `exit ${exit} rendered`,
      );
  });
});
