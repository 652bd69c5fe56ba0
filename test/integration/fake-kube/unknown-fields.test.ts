/**
 * Unknown fields are not stored (issue 8: "what is stored is what a real
 * server would store"): Warn (the default) drops them with a Warning header,
 * Strict refuses, Ignore is silent; real kubectl reads back what was kept.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { kubectl } from './helpers.ts';

const POLICY = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace: 'default' },
  spec: {
    podSelector: {},
    // `_from` is client-node's TypeScript spelling; the API's field is `from`.
    ingress: [{ _from: [{ podSelector: {} }], ports: [{ port: 8025, protocol: 'TCP', bogus: 1 }] }],
  },
};

describe("fake-kube: unknown fields, decoded against the kind's schema", function () {
  this.timeout(30_000);
  let fake: FakeKube;
  beforeEach(async () => {
    fake = await startFakeKube();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('create (default Warn): stored without them, one Warning header per field', async () => {
    const res = await fake.request(
      'POST',
      '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies',
      { body: JSON.stringify(POLICY), contentType: 'application/json' },
    );
    assert.equal(res.status, 201, res.body);
    // Two Warning headers (Node's client joins repeated headers with ", ").
    assert.equal(
      res.headers.warning,
      '299 - "unknown field \\"spec.ingress[0]._from\\"", 299 - "unknown field \\"spec.ingress[0].ports[0].bogus\\""',
    );
    const stored = fake.get('networkpolicies', 'default', 'p') as unknown as {
      spec: { ingress: Array<Record<string, unknown>> };
    };
    assert.deepEqual(stored.spec.ingress, [{ ports: [{ port: 8025, protocol: 'TCP' }] }]);
    const shown = await kubectl(fake, [
      'get',
      'networkpolicy',
      'p',
      '-o',
      'jsonpath={.spec.ingress}',
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout), [{ ports: [{ port: 8025, protocol: 'TCP' }] }]);
  });

  it('fieldValidation=Strict refuses (create and server-side apply); Ignore drops silently; an unknown mode is a 400', async () => {
    const path = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
    const strict = await fake.request('POST', `${path}?fieldValidation=Strict`, {
      body: JSON.stringify(POLICY),
      contentType: 'application/json',
    });
    assert.equal(strict.status, 400);
    assert.match(strict.body, /strict decoding error: unknown field \\"spec.ingress\[0\]._from\\"/);
    const applied = await fake.request('PATCH', `${path}/p?fieldManager=t&fieldValidation=Strict`, {
      body: JSON.stringify(POLICY),
      contentType: 'application/apply-patch+yaml',
    });
    assert.equal(applied.status, 400);
    assert.match(applied.body, /\.spec\.ingress\[0\]\._from: field not declared in schema/);
    assert.equal(fake.get('networkpolicies', 'default', 'p'), undefined, 'nothing stored');
    const ignored = await fake.request('PATCH', `${path}/p?fieldManager=t&fieldValidation=Ignore`, {
      body: JSON.stringify(POLICY),
      contentType: 'application/apply-patch+yaml',
    });
    assert.equal(ignored.status, 201, ignored.body);
    assert.equal(ignored.headers.warning, undefined);
    assert.equal(
      (
        await fake.request('POST', `${path}?fieldValidation=Loose`, {
          body: JSON.stringify(POLICY),
          contentType: 'application/json',
        })
      ).status,
      400,
    );
  });

  it('real kubectl apply --server-side of a manifest with a misspelt field: the field is not stored', async () => {
    const file = join(fake.dir, 'policy.json');
    writeFileSync(file, JSON.stringify(POLICY));
    const applied = await kubectl(fake, ['apply', '--server-side', '--validate=false', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const shown = await kubectl(fake, ['get', 'networkpolicy', 'p', '-o', 'json']);
    const policy = JSON.parse(shown.stdout) as {
      spec: { ingress: Array<Record<string, unknown>> };
    };
    assert.equal(policy.spec.ingress[0]._from, undefined);
    assert.equal(
      policy.spec.ingress[0].from,
      undefined,
      'no `from`: every pod may connect, which is what a real server would store too',
    );
  });

  it('custom resources without a schema here (ServiceMonitor) are stored as sent; strategic-merge directives are not fields', async () => {
    const sm = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 's', namespace: 'default' },
      spec: { anything: { goes: 1 } },
    };
    const res = await fake.request(
      'POST',
      '/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors',
      { body: JSON.stringify(sm), contentType: 'application/json' },
    );
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers.warning, undefined);
    fake.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default' },
      data: { a: '1' },
    });
    const patched = await fake.request('PATCH', '/api/v1/namespaces/default/configmaps/c', {
      body: JSON.stringify({ $patch: 'merge', data: { b: '2' } }),
      contentType: 'application/strategic-merge-patch+json',
    });
    assert.equal(patched.status, 200, patched.body);
    assert.equal(patched.headers.warning, undefined);
  });
});
