/**
 * A sink and a check run placed in the same existing namespace (`-n`):
 * removing the sink object by object (`down`, `gc`) takes the sink's
 * ConfigMaps only, never the running check's bundle ConfigMap (its shards
 * would not restart without it). Against the fake API server, read back with
 * its store.
 */
import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { buildCheckClusterManifests } from '../../../src/check-cluster/manifests.ts';
import { buildSinkManifests } from '../../../src/manifests.ts';
import type { KubeObject } from '../../../src/kube-object.ts';

describe('a sink and a check run in one -n namespace (fake API server)', function () {
  this.timeout(60_000);
  let kube: FakeKube;
  before(async () => {
    kube = await startFakeKube();
  });
  after(async () => {
    await kube?.close();
  });

  const names = (resource: string): string[] =>
    kube
      .list(resource, 'shared')
      .map((o) => o.metadata.name ?? '')
      .sort();

  it("removing the sink's objects leaves the check run's ConfigMaps and Secrets alone", async () => {
    kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } });
    const now = new Date();
    const check = buildCheckClusterManifests({
      namespace: 'shared',
      createNamespace: false,
      now,
      ttlMs: 3_600_000,
      token: 'check-token',
      bundle: Buffer.from('// checker'),
      shards: 1,
      shard: {
        offline: true,
        dnsTimeoutMs: 5000,
        dnsTries: 1,
        concurrency: 1,
        smtpProbe: false,
        mailFrom: '',
        smtpPort: 25,
        allowPrivateMx: false,
        greylistRetries: 0,
        greylistDelayMs: 0,
        greylistMaxMs: 0,
        smtpTimeoutMs: 1000,
      },
      limits: {
        concurrency: 1,
        rate: null,
        burst: 1,
        domainConcurrency: 1,
        domainRate: 0,
        mxConcurrency: 1,
        mxRate: 0,
      },
    });
    const sink = buildSinkManifests({
      namespace: 'shared',
      createNamespace: false,
      now,
      ttlMs: 3_600_000,
      token: 'sink-token',
      bundle: Buffer.from('// sink'),
    });
    // Only what is at stake (no workloads: nothing to run here).
    const stored = (objects: KubeObject[]): string[] =>
      objects
        .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret')
        .map((o) => {
          kube.create(o);
          return `${o.kind}/${o.metadata.name}`;
        });
    const checkObjects = stored(check);
    const sinkObjects = stored(sink);
    assert.ok(
      checkObjects.some((n) => n.startsWith('ConfigMap/email-check-bundle')),
      'the check has a bundle ConfigMap',
    );
    assert.ok(
      sinkObjects.some((n) => n.startsWith('ConfigMap/')),
      'the sink has ConfigMaps',
    );

    const deleted = await connect({ kubeconfig: kube.kubeconfigPath }).deleteSinkObjects('shared');
    assert.equal(deleted, sinkObjects.length, "the sink's objects were deleted");
    const left = new Set([
      ...names('configmaps').map((n) => `ConfigMap/${n}`),
      ...names('secrets').map((n) => `Secret/${n}`),
    ]);
    for (const o of checkObjects) assert.ok(left.has(o), `${o} of the check run is still there`);
    for (const o of sinkObjects) assert.ok(!left.has(o), `${o} of the sink is gone`);
  });
});
