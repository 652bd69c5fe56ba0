import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { RUN_JS } from './helpers.ts';

const run = promisify(execFile);

describe('kubectl plugin discovery (real kubectl)', function () {
  this.timeout(60_000);
  let env: Record<string, string>;
  before(() => {
    const bin = mkdtempSync(join(tmpdir(), 'ev-plugin-'));
    symlinkSync(RUN_JS, join(bin, 'kubectl-email_validate'));
    // The PATH node may be older than the CLI needs: the launcher then re-runs under the pinned Node.
    env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, HOME: bin, NO_COLOR: '1' };
  });

  it('`kubectl plugin list` finds it and `kubectl email-validate --help` prints our usage', async () => {
    const list = await run('kubectl', ['plugin', 'list'], { env }).catch(
      (e: { stdout: string }) => e,
    );
    assert.match(list.stdout, /kubectl-email_validate/);
    const help = await run('kubectl', ['email-validate', '--help'], { env });
    assert.match(help.stdout, /kubectl email-validate/);
    assert.match(help.stdout, /\bup\b/);
    assert.match(help.stdout, /\bgc\b/);
  });

  it('arguments after the plugin name reach it unchanged (kube flags included)', async () => {
    const help = await run('kubectl', ['email-validate', 'up', '--help'], { env });
    assert.match(help.stdout, /\$ kubectl email-validate up/);
    assert.match(help.stdout, /--kubeconfig/);
    assert.match(help.stdout, /-n, --namespace/);
    const bad = await run(
      'kubectl',
      ['email-validate', 'up', '--kubeconfig', join(env.HOME, 'missing')],
      { env },
    ).catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 3);
    assert.match(
      (bad as { stderr: string }).stderr,
      /^error: kubeconfig file .*missing does not exist \[EV_ERR_KUBECONFIG_MISSING\]$/m,
    );
  });
});
