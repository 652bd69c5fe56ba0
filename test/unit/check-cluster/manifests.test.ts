import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { buildCheckClusterManifests, coordinatorUrl, MAX_SHARDS, type CheckClusterManifestOptions } from '../../../src/check-cluster/manifests.ts';
import { MANAGED_BY_LABEL, EXPIRES_AT_ANNOTATION } from '../../../src/cluster-meta.ts';
import { BUNDLE_PART_BYTES, MAX_CONFIGMAP_BYTES } from '../../../src/bundle-shipping.ts';
import { isEmailValidateError } from '../../../src/errors.ts';

type Obj = Record<string, any>;

const options = (over: Partial<CheckClusterManifestOptions> = {}): CheckClusterManifestOptions => ({
  namespace: 'email-validation-x', createNamespace: true, now: new Date('2026-01-01T00:00:00Z'), ttlMs: 7_200_000, token: 'tok', bundle: Buffer.from('console.log(1)'),
  shards: 4,
  shard: { offline: true, dnsTimeoutMs: 5000, dnsTries: 2, concurrency: 5, smtpProbe: false, mailFrom: '', smtpPort: 25, allowPrivateMx: false, greylistRetries: 3, greylistDelayMs: 60000, greylistMaxMs: 300000, smtpTimeoutMs: 20000 },
  limits: { concurrency: 20, rate: 50, burst: 5, domainConcurrency: 1, domainRate: 1, mxConcurrency: 5, mxRate: 3 },
  ...over,
});

describe('check-cluster: manifests', () => {
  it('builds namespace, secret, bundle, coordinator, service, network policy, then the Indexed Job last', () => {
    const objs = buildCheckClusterManifests(options());
    assert.deepEqual(objs.map((o) => o.kind), ['Namespace', 'Secret', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'Job']);
    for (const o of objs) {
      assert.equal(o.metadata.labels?.[MANAGED_BY_LABEL], 'kubectl-email-validate', `${o.kind} is labelled for gc`);
      assert.ok(o.metadata.annotations?.[EXPIRES_AT_ANNOTATION], `${o.kind} carries its expiry`);
      if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'email-validation-x');
    }
    const job = objs.at(-1) as Obj;
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, 4);
    assert.equal(job.spec.parallelism, 4);
    const env = Object.fromEntries((job.spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.EV_CHECK_ROLE, 'shard');
    assert.equal(env.EV_COORDINATOR_URL, coordinatorUrl('email-validation-x'));
    assert.equal(env.EV_COORDINATOR_URL, 'http://email-check-coordinator.email-validation-x.svc.cluster.local:8090');
    assert.equal(JSON.parse(env.EV_CHECK_OPTIONS).concurrency, 5);
    assert.deepEqual(env.EV_TOKEN, { secretKeyRef: { name: 'email-check-token', key: 'token' } });
    const coord = objs.find((o) => o.kind === 'Deployment') as Obj;
    const cenv = Object.fromEntries((coord.spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.value]));
    assert.deepEqual(JSON.parse(cenv.EV_CHECK_LIMITS), options().limits);
  });

  it('ships only code in ConfigMaps: the gzipped bundle, split under the 1 MiB object limit', () => {
    const bundle = Buffer.from(Array.from({ length: 400_000 }, (_, i) => `v${(i * 2654435761) % 1000003};`).join(''));
    const objs = buildCheckClusterManifests(options({ bundle }));
    const cms = objs.filter((o) => o.kind === 'ConfigMap') as Obj[];
    assert.ok(cms.length >= 2, 'large bundles are split');
    const parts = cms.map((cm) => Buffer.from(Object.values(cm.binaryData as Record<string, string>)[0], 'base64'));
    for (const [i, cm] of cms.entries()) {
      assert.ok(parts[i].length <= BUNDLE_PART_BYTES);
      assert.ok(JSON.stringify(cm).length < MAX_CONFIGMAP_BYTES);
    }
    assert.deepEqual(gunzipSync(Buffer.concat(parts)), bundle);
    const job = objs.at(-1) as Obj;
    const projected = (job.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'bundle')!.projected.sources;
    assert.equal(projected.length, cms.length);
  });

  it('passes the restricted Pod Security Standard for both pod templates', () => {
    for (const o of buildCheckClusterManifests(options()).filter((x) => x.kind === 'Deployment' || x.kind === 'Job') as Obj[]) {
      const spec = o.spec.template.spec;
      assert.equal(spec.securityContext.runAsNonRoot, true);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(spec.automountServiceAccountToken, false);
      for (const c of spec.containers as Obj[]) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
        assert.ok(c.resources.limits.memory && c.resources.requests.cpu);
      }
    }
  });

  it('omits the Namespace with -n and rejects a shard count out of range', () => {
    assert.equal(buildCheckClusterManifests(options({ createNamespace: false })).some((o) => o.kind === 'Namespace'), false);
    for (const shards of [0, MAX_SHARDS + 1, 1.5]) {
      assert.throws(() => buildCheckClusterManifests(options({ shards })), (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_INVALID_OPTION');
    }
  });
});
