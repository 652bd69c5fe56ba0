import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import {
  createSink,
  openClusterSink,
  type ClusterSink,
  type CreatedSink,
} from '../../../plugin/lib/kube/cluster-sink.ts';
import { connect, type KubeClient } from '../../../plugin/lib/kube/adapter.ts';
import { waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import { runCli } from './helpers.ts';

interface OpenSink {
  sink: CreatedSink;
  open: ClusterSink;
  client: KubeClient;
  /** The pod the tunnel went to first. */
  pod: string;
  /** Which sink process answers through the tunnel. */
  instance: () => Promise<string>;
  /** Waits for the Deployment's replacement of `pod`, and returns its name. */
  replacement: () => Promise<string | undefined>;
}

/** Creates a sink, opens its tunnel, runs `fn`, then closes and removes everything. */
async function withOpenSink(fake: FakeKube, fn: (s: OpenSink) => Promise<void>): Promise<void> {
  const kube = { kubeconfig: fake.kubeconfigPath };
  const sink = await createSink(kube);
  const open = await openClusterSink(kube);
  try {
    const { apiUrl, pod } = open.sinks[0];
    const client = connect(kube);
    await fn({
      sink,
      open,
      client,
      pod,
      instance: async () => {
        const res = await fetch(`${apiUrl}/api/stats`, {
          headers: { authorization: `Bearer ${open.token}` },
        });
        return ((await res.json()) as { instance: string }).instance;
      },
      replacement: async () => {
        const [pod] = await waitForSinkReady(client, sink.namespace, {
          replicas: 1,
          timeoutMs: 20_000,
        });
        return pod.metadata?.name;
      },
    });
  } finally {
    await open.close();
    await sink.destroy();
  }
}

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
    await withOpenSink(fake, async ({ sink, client, pod, instance, replacement }) => {
      const before = await instance();
      await client.core.deleteNamespacedPod({
        namespace: sink.namespace,
        name: pod,
        gracePeriodSeconds: 0,
      });
      assert.notEqual(await replacement(), pod);
      assert.notEqual(await instance(), before, 'answered by the new pod');
    });
  });

  it('defect 8: leaves a Terminating pod that still takes port-forwards (and refuses inside) for its replacement', async () => {
    await withOpenSink(fake, async ({ sink, client, pod, instance, replacement }) => {
      const before = await instance();
      // The deleted pod stays Terminating: its process is gone, the API server still upgrades port-forwards to it.
      fake.faults.holdTerminatingPods({ namespace: sink.namespace });
      try {
        await client.core.deleteNamespacedPod({
          namespace: sink.namespace,
          name: pod,
          gracePeriodSeconds: 1,
        });
        await fake.waitFor(
          'pods',
          (p) => p.metadata.name === pod && p.metadata.deletionTimestamp !== undefined,
        );
        assert.notEqual(await replacement(), pod);
        assert.ok(fake.get('pods', sink.namespace, pod), 'the old pod is still there, Terminating');
        // A client retries a failed request a few times (SinkClient does); the tunnel must not keep returning to the old pod.
        let after: string | undefined;
        const failures: string[] = [];
        for (let attempt = 0; attempt < 4 && !after; attempt++) {
          try {
            after = await instance();
          } catch (err) {
            failures.push(String((err as Error).cause ?? err));
          }
        }
        assert.ok(after, `reached the replacement within 4 tries: ${failures.join('; ')}`);
        assert.notEqual(after, before, 'answered by the new pod');
        assert.ok(
          failures.length <= 1,
          `at most the first request is lost: ${failures.join('; ')}`,
        );
      } finally {
        fake.faults.holdTerminatingPods(undefined);
      }
    });
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
