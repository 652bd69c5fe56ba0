import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, EXIT, EmailValidateError, isEmailValidateError, type ErrorCode } from '../../src/errors.ts';

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
    const err = new EmailValidateError('EV_ERR_INVALID_OPTION', '--rate must be N/s', { hint: 'e.g. --rate 50/s' });
    assert.deepEqual(JSON.parse(JSON.stringify(err)), { code: 'EV_ERR_INVALID_OPTION', message: '--rate must be N/s', hint: 'e.g. --rate 50/s' });
  });

  it('recognises its errors by shape across bundles, and nothing else', () => {
    assert.equal(isEmailValidateError(new EmailValidateError('EV_ERR_INTERNAL', 'x')), true);
    assert.equal(isEmailValidateError({ name: 'EmailValidateError', code: 'EV_ERR_INTERNAL', message: 'x' }), true);
    assert.equal(isEmailValidateError({ name: 'EmailValidateError', code: 'NOPE' }), false);
    assert.equal(isEmailValidateError(new Error('x')), false);
  });

  it('the README documents every code and every exit code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- section:errors -->'));
    const missing = codes.filter((code) => !section.includes(`\`${code}\``));
    assert.deepEqual(missing, [], 'README errors section lists every code');
    for (const exit of exitValues) assert.match(section, new RegExp(`\\| \`${exit}\` \\|`), `exit code ${exit} documented`);
  });
});
