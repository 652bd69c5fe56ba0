import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import { runCli } from './helpers.ts';

const run = promisify(execFile);

describe('cluster: `manifests` output applied by real kubectl (GitOps path)', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  before(async () => { fake = await startFakeKube(); });
  after(async () => { await fake.close(); });

  it('kubectl apply --server-side of `manifests` runs the sink; `status` sees it; kubectl finds it by label; `down` removes it', async () => {
    const rendered = await runCli(['manifests', '--ttl', '1h']);
    assert.equal(rendered.code, 0, rendered.stderr);
    const file = join(fake.dir, 'sink.yaml');
    writeFileSync(file, rendered.stdout);
    const ns = /^  name: (email-validation-\S+)$/m.exec(rendered.stdout)![1];
    const env = fake.kubectlEnv();
    await run('kubectl', ['apply', '--server-side', '--validate=false', '--field-manager', 'kubectl-email-validate', '-f', file], { env });
    await waitForSinkReady(connect({ kubeconfig: fake.kubeconfigPath }), ns, { replicas: 1, timeoutMs: 20_000 });
    const listed = await run('kubectl', ['get', 'namespaces', '-l', 'app.kubernetes.io/managed-by=kubectl-email-validate', '-o', 'name'], { env });
    assert.equal(listed.stdout.trim(), `namespace/${ns}`);
    const status = await runCli(['status', '-o', 'json'], { KUBECONFIG: fake.kubeconfigPath });
    assert.deepEqual((JSON.parse(status.stdout) as Array<{ namespace: string; ready: number; ttl: string }>).map((s) => [s.namespace, s.ready, s.ttl]), [[ns, 1, '1h']]);
    const down = await runCli(['down', '--all'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(fake.get('namespaces', undefined, ns), undefined);
  });
});
