import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube } from '../../support/fake-kube/index.ts';
import { useFakeKube } from '../../support/fake-kube/mocha.ts';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import { clients, statusOf } from './helpers.ts';

type Obj = Record<string, any>;

const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const STRATEGIC = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const APPLY = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

/** A raw HTTPS request, for wire details client-node hides. */
function raw(
  kube: FakeKube,
  method: string,
  path: string,
  opts: { body?: string; contentType?: string; token?: string } = {},
) {
  return kube.request(method, path, opts);
}

async function rejectsWith(
  p: Promise<unknown>,
  code: number,
  reason: string,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    const s = statusOf(err);
    assert.equal(s.code, code, s.message);
    assert.equal(s.reason, reason);
    if (message) assert.match(s.message, message);
    return true;
  });
}

describe('fake-kube API (client-node)', function () {
  this.timeout(20_000);
  const fake = useFakeKube();
  let kube: FakeKube;
  beforeEach(() => {
    kube = fake();
  });

  it('serves discovery documents', async () => {
    const version = JSON.parse((await raw(kube, 'GET', '/version')).body);
    assert.equal(version.gitVersion, 'v1.32.4');
    const core = JSON.parse((await raw(kube, 'GET', '/api/v1')).body);
    const names = core.resources.map((r: Obj) => r.name);
    for (const n of [
      'namespaces',
      'pods',
      'pods/portforward',
      'pods/log',
      'services',
      'configmaps',
      'secrets',
      'serviceaccounts',
      'events',
    ])
      assert.ok(names.includes(n), n);
    const groups = JSON.parse((await raw(kube, 'GET', '/apis')).body).groups.map(
      (g: Obj) => g.name,
    );
    for (const g of [
      'apps',
      'batch',
      'networking.k8s.io',
      'authorization.k8s.io',
      'monitoring.coreos.com',
    ])
      assert.ok(groups.includes(g), g);
    const authz = JSON.parse((await raw(kube, 'GET', '/apis/authorization.k8s.io/v1')).body);
    assert.deepEqual(authz.resources[0].verbs, ['create']);
  });

  it('401 with a Status for a bad token, and when all tokens are rejected', async () => {
    const res = await raw(kube, 'GET', '/api/v1/namespaces', { token: 'wrong' });
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    kube.faults.rejectAllTokens = true;
    const { core } = clients(kube);
    // client-node surfaces a 401 with its code only (no body).
    await assert.rejects(
      core.listNamespace(),
      (err: unknown) => (err as { code?: number }).code === 401,
    );
  });

  it('fault: the next N requests fail (503 with Retry-After), discovery unaffected', async () => {
    kube.faults.failNextRequests(2);
    const a = await raw(kube, 'GET', '/api/v1/namespaces');
    assert.equal(a.status, 503);
    assert.equal(a.headers['retry-after'], '1');
    assert.equal(JSON.parse(a.body).reason, 'ServiceUnavailable');
    assert.equal((await raw(kube, 'GET', '/api/v1')).status, 200);
    assert.equal((await raw(kube, 'GET', '/api/v1/namespaces')).status, 503);
    assert.equal((await raw(kube, 'GET', '/api/v1/namespaces')).status, 200);
  });

  it('creates, reads, lists, updates and deletes with resourceVersion, uid, generation', async () => {
    const { core } = clients(kube);
    const cm = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'a', labels: { tier: 'web', env: 'prod' } }, data: { k: 'v' } },
    });
    assert.ok(cm.metadata?.uid);
    assert.ok(cm.metadata?.creationTimestamp);
    assert.equal(cm.metadata?.generation, 1);
    const rv1 = Number(cm.metadata?.resourceVersion);
    await rejectsWith(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } }),
      409,
      'AlreadyExists',
      /configmaps "a" already exists/,
    );
    await rejectsWith(
      core.readNamespacedConfigMap({ name: 'zzz', namespace: 'default' }),
      404,
      'NotFound',
      /configmaps "zzz" not found/,
    );

    cm.data = { k: 'v2' };
    const updated = await core.replaceNamespacedConfigMap({
      name: 'a',
      namespace: 'default',
      body: cm,
    });
    assert.ok(Number(updated.metadata?.resourceVersion) > rv1);
    // Stale resourceVersion: Conflict.
    await rejectsWith(
      core.replaceNamespacedConfigMap({ name: 'a', namespace: 'default', body: cm }),
      409,
      'Conflict',
      /the object has been modified/,
    );

    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'b', labels: { tier: 'db', env: 'prod' } } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'c', labels: { tier: 'web', env: 'dev', canary: 'true' } } },
    });
    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> => {
      const list = await core.listNamespacedConfigMap({
        namespace: 'default',
        labelSelector,
        fieldSelector,
      });
      assert.equal(list.kind, 'ConfigMapList');
      assert.ok(list.metadata?.resourceVersion);
      return list.items.map((i) => i.metadata?.name ?? '').filter((n) => n !== 'kube-root-ca.crt');
    };
    assert.deepEqual(await names('tier=web'), ['a', 'c']);
    assert.deepEqual(await names('tier=web,env!=dev'), ['a']);
    assert.deepEqual(await names('canary'), ['c']);
    assert.deepEqual(await names('!canary,env'), ['a', 'b']);
    assert.deepEqual(await names('tier in (db,cache)'), ['b']);
    assert.deepEqual(await names('tier notin (db),env=prod'), ['a']);
    assert.deepEqual(await names(undefined, 'metadata.name=b'), ['b']);
    assert.deepEqual(await names(undefined, 'metadata.name!=b'), ['a', 'c']);

    const page = await core.listNamespacedConfigMap({ namespace: 'default', limit: 2 });
    assert.equal(page.items.length, 2);
    assert.ok(page.metadata?._continue);
    const rest = await core.listNamespacedConfigMap({
      namespace: 'default',
      limit: 2,
      _continue: page.metadata?._continue,
    });
    assert.equal(page.items.length + rest.items.length, 4);

    const deleted = await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    assert.equal(deleted.status, 'Success');
    assert.equal(deleted.details?.name, 'a');
    await rejectsWith(
      core.readNamespacedConfigMap({ name: 'a', namespace: 'default' }),
      404,
      'NotFound',
    );
  });

  it('cluster-scoped and all-namespace lists; 404 for a missing namespace; 422 for invalid objects', async () => {
    const { core } = clients(kube);
    await core.createNamespace({ body: { metadata: { name: 'n1' } } });
    await core.createNamespacedSecret({
      namespace: 'n1',
      body: { metadata: { name: 's' }, stringData: { a: 'b' } },
    });
    const s = await core.readNamespacedSecret({ name: 's', namespace: 'n1' });
    assert.equal(s.data?.a, Buffer.from('b').toString('base64'));
    assert.equal(s.type, 'Opaque');
    const all = await core.listSecretForAllNamespaces();
    assert.deepEqual(
      all.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`),
      ['n1/s'],
    );
    await rejectsWith(
      core.createNamespacedSecret({ namespace: 'nope', body: { metadata: { name: 's' } } }),
      404,
      'NotFound',
      /namespaces "nope" not found/,
    );
    await rejectsWith(
      core.createNamespace({ body: { metadata: { name: 'Bad_Name' } } }),
      422,
      'Invalid',
      /Namespace "Bad_Name" is invalid: metadata.name/,
    );
    await rejectsWith(
      core.createNamespacedConfigMap({
        namespace: 'n1',
        body: { metadata: { name: 'big' }, data: { x: 'y'.repeat(1024 * 1024 + 1) } },
      }),
      422,
      'Invalid',
      /Too long/,
    );
    const gen = await core.createNamespacedConfigMap({
      namespace: 'n1',
      body: { metadata: { generateName: 'gen-' } },
    });
    assert.match(gen.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);
  });

  it('applies JSON patch, merge patch and strategic merge patch (lists merged by name); 415 otherwise', async () => {
    const { apps, core } = clients(kube);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { app: 'd' } },
          template: {
            metadata: { labels: { app: 'd' } },
            spec: {
              containers: [
                {
                  name: 'a',
                  image: 'nginx',
                  env: [{ name: 'X', value: '1' }],
                  ports: [{ containerPort: 80 }],
                },
                { name: 'b', image: 'busybox' },
              ],
            },
          },
        },
      },
    });
    let d = await apps.patchNamespacedDeployment({
      name: 'd',
      namespace: 'default',
      body: [
        { op: 'replace', path: '/spec/replicas', value: 0 },
        { op: 'add', path: '/metadata/labels', value: { x: 'y' } },
      ],
    });
    assert.equal(d.spec?.replicas, 0);
    assert.equal(d.metadata?.generation, 2);
    assert.deepEqual(d.metadata?.labels, { x: 'y' });
    d = await apps.patchNamespacedDeployment(
      { name: 'd', namespace: 'default', body: { metadata: { labels: { x: null, z: 'w' } } } },
      MERGE,
    );
    assert.deepEqual(d.metadata?.labels, { z: 'w' });
    d = await apps.patchNamespacedDeployment(
      {
        name: 'd',
        namespace: 'default',
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'a', env: [{ name: 'Y', value: '2' }], ports: [{ containerPort: 81 }] },
                  { name: 'c', image: 'node:24' },
                ],
              },
            },
          },
        },
      },
      STRATEGIC,
    );
    const containers = d.spec?.template.spec?.containers ?? [];
    assert.deepEqual(
      containers.map((c) => c.name),
      ['a', 'b', 'c'],
    );
    assert.equal(containers[0].image, 'nginx');
    assert.deepEqual(
      containers[0].env?.map((e) => e.name),
      ['X', 'Y'],
    );
    assert.deepEqual(
      containers[0].ports?.map((p) => p.containerPort),
      [80, 81],
    );
    d = await apps.patchNamespacedDeployment(
      {
        name: 'd',
        namespace: 'default',
        body: { spec: { template: { spec: { containers: [{ name: 'b', $patch: 'delete' }] } } } },
      },
      STRATEGIC,
    );
    assert.deepEqual(
      d.spec?.template.spec?.containers.map((c) => c.name),
      ['a', 'c'],
    );
    // A failing JSON Patch test op is 422; a bad content type is 415.
    await rejectsWith(
      apps.patchNamespacedDeployment({
        name: 'd',
        namespace: 'default',
        body: [{ op: 'test', path: '/spec/replicas', value: 9 }],
      }),
      422,
      'Invalid',
    );
    const res = await raw(kube, 'PATCH', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt', {
      body: '{}',
      contentType: 'application/xml',
    });
    assert.equal(res.status, 415);
    assert.equal(JSON.parse(res.body).reason, 'UnsupportedMediaType');
    void core;
  });

  it('server-side apply: creates, owns fields, removes dropped fields, conflicts between managers unless forced', async () => {
    const { core } = clients(kube);
    const cm = (
      data: Record<string, string>,
      labels?: Record<string, string>,
    ): k8s.V1ConfigMap => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: 'default', labels },
      data,
    });
    const created = await core.patchNamespacedConfigMap(
      {
        name: 'applied',
        namespace: 'default',
        body: cm({ a: '1', b: '2' }, { app: 'x' }),
        fieldManager: 'tool-a',
      },
      APPLY,
    );
    assert.deepEqual(created.data, { a: '1', b: '2' });
    const mf = created.metadata?.managedFields ?? [];
    assert.equal(mf.length, 1);
    assert.equal(mf[0].manager, 'tool-a');
    assert.equal(mf[0].operation, 'Apply');
    assert.deepEqual(mf[0].fieldsV1, {
      'f:data': { 'f:a': {}, 'f:b': {} },
      'f:metadata': { 'f:labels': { 'f:app': {} } },
    });

    // Re-apply without b: b is removed (tool-a owned it alone).
    const second = await core.patchNamespacedConfigMap(
      {
        name: 'applied',
        namespace: 'default',
        body: cm({ a: '1' }, { app: 'x' }),
        fieldManager: 'tool-a',
      },
      APPLY,
    );
    assert.deepEqual(second.data, { a: '1' });

    // Another manager setting a different value for a: conflict, then force.
    await rejectsWith(
      core.patchNamespacedConfigMap(
        { name: 'applied', namespace: 'default', body: cm({ a: '9' }), fieldManager: 'tool-b' },
        APPLY,
      ),
      409,
      'Conflict',
      /conflict with "tool-a": \.data\.a/,
    );
    const same = await core.patchNamespacedConfigMap(
      {
        name: 'applied',
        namespace: 'default',
        body: cm({ a: '1', c: '3' }),
        fieldManager: 'tool-b',
      },
      APPLY,
    );
    assert.deepEqual(same.data, { a: '1', c: '3' }, 'the same value is shared, not a conflict');
    const forced = await core.patchNamespacedConfigMap(
      {
        name: 'applied',
        namespace: 'default',
        body: cm({ a: '9', c: '3' }),
        fieldManager: 'tool-b',
        force: true,
      },
      APPLY,
    );
    assert.equal(forced.data?.a, '9');
    const owners = Object.fromEntries(
      (forced.metadata?.managedFields ?? []).map((m) => [m.manager, m.fieldsV1]),
    );
    assert.deepEqual(owners['tool-a'], { 'f:metadata': { 'f:labels': { 'f:app': {} } } });

    // dryRun changes nothing.
    await core.patchNamespacedConfigMap(
      {
        name: 'applied',
        namespace: 'default',
        body: cm({ a: 'dry', c: '3' }),
        fieldManager: 'tool-b',
        dryRun: 'All',
      },
      APPLY,
    );
    assert.equal(
      kube.get('configmaps', 'default', 'applied')?.data !== undefined &&
        (kube.get('configmaps', 'default', 'applied') as Obj).data.a,
      '9',
    );
    // Missing fieldManager is 400.
    await rejectsWith(
      core.patchNamespacedConfigMap({ name: 'applied', namespace: 'default', body: cm({}) }, APPLY),
      400,
      'BadRequest',
    );
  });

  it('server-side apply conflicts with fields set by create/update (Update managers), as on a real server', async () => {
    const { core } = clients(kube);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      fieldManager: 'creator',
      body: { metadata: { name: 'u' }, data: { a: '1' } },
    });
    let cm = await core.readNamespacedConfigMap({ name: 'u', namespace: 'default' });
    assert.deepEqual(
      cm.metadata?.managedFields?.map((m) => [m.manager, m.operation]),
      [['creator', 'Update']],
    );
    const applied = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'u', namespace: 'default' },
      data: { a: '2' },
    };
    await rejectsWith(
      core.patchNamespacedConfigMap(
        { name: 'u', namespace: 'default', body: applied, fieldManager: 'applier' },
        APPLY,
      ),
      409,
      'Conflict',
      /conflict with "creator" using v1: \.data\.a/,
    );
    cm = await core.patchNamespacedConfigMap(
      { name: 'u', namespace: 'default', body: applied, fieldManager: 'applier', force: true },
      APPLY,
    );
    assert.equal(cm.data?.a, '2');
    // An update by someone else takes the field over again.
    await core.patchNamespacedConfigMap(
      { name: 'u', namespace: 'default', fieldManager: 'editor', body: { data: { a: '3' } } },
      MERGE,
    );
    await rejectsWith(
      core.patchNamespacedConfigMap(
        { name: 'u', namespace: 'default', body: applied, fieldManager: 'applier' },
        APPLY,
      ),
      409,
      'Conflict',
      /conflict with "editor" using v1/,
    );
  });

  it('server-side apply merges keyed lists (containers by name) and keeps status', async () => {
    const { apps } = clients(kube);
    const deploy = (containers: k8s.V1Container[]): k8s.V1Deployment => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
      },
    });
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'default',
        body: deploy([{ name: 'a', image: 'node:24', command: ['sleep'] }]),
        fieldManager: 'm1',
      },
      APPLY,
    );
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'default',
        body: deploy([{ name: 'b', image: 'node:24', command: ['sleep'] }]),
        fieldManager: 'm2',
      },
      APPLY,
    );
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    assert.deepEqual(d.spec?.template.spec?.containers.map((c) => c.name).sort(), ['a', 'b']);
    const again = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'default', body: deploy([]), fieldManager: 'm1' },
      APPLY,
    );
    assert.deepEqual(
      again.spec?.template.spec?.containers.map((c) => c.name),
      ['b'],
      'm1 dropped its container',
    );
  });

  it('KubernetesObjectApi (discovery-driven) handles NetworkPolicy, ServiceMonitor and Service with server-side apply', async () => {
    const { objects } = clients(kube);
    const specs: Array<k8s.KubernetesObject & { spec: object }> = [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'np', namespace: 'default' },
        spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
      },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'sm', namespace: 'default' },
        spec: { selector: { matchLabels: { app: 'x' } }, endpoints: [{ port: 'http' }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'svc', namespace: 'default' },
        spec: { selector: { app: 'x' }, ports: [{ name: 'smtp', port: 25, targetPort: 2525 }] },
      },
    ];
    for (const spec of specs) {
      const created = await objects.patch(
        spec,
        undefined,
        undefined,
        'ev-test',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
      assert.ok(created.metadata?.uid, spec.kind);
      const read = await objects.read({
        apiVersion: spec.apiVersion,
        kind: spec.kind,
        metadata: { name: spec.metadata?.name ?? '', namespace: 'default' },
      });
      assert.equal(read.metadata?.name, spec.metadata?.name);
    }
    const svc = kube.get('services', 'default', 'svc') as Obj;
    assert.match(svc.spec.clusterIP, /^10\.96\./);
    assert.equal(svc.spec.ports[0].protocol, 'TCP');
    const list = await objects.list('monitoring.coreos.com/v1', 'ServiceMonitor', 'default');
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ['sm'],
    );
    await objects.delete({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'np', namespace: 'default' },
    });
    assert.equal(kube.get('networkpolicies', 'default', 'np'), undefined);
  });

  it('SelfSubjectAccessReview answers from the fault settings; 403 on namespace create', async () => {
    const { kc, core } = clients(kube);
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const review = (verb: string, resource: string, namespace?: string) =>
      authz.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb, resource, namespace } } },
      });
    assert.equal((await review('create', 'namespaces')).status?.allowed, true);
    kube.faults.denyNamespaceCreate();
    const denied = await review('create', 'namespaces');
    assert.equal(denied.status?.allowed, false);
    assert.equal((await review('create', 'configmaps', 'default')).status?.allowed, true);
    await rejectsWith(
      core.createNamespace({ body: { metadata: { name: 'x' } } }),
      403,
      'Forbidden',
      /^namespaces is forbidden: User ".*" cannot create resource "namespaces" in API group "" at the cluster scope$/,
    );
    kube.faults.denyNamespaceCreate(false);
    await core.createNamespace({ body: { metadata: { name: 'x' } } });
  });

  it('namespace deletion: Terminating, children deleted, creates refused with 403, then 404', async () => {
    const { core } = clients(kube);
    kube.faults.setDelays({ namespaceDeleteMs: 200 });
    await core.createNamespace({ body: { metadata: { name: 'gone' } } });
    await core.createNamespacedConfigMap({ namespace: 'gone', body: { metadata: { name: 'c' } } });
    const res = await core.deleteNamespace({ name: 'gone' });
    assert.equal((res as Obj).status?.phase, 'Terminating');
    const ns = await core.readNamespace({ name: 'gone' });
    assert.equal(ns.status?.phase, 'Terminating');
    assert.ok(ns.metadata?.deletionTimestamp);
    await rejectsWith(
      core.createNamespacedConfigMap({ namespace: 'gone', body: { metadata: { name: 'd' } } }),
      403,
      'Forbidden',
      /unable to create new content in namespace gone because it is being terminated/,
    );
    await waitForGone(() => core.readNamespace({ name: 'gone' }));
    assert.equal(kube.list('configmaps', 'gone').length, 0);
  });

  it('watch: ADDED/MODIFIED/DELETED from a resourceVersion, bookmarks, and 410 Expired forces a relist', async () => {
    const { kc, core } = clients(kube);
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const rv = list.metadata?.resourceVersion ?? '';
    const events: Array<{ type: string; name?: string; code?: number }> = [];
    const watch = new k8s.Watch(kc);
    let done!: (err?: unknown) => void;
    const ended = new Promise<unknown>((r) => {
      done = r;
    });
    const req = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rv, allowWatchBookmarks: true, labelSelector: 'w=1' },
      (type, obj: Obj) => {
        events.push({ type, name: obj.metadata?.name, code: obj.code });
      },
      (err) => done(err),
    );
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'w1', labels: { w: '1' } } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'other' } },
    });
    await core.patchNamespacedConfigMap(
      { name: 'w1', namespace: 'default', body: { data: { a: 'b' } } },
      MERGE,
    );
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
    await waitFor(() => events.filter((e) => e.type !== 'BOOKMARK').length >= 3);
    assert.deepEqual(
      events.filter((e) => e.type !== 'BOOKMARK'),
      [
        { type: 'ADDED', name: 'w1', code: undefined },
        { type: 'MODIFIED', name: 'w1', code: undefined },
        { type: 'DELETED', name: 'w1', code: undefined },
      ],
    );

    assert.equal(kube.faults.expireWatches(), 1);
    await ended;
    assert.deepEqual(events.at(-1), { type: 'ERROR', name: undefined, code: 410 });
    req.abort();
    // Resuming from the old resourceVersion is now 410 as well: the client must relist.
    const res = await raw(
      kube,
      'GET',
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    const first = JSON.parse(res.body.split('\n')[0]);
    assert.equal(first.type, 'ERROR');
    assert.equal(first.object.code, 410);
    assert.equal(first.object.reason, 'Expired');

    kube.faults.expireNextWatches(1);
    const fresh = await core.listNamespacedConfigMap({ namespace: 'default' });
    const again = await raw(
      kube,
      'GET',
      `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${fresh.metadata?.resourceVersion}`,
    );
    assert.equal(JSON.parse(again.body.split('\n')[0]).object.code, 410);
  });

  it('watch with a label selector: objects entering or leaving it are ADDED or DELETED', async () => {
    const { kc, core } = clients(kube);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'm', labels: { sel: 'no' } } },
    });
    const rv = (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata
      ?.resourceVersion;
    const got: string[] = [];
    const req = await new k8s.Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rv, labelSelector: 'sel=yes' },
      (type, obj: Obj) => got.push(`${type}:${obj.metadata?.labels?.sel}`),
      () => undefined,
    );
    await core.patchNamespacedConfigMap(
      { name: 'm', namespace: 'default', body: { metadata: { labels: { sel: 'yes' } } } },
      MERGE,
    );
    await core.patchNamespacedConfigMap(
      { name: 'm', namespace: 'default', body: { data: { a: '1' } } },
      MERGE,
    );
    await core.patchNamespacedConfigMap(
      { name: 'm', namespace: 'default', body: { metadata: { labels: { sel: 'later' } } } },
      MERGE,
    );
    await waitFor(() => got.length >= 3);
    assert.deepEqual(got, ['ADDED:yes', 'MODIFIED:yes', 'DELETED:later']);
    req.abort();
  });

  it('watch without resourceVersion starts with ADDED for what exists; bookmarks when allowed', async () => {
    const fast = await startFakeKube({ bookmarkIntervalMs: 20 });
    try {
      const { kc } = clients(fast);
      const got: string[] = [];
      const watch = new k8s.Watch(kc);
      const req = await watch.watch(
        '/api/v1/namespaces',
        { allowWatchBookmarks: true },
        (type, obj: Obj) => got.push(`${type}:${obj.metadata?.name ?? ''}`),
        () => undefined,
      );
      await waitFor(() => got.some((g) => g.startsWith('BOOKMARK')));
      assert.deepEqual(got.filter((g) => g.startsWith('ADDED')).sort(), [
        'ADDED:default',
        'ADDED:kube-node-lease',
        'ADDED:kube-public',
        'ADDED:kube-system',
      ]);
      req.abort();
    } finally {
      await fast.close();
    }
  });

  it('ListWatch informer sees changes', async () => {
    const { kc, core } = clients(kube);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const added: string[] = [];
    informer.on('add', (obj) => added.push(obj.metadata?.name ?? ''));
    await informer.start();
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'inf' } },
    });
    await waitFor(() => added.includes('inf'));
    await informer.stop();
  });

  it('pods/log: tailLines, unknown container 400, waiting container 400', async () => {
    const { core } = clients(kube);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'p' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'c',
              image: 'node:24',
              command: ['node', '-e', 'for (let i = 1; i <= 5; i++) console.log("line " + i)'],
            },
          ],
        },
      },
    });
    await kube.waitFor('pods', (p) => (p as Obj).status?.phase === 'Succeeded');
    assert.equal(
      await core.readNamespacedPodLog({ name: 'p', namespace: 'default', tailLines: 2 }),
      'line 4\nline 5\n',
    );
    await rejectsWith(
      core.readNamespacedPodLog({ name: 'p', namespace: 'default', container: 'nope' }),
      400,
      'BadRequest',
      /container nope is not valid/,
    );
    kube.faults.podNeverReady({ reason: 'ImagePullBackOff', namePrefix: 'stuck' });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'stuck' },
        spec: { containers: [{ name: 'c', image: 'node:24' }] },
      },
    });
    await kube.waitFor(
      'pods',
      (p) =>
        p.metadata.name === 'stuck' &&
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
    );
    await rejectsWith(
      core.readNamespacedPodLog({ name: 'stuck', namespace: 'default' }),
      400,
      'BadRequest',
      /is waiting to start: ImagePullBackOff/,
    );
  });

  it('DELETE with gracePeriodSeconds=0 over the wire removes a running pod at once', async () => {
    await kube.request('POST', '/api/v1/namespaces/default/pods', {
      contentType: 'application/json',
      body: JSON.stringify({
        metadata: { name: 'p' },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'node:24',
              command: [
                'node',
                '-e',
                'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)',
              ],
            },
          ],
        },
      }),
    });
    await kube.waitFor('pods', (p) => (p as Obj).status?.phase === 'Running');
    const res = await kube.request(
      'DELETE',
      '/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0',
    );
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).kind, 'Pod');
    assert.equal(kube.get('pods', 'default', 'p'), undefined);
  });

  it('status subresource: main writes keep status, /status writes keep spec', async () => {
    const { apps } = clients(kube);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'd' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { a: 'b' } },
          template: {
            metadata: { labels: { a: 'b' } },
            spec: { containers: [{ name: 'c', image: 'node:24' }] },
          },
        },
      },
    });
    await kube.waitFor('deployments', (d) => (d as Obj).status?.observedGeneration === 1);
    const d = await apps.patchNamespacedDeployment(
      { name: 'd', namespace: 'default', body: { status: { replicas: 42 } } },
      MERGE,
    );
    assert.notEqual(d.status?.replicas, 42);
    const s = await apps.patchNamespacedDeploymentStatus(
      {
        name: 'd',
        namespace: 'default',
        body: { spec: { replicas: 7 }, status: { observedGeneration: 99 } },
      },
      MERGE,
    );
    assert.equal(s.spec?.replicas, 0);
    assert.equal(s.status?.observedGeneration, 99);
  });

  it('deleting a Deployment garbage-collects its ReplicaSet and pods', async () => {
    const { apps } = clients(kube);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'd' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { a: 'b' } },
          template: {
            metadata: { labels: { a: 'b' } },
            spec: {
              containers: [
                {
                  name: 'c',
                  image: 'node:24',
                  command: ['node', '-e', 'setInterval(() => {}, 1000)'],
                },
              ],
            },
          },
        },
      },
    });
    await kube.waitFor('deployments', (d) => (d as Obj).status?.readyReplicas === 2);
    await apps.deleteNamespacedDeployment({ name: 'd', namespace: 'default' });
    await waitFor(
      () =>
        kube.list('pods', 'default').length === 0 &&
        kube.list('replicasets', 'default').length === 0,
    );
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met before deadline');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function waitForGone(read: () => Promise<unknown>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await read();
    } catch (err) {
      if (statusOf(err).code === 404) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error('still there');
    await new Promise((r) => setTimeout(r, 20));
  }
}
