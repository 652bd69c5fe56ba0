/**
 * A user with exactly the documented Role (manifests/rbac/role.yaml, bound in
 * one namespace) runs the whole tour against the strict fake: up, send, tail,
 * run with a job step, check --in-cluster, down. Then, for every right the
 * pre-checks ask for, a Role with that one verb removed: the command that
 * needs it names the missing right and exits 3 before creating anything.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  accessChecks,
  describeCheck,
  renderClusterRoleYaml,
  renderRoleYaml,
  type AccessCheck,
  type Activity,
} from '../../../src/required-access.ts';
import { startFakeKube, type FakeKube, type FakeUser } from '../../support/fake-kube/index.ts';
import type { KubeObject } from '../../support/fake-kube/index.ts';
import { runCli } from '../cli/cli-harness.ts';
import { requireRedisServer } from '../../support/redis-server.ts';

type Obj = Record<string, any>;
const NS = 'team';

const FLOW = `apiVersion: email-validate.dev/v1
kind: EmailFlow
steps:
  - name: job sends mail
    job:
      image: node:24-alpine
      runAsUser: 1000
      command: [node, -e]
      args:
        - >-
          const s = require('node:net').connect(1025, process.env.SMTP_HOST);
          const q = ['EHLO job', 'MAIL FROM:<job@x.test>', 'RCPT TO:<rbac+{{run.id}}@example.test>', 'DATA', 'Subject: rbac\\r\\n\\r\\nhello\\r\\n.', 'QUIT'];
          s.on('data', (d) => { if (/^[45]/m.test(String(d))) process.exit(1); const n = q.shift(); if (n) s.write(n + '\\r\\n'); });
          s.on('close', () => process.exit(0));
      env:
        SMTP_HOST: "email-sink.{{sink.namespace}}.svc.cluster.local"
  - expect: { to: "rbac+{{run.id}}@example.test", subject: rbac }
`;

/** The Role of manifests/rbac/role.yaml for NS, optionally without one verb on one resource. */
function role(without?: AccessCheck): Obj {
  const r = parse(renderRoleYaml(NS)) as Obj;
  assert.deepEqual(
    r,
    {
      ...parse(readFileSync(new URL('../../../manifests/rbac/role.yaml', import.meta.url), 'utf8')),
      metadata: { name: 'email-validate', namespace: NS },
    },
    'the documented Role',
  );
  if (without) {
    const res = without.subresource
      ? `${without.resource}/${without.subresource}`
      : without.resource;
    for (const rule of r.rules) {
      if (rule.apiGroups.includes(without.group ?? '') && rule.resources.includes(res))
        rule.verbs = rule.verbs.filter((v: string) => v !== without.verb);
    }
    r.rules = r.rules.filter((rule: Obj) => rule.verbs.length > 0);
  }
  return r;
}

/** resourceVersions of everything the plugin creates in NS: unchanged means nothing was created, patched or deleted. */
function snapshot(kube: FakeKube): string {
  const kinds = ['configmaps', 'secrets', 'deployments', 'services', 'networkpolicies', 'jobs'];
  return kinds
    .flatMap((k) =>
      kube
        .list(k, NS)
        .map((o: KubeObject) => `${k}/${o.metadata.name}@${o.metadata.resourceVersion}`),
    )
    .sort()
    .join('\n');
}

