import assert from 'node:assert/strict';
import { reportFatal } from '../../../../plugin/lib/errors-render.ts';
import { EmailValidateError, EXIT } from '../../../../src/errors.ts';

function capture(err: unknown): { out: string; code: number } {
  let out = '';
  const code = reportFatal(
    err,
    {
      write: (chunk: string) => {
        out += chunk;
      },
    },
    false,
  );
  return { out, code };
}

describe('reportFatal', () => {
  it('prints our errors as one line with code and hint, and maps the exit code', () => {
    const { out, code } = capture(
      new EmailValidateError('EV_ERR_KUBE_FORBIDDEN', 'cannot create namespaces', {
        hint: 'use -n EXISTING',
      }),
    );
    assert.equal(
      out,
      'error: cannot create namespaces [EV_ERR_KUBE_FORBIDDEN]\nhint: use -n EXISTING\n',
    );
    assert.equal(code, EXIT.ENVIRONMENT);
  });

  it('folds oclif parse errors into one line and treats them as usage errors', () => {
    const err = Object.assign(
      new Error(
        'Parsing --count \n\tExpected an integer but received: abc\nSee more help with --help',
      ),
      { oclif: { exit: 2 } },
    );
    const { out, code } = capture(err);
    assert.equal(
      out.split('\n')[0],
      'error: Parsing --count: Expected an integer but received: abc',
    );
    assert.equal(code, EXIT.USAGE);
    const missing = Object.assign(
      new Error(
        'Missing 1 required arg:\nflows  Flow files (YAML, kind: EmailFlow).\nSee more help with --help',
      ),
      { oclif: { exit: 2 } },
    );
    assert.equal(
      capture(missing).out.split('\n')[0],
      'error: Missing 1 required arg: flows Flow files (YAML, kind: EmailFlow).',
    );
    const flag = Object.assign(
      new Error(
        'The following error occurred:\n  Missing required flag to\nSee more help with --help',
      ),
      { oclif: { exit: 2 } },
    );
    assert.equal(capture(flag).out.split('\n')[0], 'error: Missing required flag --to');
  });

  it('stays silent for oclif exit requests', () => {
    const { out, code } = capture(
      Object.assign(new Error('EEXIT: 1'), { code: 'EEXIT', oclif: { exit: 1 } }),
    );
    assert.equal(out, '');
    assert.equal(code, 1);
  });

  it('reports unexpected errors as bugs without a stack trace', () => {
    const { out, code } = capture(new TypeError('x is undefined'));
    assert.match(out, /^error: unexpected failure: x is undefined \[EV_ERR_INTERNAL\]\n/);
    assert.doesNotMatch(out, /at .*\(/);
    assert.equal(code, EXIT.ENVIRONMENT);
  });
});
