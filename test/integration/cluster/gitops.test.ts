import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseAllDocuments } from 'yaml';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import { runCli } from './helpers.ts';

const run = promisify(execFile);

type Obj = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: any;
};

/** What may differ between two renderings: the namespace name, times, the token and the bundle (content and number of parts). */
function normalize(objects: Obj[], namespace: string): unknown {
  const kept = objects.filter(
    (o) =>
      !(o.kind === 'ConfigMap' && o.metadata.labels?.['app.kubernetes.io/component'] === 'bundle'),
  );
  for (const o of kept) {
    if (o.kind === 'Secret' && o.data)
      o.data = Object.fromEntries(Object.keys(o.data).map((k) => [k, 'TOKEN']));
    for (const v of o.spec?.template?.spec?.volumes ?? [])
      if (v.projected) v.projected.sources = 'BUNDLE PARTS';
  }
  return JSON.parse(
    JSON.stringify(kept)
      .replaceAll(namespace, 'NAMESPACE')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIME')
      .replace(/"[0-9a-f]{64}"/g, '"SHA256"'),
  );
}

describe('`manifests` output and manifests/sink.yaml', function () {
  this.timeout(30_000);
  it('the CLI prints manifests/sink.yaml, up to the namespace name, times, token and bundle', async () => {
    const cli = await runCli(['manifests', '-o', 'json', '--generate-token', '--ttl', '2h']);
    assert.equal(cli.code, 0, cli.stderr);
    const list = JSON.parse(cli.stdout) as { apiVersion: string; kind: string; items: Obj[] };
    assert.deepEqual([list.apiVersion, list.kind], ['v1', 'List'], '-o json is one v1 List');
    const printed = list.items;
    const ns = printed.find((o) => o.kind === 'Namespace')!.metadata.name;
    assert.equal(ns, 'email-validation', 'no random namespace name');
    const file = parseAllDocuments(readFileSync('manifests/sink.yaml', 'utf8')).map(
      (d) => d.toJSON() as Obj,
    );
    assert.deepEqual(normalize(printed, ns), normalize(file, 'email-validation'));
  });
});

describe('`manifests` for GitOps: deterministic, and used from a kustomization', function () {
  this.timeout(30_000);

  it('prints the same bytes on every run (no time, no random name or token) and refuses to pick a token silently', async () => {
    const a = await runCli(['manifests', '-n', 'email-tests', '--token-from-secret']);
    const b = await runCli(['manifests', '-n', 'email-tests', '--token-from-secret']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.doesNotMatch(a.stdout, /\d{4}-\d\d-\d\dT\d\d:\d\d/, 'no timestamps');
    assert.doesNotMatch(
      a.stdout,
      /kind: Secret/,
      '--token-from-secret references the Secret, emits none',
    );
    assert.doesNotMatch(a.stdout, /kind: Namespace/, '-n targets an existing namespace');
    const withToken = await runCli(['manifests', '--token', 'fixed-token-0123456789']);
    assert.equal(
      withToken.stdout,
      (await runCli(['manifests', '--token', 'fixed-token-0123456789'])).stdout,
    );
    assert.match(withToken.stdout, /kind: Secret/);
    const none = await runCli(['manifests']);
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /hint: pass --token VALUE, --token-from-secret .* or --generate-token/,
    );
  });

  it("the kustomization of docs/cluster.md builds with `kubectl kustomize`: the Secret from a generator, the sink's objects in the namespace", async () => {
    const doc = readFileSync('docs/cluster.md', 'utf8');
    const kustomization = /```yaml\n(# kustomization\.yaml\n[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(kustomization, 'docs/cluster.md shows a kustomization.yaml');
    const command = /^kubectl email-validate (manifests [^\n>]*?) > sink\.yaml$/m.exec(doc)?.[1];
    assert.ok(command, 'docs/cluster.md shows the manifests command that writes sink.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'ev-kustomize-'));
    try {
      const rendered = await runCli(command.split(' '));
      assert.equal(rendered.code, 0, rendered.stderr);
      writeFileSync(join(dir, 'sink.yaml'), rendered.stdout);
      writeFileSync(join(dir, 'kustomization.yaml'), kustomization);
      writeFileSync(join(dir, 'token.env'), 'token=from-the-generator-0123456789\n');
      const built = await run('kubectl', ['kustomize', dir]);
      const objects = parseAllDocuments(built.stdout).map(
        (d) => d.toJSON() as Obj & { metadata: { namespace?: string } },
      );
      const secret = objects.find((o) => o.kind === 'Secret');
      assert.equal(
        secret?.metadata.name,
        'email-sink-token',
        'the name the pods reference (no hash suffix)',
      );
      assert.equal(
        Buffer.from(secret.data!.token, 'base64').toString(),
        'from-the-generator-0123456789',
      );
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      const env = deployment.spec.template.spec.containers[0].env as Array<{
        name: string;
        valueFrom?: { secretKeyRef?: { name: string } };
      }>;
      assert.equal(
        env.find((e) => e.name === 'EV_TOKEN')?.valueFrom?.secretKeyRef?.name,
        'email-sink-token',
      );
      for (const o of objects.filter((x) => x.kind !== 'Namespace'))
        assert.equal(o.metadata.namespace, 'email-tests', `${o.kind} ${o.metadata.name}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cluster: `manifests` output applied by real kubectl (GitOps path)', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  before(async () => {
    fake = await startFakeKube();
  });
  after(async () => {
    await fake.close();
  });

  it('kubectl apply --server-side of `manifests -o json` (a v1 List) runs the sink; `status` sees it; kubectl finds it by label; `down` removes it', async () => {
    const rendered = await runCli(['manifests', '--ttl', '1h', '--generate-token', '-o', 'json']);
    assert.equal(rendered.code, 0, rendered.stderr);
    const file = join(fake.dir, 'sink.json');
    writeFileSync(file, rendered.stdout);
    const ns = 'email-validation';
    const env = fake.kubectlEnv();
    await run(
      'kubectl',
      [
        'apply',
        '--server-side',
        '--validate=false',
        '--field-manager',
        'kubectl-email-validate',
        '-f',
        file,
      ],
      { env },
    );
    await waitForSinkReady(connect({ kubeconfig: fake.kubeconfigPath }), ns, {
      replicas: 1,
      timeoutMs: 20_000,
    });
    const listed = await run(
      'kubectl',
      [
        'get',
        'namespaces',
        '-l',
        'app.kubernetes.io/managed-by=kubectl-email-validate',
        '-o',
        'name',
      ],
      { env },
    );
    assert.equal(listed.stdout.trim(), `namespace/${ns}`);
    const status = await runCli(['status', '-o', 'json'], { KUBECONFIG: fake.kubeconfigPath });
    assert.deepEqual(
      (JSON.parse(status.stdout) as Array<{ namespace: string; ready: number; ttl: string }>).map(
        (s) => [s.namespace, s.ready, s.ttl],
      ),
      [[ns, 1, '1h']],
    );
    const down = await runCli(['down', '--all'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(fake.get('namespaces', undefined, ns), undefined);
    const again = await runCli(['down', '--all', '-o', 'json'], {
      KUBECONFIG: fake.kubeconfigPath,
    });
    assert.equal(again.code, 0, `down --all is idempotent: ${again.stderr}`);
    assert.deepEqual(JSON.parse(again.stdout), []);
  });
});
