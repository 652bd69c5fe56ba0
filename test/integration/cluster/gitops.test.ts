import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import { runCli } from './helpers.ts';

const run = promisify(execFile);

type Obj = { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string>; spec?: any };

/** What may differ between two renderings: the namespace name, times, the token and the bundle (content and number of parts). */
function normalize(objects: Obj[], namespace: string): unknown {
  const kept = objects.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.labels?.['app.kubernetes.io/component'] === 'bundle'));
  for (const o of kept) {
    if (o.kind === 'Secret' && o.data) o.data = Object.fromEntries(Object.keys(o.data).map((k) => [k, 'TOKEN']));
    for (const v of o.spec?.template?.spec?.volumes ?? []) if (v.projected) v.projected.sources = 'BUNDLE PARTS';
  }
  return JSON.parse(JSON.stringify(kept)
    .replaceAll(namespace, 'NAMESPACE')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIME')
    .replace(/"[0-9a-f]{64}"/g, '"SHA256"'));
}

describe('`manifests` output and manifests/sink.yaml', function () {
  this.timeout(30_000);
  it('the CLI prints manifests/sink.yaml, up to the namespace name, times, token and bundle', async () => {
    const cli = await runCli(['manifests', '-o', 'json']);
    assert.equal(cli.code, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as Obj[];
    const ns = printed.find((o) => o.kind === 'Namespace')!.metadata.name;
    const file = parseAllDocuments(readFileSync('manifests/sink.yaml', 'utf8')).map((d) => d.toJSON() as Obj);
    assert.deepEqual(normalize(printed, ns), normalize(file, 'email-validation'));
  });
});

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
    const again = await runCli(['down', '--all', '-o', 'json'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(again.code, 0, `down --all is idempotent: ${again.stderr}`);
    assert.deepEqual(JSON.parse(again.stdout), []);
  });
});
