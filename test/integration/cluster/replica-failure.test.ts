/**
 * Issue 8, defect 6: when no sink pod can be created (here: Pod Security
 * admission refuses it), the failure names the Deployment's
 * `ReplicaFailure/FailedCreate` message, not `Available/MinimumReplicasUnavailable`.
 */
import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { readSinkBundle } from '../../../plugin/lib/kube/cluster-sink.ts';
import { waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import { buildSinkManifests } from '../../../src/manifests.ts';
import { isEmailValidateError } from '../../../src/errors.ts';

describe('cluster: a sink whose pods are refused says why (ReplicaFailure)', function () {
  this.timeout(30_000);
  let fake: FakeKube;
  before(async () => {
    fake = await startFakeKube();
  });
  after(async () => {
    await fake.close();
  });

  it('a Deployment whose pod violates restricted Pod Security: the error carries the FailedCreate message', async () => {
    const ns = 'refused';
    fake.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    const objects = buildSinkManifests({
      namespace: ns,
      createNamespace: false,
      now: new Date(),
      ttlMs: 3600_000,
      token: 't'.repeat(32),
      bundle: readSinkBundle(),
    });
    // A sink someone edited: privilege escalation allowed, which restricted refuses.
    const deployment = objects.find((o) => o.kind === 'Deployment') as
      | {
          spec: {
            template: { spec: { containers: Array<{ securityContext: Record<string, unknown> }> } };
          };
        }
      | undefined;
    deployment!.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    const client = connect({ kubeconfig: fake.kubeconfigPath });
    for (const obj of objects) await client.apply(obj as never);
    const lines: string[] = [];
    await assert.rejects(
      waitForSinkReady(client, ns, {
        replicas: 1,
        timeoutMs: 3000,
        onProgress: (l) => lines.push(l),
      }),
      (e: unknown) => {
        assert.ok(isEmailValidateError(e) && e.code === 'EV_ERR_SINK_NOT_READY', String(e));
        assert.match(
          e.message,
          /no sink pod was created: ReplicaFailure\/FailedCreate: pods "email-sink-[a-z0-9]+-[a-z0-9]+" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
        );
        assert.doesNotMatch(e.message, /MinimumReplicasUnavailable/);
        return true;
      },
    );
    assert.ok(
      lines.some((l) => /ReplicaFailure\/FailedCreate/.test(l)),
      lines.join('\n'),
    );
  });
});
