/**
 * RBAC in the fake for a non-admin user: Roles and bindings stored and
 * enforced with the real verb mapping, SelfSubjectAccessReview answered by
 * the same authorizer, 403s worded as the real server words them; checked
 * with client-node, raw requests and real kubectl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { useFakeKube } from '../../support/fake-kube/mocha.ts';
import type { FakeKube, FakeUser } from '../../support/fake-kube/index.ts';
import { FAKE_KUBE_CA_PEM } from '../../support/fake-kube/index.ts';
import { clients, isReady, type KubectlResult } from './helpers.ts';

type Obj = Record<string, any>;

function kubectlAs(user: FakeUser, args: string[]): Promise<KubectlResult> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...user.kubectlEnv() };
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--cache-dir', env.KUBECACHEDIR, ...args],
      { env, timeout: 30_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'deployer', namespace: 'team' },
  rules: [
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'patch', 'create'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get'] },
  ],
};

describe('fake-kube RBAC for a non-admin user', function () {
  this.timeout(30_000);
  const fake = useFakeKube();
  let kube: FakeKube;
  let user: FakeUser;
  beforeEach(async () => {
    kube = fake();
    kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    kube.create(ROLE);
    user = kube.addUser('alice', {
      namespace: 'team',
      grants: [{ kind: 'Role', name: 'deployer', namespace: 'team' }],
    });
  });

  async function as(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; json: Obj }> {
    const r = await kube.request(method, path, {
      token: user.token,
      ...(body !== undefined
        ? { body: typeof body === 'string' ? body : JSON.stringify(body), contentType }
        : {}),
    });
    return { status: r.status, json: JSON.parse(r.body || '{}') };
  }

  it('server-side apply is authorised as patch, plus create when the object is new; 403 bodies as the real server words them', async () => {
    const cm = (name: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'team' },
      data: { a: '1' },
    });
    const applied = await as(
      'PATCH',
      '/api/v1/namespaces/team/configmaps/one?fieldManager=t',
      cm('one'),
      'application/apply-patch+yaml',
    );
    assert.equal(applied.status, 201, JSON.stringify(applied.json));
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'team' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'node:24-alpine' }] },
        },
      },
    };
    // patch is granted, create is not: a new Deployment is refused by the create check.
    const refused = await as(
      'PATCH',
      '/apis/apps/v1/namespaces/team/deployments/web?fieldManager=t',
      dep,
      'application/apply-patch+yaml',
    );
    assert.equal(refused.status, 403);
    assert.equal(
      refused.json.message,
      'deployments.apps "web" is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "team"',
    );
    assert.deepEqual(refused.json.details, { name: 'web', group: 'apps', kind: 'deployments' });
    // Once it exists (made by an admin), the same apply is a plain patch and passes.
    kube.create(dep);
    assert.equal(
      (
        await as(
          'PATCH',
          '/apis/apps/v1/namespaces/team/deployments/web?fieldManager=t',
          dep,
          'application/apply-patch+yaml',
        )
      ).status,
      200,
    );
    // No delete, no list of deployments, nothing in another namespace, no cluster scope.
    const del = await as('DELETE', '/apis/apps/v1/namespaces/team/deployments/web');
    assert.equal(
      del.json.message,
      'deployments.apps "web" is forbidden: User "alice" cannot delete resource "deployments" in API group "apps" in the namespace "team"',
    );
    assert.equal(
      (await as('GET', '/apis/apps/v1/namespaces/team/deployments')).json.message,
      'deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" in the namespace "team"',
    );
    assert.equal((await as('GET', '/api/v1/namespaces/default/configmaps/one')).status, 403);
    assert.equal(
      (await as('POST', '/api/v1/namespaces', { metadata: { name: 'x' } })).json.message,
      'namespaces is forbidden: User "alice" cannot create resource "namespaces" in API group "" at the cluster scope',
    );
    assert.equal(
      (
        await as(
          'GET',
          '/api/v1/namespaces/team/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1',
        )
      ).status,
      403,
      'watch is its own verb',
    );
    // Discovery is open to every authenticated user; a wrong token is still 401.
    assert.equal((await as('GET', '/apis')).status, 200);
    assert.equal(
      (await kube.request('GET', '/api/v1/namespaces/team/pods', { token: 'nope' })).status,
      401,
    );
  });

  it('subresources are their own resources: pods/log and the port-forward upgrade (get; get+create in 1.35 mode)', async () => {
    const { core } = clients(kube);
    await core.createNamespacedPod({
      namespace: 'team',
      body: {
        metadata: { name: 'p' },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'node:24-alpine',
              command: [
                'node',
                '-e',
                "require('net').createServer(s=>s.end('hi')).listen(7000, process.env.EV_HOST)",
              ],
              env: [{ name: 'EV_HOST', value: '0.0.0.0' }],
            },
          ],
        },
      },
    });
    await kube.waitFor('pods', (p) => p.metadata.name === 'p' && isReady(p as Obj));
    const log = await as('GET', '/api/v1/namespaces/team/pods/p/log');
    assert.equal(
      log.json.message,
      'pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "team"',
    );
    const upgrade = () =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(
          `wss://127.0.0.1:${kube.port}/api/v1/namespaces/team/pods/p/portforward?ports=7000`,
          ['v4.channel.k8s.io'],
          { ca: FAKE_KUBE_CA_PEM, headers: { authorization: `Bearer ${user.token}` } },
        );
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    assert.equal(await upgrade(), 101, 'get pods/portforward is enough on 1.32');
    kube.websocketUpgradeNeedsCreate = true;
    assert.equal(await upgrade(), 403, '1.35 also checks create');
    kube.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'pf-create', namespace: 'team' },
      rules: [{ apiGroups: [''], resources: ['pods/portforward'], verbs: ['create'] }],
    });
    kube.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'pf-create', namespace: 'team' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pf-create' },
      subjects: [{ kind: 'User', name: 'alice' }],
    });
    assert.equal(await upgrade(), 101);
  });

  it('SelfSubjectAccessReview answers from the same authorizer, and real kubectl agrees (auth can-i, forbidden get, can-i --list)', async () => {
    const review = await as('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: 'patch',
          group: 'apps',
          resource: 'deployments',
          namespace: 'team',
        },
      },
    });
    assert.equal(review.status, 201);
    assert.deepEqual(review.json.status, {
      allowed: true,
      reason:
        'RBAC: allowed by RoleBinding "alice-deployer/team" of Role "deployer" to User "alice"',
    });
    const no = await as('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      spec: {
        resourceAttributes: {
          verb: 'create',
          group: 'apps',
          resource: 'deployments',
          namespace: 'team',
        },
      },
    });
    assert.deepEqual(no.json.status, { allowed: false });

    const yes = await kubectlAs(user, ['auth', 'can-i', 'patch', 'deployments.apps', '-n', 'team']);
    assert.equal(yes.stdout.trim(), 'yes', yes.stderr);
    const pf = await kubectlAs(user, [
      'auth',
      'can-i',
      'get',
      'pods',
      '--subresource=portforward',
      '-n',
      'team',
    ]);
    assert.equal(pf.stdout.trim(), 'yes', pf.stderr);
    const nope = await kubectlAs(user, [
      'auth',
      'can-i',
      'delete',
      'deployments.apps',
      '-n',
      'team',
    ]);
    assert.equal(nope.code, 1);
    assert.equal(nope.stdout.trim(), 'no');
    const secret = await kubectlAs(user, ['get', 'secret', 'x', '-n', 'team']);
    assert.notEqual(secret.code, 0);
    assert.match(
      secret.stderr,
      /Error from server \(Forbidden\): secrets "x" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team"/,
    );
    const list = await kubectlAs(user, ['auth', 'can-i', '--list', '-n', 'team']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /deployments\.apps\s+\[\]\s+\[\]\s+\[get patch\]/);
    const got = await kubectlAs(user, ['get', 'pods', '-n', 'team']);
    assert.equal(got.code, 0, got.stderr);
  });

  it('Roles and bindings are ordinary objects: kubectl applies them as admin, and a ClusterRole bound in one namespace grants only there', async () => {
    const file = join(kube.dir, 'rbac.yaml');
    writeFileSync(
      file,
      `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-edit, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
`,
    );
    const env = { PATH: process.env.PATH ?? '', ...kube.kubectlEnv() };
    await new Promise<void>((resolve, reject) =>
      execFile(
        'kubectl',
        [
          '--kubeconfig',
          kube.kubeconfigPath,
          '--cache-dir',
          env.KUBECACHEDIR,
          'apply',
          '--server-side',
          '--validate=false',
          '-f',
          file,
        ],
        { env },
        (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve()),
      ),
    );
    const bob = kube.addUser('bob');
    const can = (verb: string, resource: string, ns: string) =>
      kubectlAs(bob, ['auth', 'can-i', verb, resource, '-n', ns]).then((r) => r.stdout.trim());
    assert.equal(await can('create', 'deployments.apps', 'team'), 'yes');
    assert.equal(await can('create', 'deployments.apps', 'default'), 'no');
    assert.equal(await can('create', 'namespaces', 'team'), 'no');
    assert.equal(await can('get', 'namespaces', 'team'), 'yes', 'edit includes the view rules');
    // A namespace request is "in" that namespace: the RoleBinding grants reading team, not default.
    assert.equal((await kubectlAs(bob, ['get', 'namespace', 'team'])).code, 0);
    assert.match(
      (await kubectlAs(bob, ['get', 'namespace', 'default'])).stderr,
      /namespaces "default" is forbidden: User "bob" cannot get resource "namespaces" in API group "" in the namespace "default"/,
    );
    const roles = await kubectlAs(bob, ['get', 'clusterroles']);
    assert.match(
      roles.stderr,
      /clusterroles\.rbac\.authorization\.k8s\.io is forbidden: User "bob" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope/,
    );
  });
});
