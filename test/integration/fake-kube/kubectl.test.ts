import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useFakeKube } from '../../support/fake-kube/mocha.ts';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import { clients, HTTP_SERVER_SCRIPT, httpGet, isReady, kubectl, localForward } from './helpers.ts';

type Obj = Record<string, any>;

/** The same objects a user would keep in a manifest file. */
function manifest(ns: string): string {
  const indented = HTTP_SERVER_SCRIPT.trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
  labels: {team: qa}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-script, namespace: ${ns}}
data:
  server.mjs: |
${indented}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: node:24-alpine
        command: [node, /app/server.mjs]
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: EV_HOST, value: 0.0.0.0}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        readinessProbe: {httpGet: {path: /readyz, port: http}}
        volumeMounts: [{name: app, mountPath: /app}]
      volumes: [{name: app, configMap: {name: web-script}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;
}

describe('fake-kube with real kubectl 1.32', function () {
  this.timeout(60_000);
  const fake = useFakeKube();
  let kube: FakeKube;
  beforeEach(() => {
    kube = fake();
  });

  it('kubectl get ns lists the built-in namespaces', async () => {
    const r = await kubectl(kube, ['get', 'ns']);
    assert.equal(r.code, 0, r.stderr);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      assert.match(r.stdout, new RegExp(`^${ns}\\s`, 'm'));
    const v = await kubectl(kube, ['version', '-o', 'json']);
    assert.equal(JSON.parse(v.stdout).serverVersion.gitVersion, 'v1.32.4');
  });

  it('kubectl apply --server-side deploys a node HTTP server that becomes Ready and is reachable through port-forward', async () => {
    const file = join(kube.dir, 'manifest.yaml');
    writeFileSync(file, manifest('demo'));
    const applied = await kubectl(kube, ['apply', '--server-side', '--validate=false', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(applied.stdout.trim().split('\n'), [
      'namespace/demo serverside-applied',
      'configmap/web-script serverside-applied',
      'deployment.apps/web serverside-applied',
      'service/web serverside-applied',
    ]);
    const cm = kube.get('configmaps', 'demo', 'web-script') as Obj;
    assert.equal(cm.metadata.managedFields[0].manager, 'kubectl');
    assert.equal(cm.metadata.managedFields[0].operation, 'Apply');

    const waited = await kubectl(kube, [
      'wait',
      '--for=condition=Available',
      'deployment/web',
      '-n',
      'demo',
      '--timeout=20s',
    ]);
    assert.equal(waited.code, 0, waited.stderr);
    const rollout = await kubectl(kube, [
      'rollout',
      'status',
      'deployment/web',
      '-n',
      'demo',
      '--timeout=20s',
    ]);
    assert.match(rollout.stdout, /successfully rolled out/);

    const table = await kubectl(kube, ['get', 'pods', '-n', 'demo']);
    assert.match(
      table.stdout,
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb-[a-z0-9]+-[a-z0-9]+\s+1\/1\s+Running\s+0\s+\d+s\n$/,
      'server-side Table columns',
    );
    const pods = await kubectl(kube, ['get', 'pods', '-n', 'demo', '-o', 'json']);
    assert.equal(pods.code, 0, pods.stderr);
    const list = JSON.parse(pods.stdout) as Obj;
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 1);
    const pod = list.items[0];
    assert.equal(pod.status.phase, 'Running');
    assert.ok(isReady(pod));

    const { kc } = clients(kube);
    const fwd = await localForward(kc, 'demo', pod.metadata.name, 8080);
    try {
      const res = await httpGet(fwd.port, '/through-kubectl');
      assert.equal(JSON.parse(res.body).pod, pod.metadata.name);
    } finally {
      await fwd.close();
    }

    // Re-applying is idempotent: nothing changes, not even resourceVersions.
    const again = await kubectl(kube, ['apply', '--server-side', '--validate=false', '-f', file]);
    assert.equal(again.code, 0, again.stderr);
    const after = kube.get('deployments', 'demo', 'web') as Obj;
    assert.equal(after.metadata.generation, 1);
    assert.equal(
      (kube.get('configmaps', 'demo', 'web-script') as Obj).metadata.resourceVersion,
      cm.metadata.resourceVersion,
    );
  });

  it('kubectl delete ns waits until the namespace is gone', async () => {
    kube.faults.setDelays({ namespaceDeleteMs: 300 });
    const { core } = clients(kube);
    await core.createNamespace({ body: { metadata: { name: 'bye' } } });
    await core.createNamespacedConfigMap({ namespace: 'bye', body: { metadata: { name: 'x' } } });
    const r = await kubectl(kube, ['delete', 'ns', 'bye']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace "bye" deleted/);
    assert.equal(
      kube.get('namespaces', undefined, 'bye'),
      undefined,
      'kubectl returned only once the namespace was gone',
    );
    assert.equal(kube.list('configmaps', 'bye').length, 0);
    const missing = await kubectl(kube, ['delete', 'ns', 'bye']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Error from server \(NotFound\): namespaces "bye" not found/);
  });

  it('kubectl create (protobuf request bodies) and kubectl auth can-i', async () => {
    for (const args of [
      ['create', 'ns', 'pb'],
      ['create', 'configmap', 'c', '--from-literal=a=b', '-n', 'pb'],
      ['create', 'secret', 'generic', 's', '--from-literal=k=v', '-n', 'pb'],
    ]) {
      const r = await kubectl(kube, args);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual((kube.get('configmaps', 'pb', 'c') as Obj).data, { a: 'b' });
    assert.deepEqual((kube.get('secrets', 'pb', 's') as Obj).data, {
      k: Buffer.from('v').toString('base64'),
    });
    assert.equal(
      (await kubectl(kube, ['auth', 'can-i', 'create', 'namespaces'])).stdout.trim(),
      'yes',
    );
    kube.faults.denyNamespaceCreate();
    const no = await kubectl(kube, ['auth', 'can-i', 'create', 'namespaces']);
    assert.equal(no.code, 1);
    assert.match(no.stdout, /^no/);
  });

  it("kubectl shows the server's Forbidden and Unauthorized errors", async () => {
    const file = join(kube.dir, 'ns.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: denied}\n');
    kube.faults.denyNamespaceCreate();
    const r = await kubectl(kube, ['apply', '--server-side', '--validate=false', '-f', file]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /namespaces "denied" is forbidden: User ".+" cannot create resource "namespaces" in API group "" at the cluster scope/,
    );
    kube.faults.rejectAllTokens = true;
    const u = await kubectl(kube, ['get', 'pods']);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /You must be logged in to the server|Unauthorized/);
  });
});