describe('a user with exactly the documented Role (fake API server with RBAC and Pod Security)', function () {
  this.timeout(600_000);
  let kube: FakeKube;
  let dir: string;

  before(async () => {
    // 1.35 mode: the port-forward also needs create pods/portforward, and the pre-check asks for it.
    kube = await startFakeKube({ websocketUpgradeNeedsCreate: true });
    dir = kube.dir;
    kube.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
  });
  after(async () => {
    await kube?.close();
  });

  let serial = 0;
  function userWith(roleObj: Obj): FakeUser {
    serial++;
    const name = `dev${serial}`;
    kube.create({
      ...roleObj,
      metadata: { ...roleObj.metadata, name: `email-validate-${serial}` },
    });
    return kube.addUser(name, {
      namespace: NS,
      grants: [{ kind: 'Role', name: `email-validate-${serial}`, namespace: NS }],
    });
  }

  const cli = (user: FakeUser, args: string[], timeoutMs = 120_000) =>
    runCli(args, { env: { KUBECONFIG: user.kubeconfigPath }, timeoutMs });

  it('runs up, send, tail, run (job step), check --in-cluster and down with nothing more', async function () {
    requireRedisServer(this); // check --in-cluster runs Redis in the fake cluster
    const earlier = new Set(kube.requests);
    const user = userWith(role());
    const up = await cli(user, ['up', '-n', NS, '-o', 'json']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout).namespace, NS);

    const send = await cli(user, [
      'send',
      '-n',
      NS,
      '--to',
      'tour@example.test',
      '--subject',
      'tour',
    ]);
    assert.equal(send.code, 0, `${send.stdout}\n${send.stderr}`);
    const tail = await cli(user, ['tail', '-n', NS, '--no-follow', '-o', 'json']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /tour@example\.test/);

    const flow = join(dir, 'rbac-flow.yaml');
    writeFileSync(flow, FLOW);
    const run = await cli(user, ['run', '-n', NS, flow]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /✓ job sends mail: job node:24-alpine completed/);

    const list = join(dir, 'list.txt');
    writeFileSync(list, 'a@example.com\nb@example.org\nnot an address\n');
    const check = await cli(user, [
      'check',
      list,
      '--in-cluster',
      '--shards',
      '1',
      '--offline',
      '-n',
      NS,
      '-o',
      'jsonl',
    ]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout.trim().split('\n').length, 3);

    const status = await cli(user, ['status', '-o', 'json']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      /"namespace": ?"team"/,
      "without cluster-wide rights, status looks in the context's namespace",
    );
    const statusN = await cli(user, ['status', '-n', NS]);
    assert.equal(statusN.code, 0, statusN.stderr);

    const down = await cli(user, ['down', NS]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(kube.get('deployments', NS, 'email-sink'), undefined, 'the sink is gone');
    assert.ok(kube.get('namespaces', undefined, NS), 'a namespace the plugin did not create stays');
    // Nothing was refused along the way but the cluster-wide lists status tries first (and falls back from).
    assert.ok(
      !kube.requests
        .filter((r) => !earlier.has(r))
        .some(
          (r) =>
            r.status === 403 &&
            !/^\/api\/v1\/namespaces$|^\/apis\/apps\/v1\/deployments$/.test(r.path),
        ),
      `no 403: ${kube.requests
        .filter((r) => r.status === 403)
        .map((r) => `${r.method} ${r.path}`)
        .join(', ')}`,
    );
  });

  it('the documented ClusterRole is enough for up and down without -n (a namespace of its own)', async () => {
    const earlier = new Set(kube.requests);
    const cr = parse(renderClusterRoleYaml()) as Obj;
    kube.create(cr as KubeObject);
    const user = kube.addUser('cluster-dev', {
      grants: [{ kind: 'ClusterRole', name: cr.metadata.name }],
    });
    const up = await cli(user, ['up', '-o', 'json']);
    assert.equal(up.code, 0, up.stderr);
    const { namespace } = JSON.parse(up.stdout) as { namespace: string };
    assert.match(namespace, /^email-validation-/);
    const status = await cli(user, ['status', '-o', 'json']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(namespace));
    const down = await cli(user, ['down', namespace]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(kube.get('namespaces', undefined, namespace), undefined);
    // run without -n creates (and removes) a sink of its own, and runs the job step in it.
    const flow = join(dir, 'rbac-flow-cluster.yaml');
    writeFileSync(flow, FLOW);
    const run = await cli(user, ['run', flow]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.ok(
      !kube.list('namespaces').some((n) => n.metadata.name?.startsWith('email-validation-')),
      'nothing left behind',
    );
    assert.ok(
      !kube.requests.filter((r) => !earlier.has(r)).some((r) => r.status === 403),
      'the ClusterRole was enough',
    );
    // Without the ClusterRole, the same user is told about -n before anything is created.
    const plain = kube.addUser('nobody');
    const refused = await cli(plain, ['up']);
    assert.equal(refused.code, 3);
    assert.match(
      refused.stderr,
      /you cannot create namespaces in context .*\n.*use -n EXISTING_NAMESPACE/,
    );
  });

  it('with any one verb removed, the pre-check names exactly that right and nothing is created', async () => {
    // An admin's sink for the commands that reach an existing one.
    const admin = await runCli(['up', '-n', NS], {
      env: { KUBECONFIG: kube.kubeconfigPath },
      timeoutMs: 120_000,
    });
    assert.equal(admin.code, 0, admin.stderr);
    const flow = join(dir, 'rbac-flow.yaml');
    writeFileSync(flow, FLOW);
    const list = join(dir, 'list.txt');
    writeFileSync(list, 'a@example.com\n');
    const commands: Array<[Activity, string[]]> = [
      ['up', ['up', '-n', NS]],
      ['sink', ['send', '-n', NS, '--to', 'x@example.test']],
      ['job', ['run', '-n', NS, flow]],
      ['check-in-cluster', ['check', list, '--in-cluster', '--shards', '1', '--offline', '-n', NS]],
    ];
    const ctx = { namespace: NS, newNamespace: false, kubernetes135: true };
    const seen = new Set<string>();
    for (const [activity, args] of commands) {
      for (const c of accessChecks([activity], ctx)) {
        const key = describeCheck(c);
        if (seen.has(key)) continue;
        seen.add(key);
        const user = userWith(role(c));
        const before = snapshot(kube);
        const r = await cli(user, args);
        assert.equal(r.code, 3, `${args[0]} without ${key}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(
            `^error: missing permissions in namespace ${NS}: ${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\[EV_ERR_KUBE_FORBIDDEN\\]$`,
            'm',
          ),
          `${args[0]} names ${key}:\n${r.stderr}`,
        );
        assert.equal(snapshot(kube), before, `${args[0]} without ${key} changed nothing`);
      }
    }
    // Every namespaced right of the Role that a pre-check asks for was tried.
    assert.ok(seen.size >= 20, `${seen.size} rights tried`);
  });

  it('before Kubernetes 1.35, `get pods/portforward` alone is enough for the tunnel (and the pre-check does not ask for create)', async () => {
    kube.websocketUpgradeNeedsCreate = false;
    try {
      if (!kube.get('deployments', NS, 'email-sink')) {
        const admin = await runCli(['up', '-n', NS], {
          env: { KUBECONFIG: kube.kubeconfigPath },
          timeoutMs: 120_000,
        });
        assert.equal(admin.code, 0, admin.stderr);
      }
      const user = userWith(role({ verb: 'create', resource: 'pods', subresource: 'portforward' }));
      const send = await cli(user, ['send', '-n', NS, '--to', 'old@example.test']);
      assert.equal(send.code, 0, `${send.stdout}\n${send.stderr}`);
    } finally {
      kube.websocketUpgradeNeedsCreate = true;
    }
  });
});
