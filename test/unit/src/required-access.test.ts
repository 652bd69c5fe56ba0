import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  REQUIRED_ACCESS,
  accessChecks,
  describeCheck,
  renderAccessTable,
  renderClusterRoleYaml,
  renderRoleYaml,
} from '../../../src/required-access.ts';
import { bootstrapRbacObjects, ruleAllows } from '../../support/fake-kube/rbac.ts';
import type { PolicyRule } from '../../support/fake-kube/rbac.ts';

import {
  CLUSTER_DOC as DOCS,
  CLUSTER_ROLE,
  ROLE,
  rbacTable,
} from '../../support/render-manifests.ts';

function docsTable(text: string): { before: string; table: string; after: string } {
  const parts = rbacTable(text);
  assert.ok(parts, 'docs/cluster.md has the rbac-table markers');
  return parts;
}

describe('required access (src/required-access.ts): one list for the pre-check, the docs and the example roles', () => {
  it("docs/cluster.md's RBAC table is the rendered list (regenerate: npm run generate; this test only compares)", () => {
    assert.equal(
      docsTable(readFileSync(DOCS, 'utf8')).table,
      renderAccessTable(),
      'the RBAC table in docs/cluster.md is stale: regenerate it with npm run generate',
    );
  });

  it('manifests/rbac/role.yaml and clusterrole.yaml are the rendered roles', () => {
    assert.equal(
      readFileSync(ROLE, 'utf8'),
      renderRoleYaml(),
      'manifests/rbac/role.yaml is stale: regenerate it with npm run generate',
    );
    assert.equal(
      readFileSync(CLUSTER_ROLE, 'utf8'),
      renderClusterRoleYaml(),
      'manifests/rbac/clusterrole.yaml is stale: regenerate it with npm run generate',
    );
    const role = parse(readFileSync(ROLE, 'utf8'));
    assert.equal(role.kind, 'Role');
    assert.ok(
      !role.rules.some(
        (r: PolicyRule) => (r.resources ?? []).includes('namespaces') && r.verbs.includes('create'),
      ),
      'a Role cannot create namespaces',
    );
  });

  it('every check of every activity is granted by the example Role (with -n) or ClusterRole (without)', () => {
    const role = parse(readFileSync(ROLE, 'utf8')).rules as PolicyRule[];
    const cluster = parse(readFileSync(CLUSTER_ROLE, 'utf8')).rules as PolicyRule[];
    const granted = (rules: PolicyRule[], c: ReturnType<typeof accessChecks>[number]) =>
      rules.some((r) =>
        ruleAllows(r, {
          verb: c.verb,
          group: c.group ?? '',
          resource: c.resource,
          ...(c.subresource ? { subresource: c.subresource } : {}),
        }),
      );
    for (const activities of [['up'], ['sink'], ['job'], ['down'], ['check-in-cluster']] as const) {
      for (const c of accessChecks(activities, {
        namespace: 'team',
        newNamespace: false,
        kubernetes135: true,
        serviceMonitor: true,
      }))
        assert.ok(granted(role, c), `Role grants ${describeCheck(c)}`);
      for (const c of accessChecks(activities, {
        namespace: 'team',
        newNamespace: true,
        kubernetes135: true,
        serviceMonitor: true,
      }))
        assert.ok(granted(cluster, c), `ClusterRole grants ${describeCheck(c)}`);
    }
  });

  it('the built-in "edit" ClusterRole (as the fake bootstraps it from bootstrappolicy) is enough in a namespace, as the docs say', () => {
    const edit = bootstrapRbacObjects().find(
      (o) => o.kind === 'ClusterRole' && o.metadata.name === 'edit',
    ) as unknown as { rules: PolicyRule[] };
    for (const c of accessChecks(['up', 'sink', 'job', 'down', 'check-in-cluster'], {
      namespace: 'team',
      newNamespace: false,
      kubernetes135: true,
    })) {
      assert.ok(
        edit.rules.some((r) =>
          ruleAllows(r, {
            verb: c.verb,
            group: c.group ?? '',
            resource: c.resource,
            ...(c.subresource ? { subresource: c.subresource } : {}),
          }),
        ),
        `edit grants ${describeCheck(c)}`,
      );
    }
  });

  it('uses the real verbs: apply is patch+create, port-forward is get (+create on 1.35), cleanup is delete; conditions select rows', () => {
    const up = accessChecks(['up'], { namespace: 'ns', newNamespace: false }).map(describeCheck);
    for (const r of [
      'patch deployments.apps',
      'create deployments.apps',
      'get deployments.apps',
      'get namespaces',
      'delete deployments.apps',
      'list configmaps',
      'patch networkpolicies.networking.k8s.io',
    ])
      assert.ok(up.includes(r), r);
    assert.ok(!up.includes('create namespaces'), 'with -n no namespace is created');
    assert.ok(!up.some((r) => r.includes('servicemonitors')), 'only with --service-monitor');
    const fresh = accessChecks(['up'], { namespace: 'ns', newNamespace: true }).map(describeCheck);
    assert.ok(fresh.includes('create namespaces') && fresh.includes('delete namespaces'));
    assert.ok(!fresh.includes('list configmaps'), 'a whole namespace is deleted instead');
    const sink = accessChecks(['sink'], { namespace: 'ns', newNamespace: false }).map(
      describeCheck,
    );
    assert.deepEqual(sink, [
      'get deployments.apps',
      'list pods',
      'get secrets',
      'get pods/portforward',
    ]);
    assert.ok(
      accessChecks(['sink'], { namespace: 'ns', newNamespace: false, kubernetes135: true })
        .map(describeCheck)
        .includes('create pods/portforward'),
    );
    assert.deepEqual(
      accessChecks(['job'], { namespace: 'ns', newNamespace: false }).map(describeCheck),
      [
        'list pods',
        'patch jobs.batch',
        'create jobs.batch',
        'get jobs.batch',
        'delete jobs.batch',
        'get pods/log',
        'list events',
      ],
    );
    const cluster = accessChecks(['up'], { namespace: 'ns', newNamespace: true }).filter(
      (c) => c.resource === 'namespaces' && c.verb !== 'get',
    );
    assert.ok(
      cluster.every((c) => c.namespace === undefined),
      'cluster-scoped rights are asked without a namespace',
    );
    assert.ok(
      REQUIRED_ACCESS.every((e) =>
        e.verbs.every((v) =>
          [
            'get',
            'list',
            'watch',
            'create',
            'patch',
            'update',
            'delete',
            'deletecollection',
          ].includes(v),
        ),
      ),
    );
  });

  it('asks each right once, in the namespace when it is namespaced; the cluster-wide lists and service-http steps are not pre-checked', () => {
    const checks = accessChecks(['up', 'sink', 'job', 'down', 'check-in-cluster'], {
      namespace: 'ns',
      newNamespace: false,
    });
    const keys = checks.map((c) => JSON.stringify(c));
    assert.equal(new Set(keys).size, keys.length, 'no right is asked twice');
    // `delete jobs.batch` is needed both by job steps and by the cleanup: asked once.
    assert.deepEqual(
      checks.filter((c) => describeCheck(c) === 'delete jobs.batch'),
      [{ verb: 'delete', resource: 'jobs', group: 'batch', namespace: 'ns' }],
    );
    assert.deepEqual(accessChecks(['list-all'], { namespace: 'ns', newNamespace: false }), []);
    assert.deepEqual(accessChecks(['service-http'], { namespace: 'ns', newNamespace: false }), []);
  });
});
