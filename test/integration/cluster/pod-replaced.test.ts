import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import { runCli } from './helpers.ts';

describe('cluster: pod replaced under an open tunnel, and --keep', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  beforeEach(async () => {
    fake = await startFakeKube();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('re-resolves the sink pod by label when it was replaced, on the same local port', async () => {
    const kube = { kubeconfig: fake.kubeconfigPath };
    const sink = await createSink(kube);
    const open = await openClusterSink(kube);
    try {
      const { apiUrl, pod } = open.sinks[0];
      const stats = async () =>
        (
          await fetch(`${apiUrl}/api/stats`, { headers: { authorization: `Bearer ${open.token}` } })
        ).json() as Promise<{ instance: string }>;
      const before = await stats();
      const client = connect(kube);
      await client.core.deleteNamespacedPod({
        namespace: sink.namespace,
        name: pod,
        gracePeriodSeconds: 0,
      });
      const [replacement] = await waitForSinkReady(client, sink.namespace, {
        replicas: 1,
        timeoutMs: 20_000,
      });
      assert.notEqual(replacement.metadata?.name, pod);
      const after = await stats();
      assert.notEqual(after.instance, before.instance, 'answered by the new pod');
    } finally {
      await open.close();
      await sink.destroy();
    }
  });

  it('defect 8: leaves a Terminating pod that still takes port-forwards (and refuses inside) for its replacement', async () => {
    const kube = { kubeconfig: fake.kubeconfigPath };
    const sink = await createSink(kube);
    const open = await openClusterSink(kube);
    try {
      const { apiUrl, pod } = open.sinks[0];
      const stats = async () =>
        (
          await fetch(`${apiUrl}/api/stats`, { headers: { authorization: `Bearer ${open.token}` } })
        ).json() as Promise<{ instance: string }>;
      const before = await stats();
      // The deleted pod stays Terminating: its process is gone, the API server still upgrades port-forwards to it.
      fake.faults.holdTerminatingPods({ namespace: sink.namespace });
      const client = connect(kube);
      await client.core.deleteNamespacedPod({
        namespace: sink.namespace,
        name: pod,
        gracePeriodSeconds: 1,
      });
      await fake.waitFor(
        'pods',
        (p) => p.metadata.name === pod && p.metadata.deletionTimestamp !== undefined,
      );
      const [replacement] = await waitForSinkReady(client, sink.namespace, {
        replicas: 1,
        timeoutMs: 20_000,
      });
      assert.notEqual(replacement.metadata?.name, pod);
      assert.ok(fake.get('pods', sink.namespace, pod), 'the old pod is still there, Terminating');
      // A client retries a failed request a few times (SinkClient does); the tunnel must not keep returning to the old pod.
      let after: { instance: string } | undefined;
      const failures: string[] = [];
      for (let attempt = 0; attempt < 4 && !after; attempt++) {
        try {
          after = await stats();
        } catch (err) {
          failures.push(String((err as Error).cause ?? err));
        }
      }
      assert.ok(after, `reached the replacement within 4 tries: ${failures.join('; ')}`);
      assert.notEqual(after.instance, before.instance, 'answered by the new pod');
      assert.ok(failures.length <= 1, `at most the first request is lost: ${failures.join('; ')}`);
    } finally {
      fake.faults.holdTerminatingPods(undefined);
      await open.close();
      await sink.destroy();
    }
  });

  it('--keep leaves a failed sink in place for debugging', async () => {
    fake.faults.podNeverReady('CrashLoopBackOff');
    const cli = await runCli(['up', '--wait', '1s', '--keep'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(cli.code, 3);
    assert.match(cli.stderr, /CrashLoopBackOff/);
    const ns = /namespace (email-validation-[a-z0-9-]+)/.exec(cli.stderr)![1];
    assert.ok(fake.get('namespaces', undefined, ns), 'namespace kept');
    assert.ok(fake.get('deployments', ns, 'email-sink'), 'deployment kept');
  });
});

describe('cluster: openClusterSink with create', function () {
  this.timeout(60_000);
  it('creates a sink when none exists and destroys it on close()', async () => {
    const fake = await startFakeKube();
    try {
      const kube = { kubeconfig: fake.kubeconfigPath };
      await assert.rejects(openClusterSink(kube), /no sink found in context "fake"/);
      const open = await openClusterSink(kube, { create: true, createOptions: { ttl: '10m' } });
      assert.equal(open.created, true);
      assert.match(open.namespace, /^email-validation-/);
      const res = await fetch(`${open.sinks[0].apiUrl}/api/info`, {
        headers: { authorization: `Bearer ${open.token}` },
      });
      assert.equal(res.status, 200);
      await open.close();
      assert.equal(fake.get('namespaces', undefined, open.namespace), undefined);
    } finally {
      await fake.close();
    }
  });
});
