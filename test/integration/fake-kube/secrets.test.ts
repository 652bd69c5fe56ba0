/**
 * What a real API server refuses about Secrets (and ConfigMap keys), which
 * `check --in-cluster --provider` relies on: keys outside [-._a-zA-Z0-9],
 * data that is not base64 (a 400 before validation), and changes to an
 * immutable Secret's data (labels may still change; deletion works).
 */
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { useFakeKube } from '../../support/fake-kube/mocha.ts';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import { clients, statusOf } from './helpers.ts';

const APPLY = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

async function rejectsWith(
  p: Promise<unknown>,
  code: number,
  reason: string,
  message: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    const s = statusOf(err);
    assert.equal(s.code, code, s.message);
    assert.equal(s.reason, reason);
    assert.match(s.message, message);
    return true;
  });
}

describe('fake-kube: Secrets as a real API server treats them', function () {
  this.timeout(20_000);
  const fake = useFakeKube();
  let kube: FakeKube;
  beforeEach(() => {
    kube = fake();
  });

  it('refuses keys that are not config keys, in Secrets and ConfigMaps', async () => {
    const { core } = clients(kube);
    const b64 = Buffer.from('x').toString('base64');
    await rejectsWith(
      core.createNamespacedSecret({
        namespace: 'default',
        body: { metadata: { name: 's' }, data: { 'a b': b64 } },
      }),
      422,
      'Invalid',
      /data\[a b\]: Invalid value: "a b": a valid config key/,
    );
    await rejectsWith(
      core.createNamespacedSecret({
        namespace: 'default',
        body: { metadata: { name: 's' }, data: { '..': b64 } },
      }),
      422,
      'Invalid',
      /must not be '\.\.'/,
    );
    await rejectsWith(
      core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'c' }, data: { 'x/y': 'v' } },
      }),
      422,
      'Invalid',
      /data\[x\/y\]/,
    );
    // Allowed characters pass.
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 's' }, data: { 'provider.json': b64, 'A_b-1': b64 } },
    });
  });

  it('refuses data that is not base64 with a 400, as decoding fails before validation', async () => {
    const r = await kube.request('POST', '/api/v1/namespaces/default/secrets', {
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's' },
        data: { token: 'not base64!' },
      }),
      contentType: 'application/json',
    });
    assert.equal(r.status, 400, r.body);
    assert.match(
      JSON.parse(r.body).message,
      /Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3/,
    );
    // stringData is plain text and is stored base64-encoded.
    const { core } = clients(kube);
    const s = await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 's' }, stringData: { token: 'not base64!' } },
    });
    assert.equal(Buffer.from(s.data!.token, 'base64').toString(), 'not base64!');
  });

  it('an immutable Secret keeps its data: updates and applies that change it are refused, labels may change, delete works', async () => {
    const { core } = clients(kube);
    const data = { k: Buffer.from('one').toString('base64') };
    const s = await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'imm' }, immutable: true, data },
    });
    await rejectsWith(
      core.replaceNamespacedSecret({
        name: 'imm',
        namespace: 'default',
        body: { ...s, data: { k: Buffer.from('two').toString('base64') } },
      }),
      422,
      'Invalid',
      /data: Forbidden: field is immutable when `immutable` is set/,
    );
    await rejectsWith(
      core.patchNamespacedSecret(
        {
          name: 'imm',
          namespace: 'default',
          fieldManager: 'test',
          force: true,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'imm', namespace: 'default' },
            immutable: false,
            data,
          },
        },
        APPLY,
      ),
      422,
      'Invalid',
      /immutable: Forbidden/,
    );
    const relabelled = await core.replaceNamespacedSecret({
      name: 'imm',
      namespace: 'default',
      body: { ...s, metadata: { ...s.metadata, labels: { a: 'b' } } },
    });
    assert.equal(relabelled.metadata?.labels?.a, 'b');
    assert.deepEqual(relabelled.data, data);
    await core.deleteNamespacedSecret({ name: 'imm', namespace: 'default' });
  });
});
