/**
 * `up` against a namespace whose admission refuses the sink's pods: the
 * strict fake's ReplicaSet and Deployment carry ReplicaFailure/FailedCreate
 * as real controllers do, and `up` names that cause (defect 6), not
 * "MinimumReplicasUnavailable".
 */
import assert from 'node:assert/strict';
import { SINK_POD_SELECTOR } from '../../../src/cluster-meta.ts';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { runCli } from '../cli/cli-harness.ts';

describe('up when admission refuses the sink pods (fake API server)', function () {
  this.timeout(120_000);
  let kube: FakeKube;
  beforeEach(async () => {
    kube = await startFakeKube();
  });
  afterEach(async () => {
    await kube.close();
  });

  it('names the ReplicaFailure/FailedCreate message from the Deployment and removes what it created', async () => {
    kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    kube.refusePods({
      namespace: 'team',
      labelSelector: SINK_POD_SELECTOR,
      message:
        'admission webhook "policy.example.com" denied the request: images must come from registry.example.com',
    });
    const r = await runCli(['up', '-n', 'team', '--wait', '5s'], {
      env: { KUBECONFIG: kube.kubeconfigPath },
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /ReplicaFailure\/FailedCreate: pods "email-sink-[a-z0-9]+-[a-z0-9]{5}" is forbidden: admission webhook "policy\.example\.com" denied the request/,
    );
    assert.equal(
      kube.get('deployments', 'team', 'email-sink'),
      undefined,
      'the failed sink is removed',
    );
  });
});
