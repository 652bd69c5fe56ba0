import assert from 'node:assert/strict';
import { readBuiltBundle } from '../../../../plugin/lib/built-bundle.ts';
import { isEmailValidateError } from '../../../../src/errors.ts';

describe('built bundles (plugin/lib/built-bundle.ts)', () => {
  it('a missing bundle is an internal error naming dist/<path>, with the build hint and the alternative', () => {
    assert.throws(
      () => readBuiltBundle('nowhere/none.bundle.mjs', 'the test bundle', 'pass --image'),
      (err: unknown) => {
        assert.ok(isEmailValidateError(err));
        assert.equal(err.code, 'EV_ERR_INTERNAL');
        assert.equal(
          err.message,
          'the test bundle (dist/nowhere/none.bundle.mjs) is missing from this installation',
        );
        assert.equal(err.hint, "run `npm run build` in the tool's folder, or pass --image.");
        return true;
      },
    );
  });
});
