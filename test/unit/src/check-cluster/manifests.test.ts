import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import {
  buildCheckClusterManifests,
  redisHost,
  MAX_SHARDS,
  REDIS_UID,
  type CheckClusterManifestOptions,
} from '../../../../src/check-cluster/manifests.ts';
import { MANAGED_BY_LABEL, EXPIRES_AT_ANNOTATION } from '../../../../src/cluster-meta.ts';
import { BUNDLE_PART_BYTES, MAX_CONFIGMAP_BYTES } from '../../../../src/bundle-shipping.ts';
import { isEmailValidateError } from '../../../../src/errors.ts';

type Obj = Record<string, any>;

const options = (over: Partial<CheckClusterManifestOptions> = {}): CheckClusterManifestOptions => ({
  namespace: 'email-validation-x',
  createNamespace: true,
  now: new Date('2026-01-01T00:00:00Z'),
  ttlMs: 7_200_000,
  token: 'tok',
  bundle: Buffer.from('console.log(1)'),
  shards: 4,
  shard: {
    offline: true,
    dnsTimeoutMs: 5000,
    dnsTries: 2,
    concurrency: 5,
    smtpProbe: false,
    mailFrom: '',
    smtpPort: 25,
    allowPrivateMx: false,
    greylistRetries: 3,
    greylistDelayMs: 60000,
    greylistMaxMs: 300000,
    smtpTimeoutMs: 20000,
  },
  limits: {
    concurrency: 20,
    rate: 50,
    burst: 5,
    domainConcurrency: 1,
    domainRate: 1,
    mxConcurrency: 5,
    mxRate: 3,
  },
  ...over,
});

describe('check-cluster: manifests', () => {
  it('builds namespace, secret, bundle, Redis (deployment, service, network policy), then the Indexed Job last', () => {
    const objs = buildCheckClusterManifests(options());
    assert.deepEqual(
      objs.map((o) => o.kind),
      ['Namespace', 'Secret', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'Job'],
    );
    for (const o of objs) {
      assert.equal(
        o.metadata.labels?.[MANAGED_BY_LABEL],
        'kubectl-email-validate',
        `${o.kind} is labelled for gc`,
      );
      assert.ok(o.metadata.annotations?.[EXPIRES_AT_ANNOTATION], `${o.kind} carries its expiry`);
      if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'email-validation-x');
    }
    const job = objs.at(-1) as Obj;
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, 4);
    assert.equal(job.spec.parallelism, 4);
    const env = Object.fromEntries(
      (job.spec.template.spec.containers[0].env as Obj[]).map((e) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );
    assert.equal(env.EV_REDIS_ADDRESS, `${redisHost('email-validation-x')}:6379`);
    assert.equal(
      env.EV_REDIS_ADDRESS,
      'email-check-redis.email-validation-x.svc.cluster.local:6379',
    );
    assert.equal(JSON.parse(env.EV_CHECK_OPTIONS).concurrency, 5);
    assert.deepEqual(JSON.parse(env.EV_CHECK_LIMITS), options().limits);
    assert.deepEqual(env.EV_TOKEN, { secretKeyRef: { name: 'email-check-token', key: 'token' } });
  });

  it('runs the official Redis image as its non-root user with the append-only file on an emptyDir, the password only in the Secret', () => {
    const objs = buildCheckClusterManifests(options({ token: 's3cret-password' }));
    const redis = objs.find((o) => o.kind === 'Deployment') as Obj;
    const spec = redis.spec.template.spec;
    const c = spec.containers[0];
    assert.equal(c.image, 'redis:7-alpine');
    assert.equal(spec.securityContext.runAsUser, REDIS_UID);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    const argv = (c.command as string[]).join(' ');
    assert.match(argv, /--appendonly yes/);
    assert.match(argv, /--dir \/data/);
    assert.match(argv, /--maxmemory-policy noeviction/);
    const data = (c.volumeMounts as Obj[]).find((m) => m.mountPath === '/data')!;
    assert.ok(
      (spec.volumes as Obj[]).find((v) => v.name === data.name)!.emptyDir,
      'data on an emptyDir',
    );
    // Never in argv, env values or ConfigMaps: only in the Secret.
    for (const o of objs)
      if (o.kind !== 'Secret')
        assert.equal(
          JSON.stringify(o).includes('s3cret-password'),
          false,
          `${o.kind} does not hold the password`,
        );
    const secret = objs.find((o) => o.kind === 'Secret') as Obj;
    assert.equal(
      Buffer.from(secret.data['redis.conf'], 'base64').toString(),
      'requirepass s3cret-password\n',
    );
    assert.equal(redis.spec.strategy.type, 'Recreate', 'never two Redis pods for one run');
  });

  it('ships only code in ConfigMaps: the gzipped bundle, split under the 1 MiB object limit', () => {
    const bundle = Buffer.from(
      Array.from({ length: 400_000 }, (_, i) => `v${(i * 2654435761) % 1000003};`).join(''),
    );
    const objs = buildCheckClusterManifests(options({ bundle }));
    const cms = objs.filter((o) => o.kind === 'ConfigMap') as Obj[];
    assert.ok(cms.length >= 2, 'large bundles are split');
    const parts = cms.map((cm) =>
      Buffer.from(Object.values(cm.binaryData as Record<string, string>)[0], 'base64'),
    );
    for (const [i, cm] of cms.entries()) {
      assert.ok(parts[i].length <= BUNDLE_PART_BYTES);
      assert.ok(JSON.stringify(cm).length < MAX_CONFIGMAP_BYTES);
    }
    assert.deepEqual(gunzipSync(Buffer.concat(parts)), bundle);
    const job = objs.at(-1) as Obj;
    const projected = (job.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'bundle')!
      .projected.sources;
    assert.equal(projected.length, cms.length);
  });

  it('passes the restricted Pod Security Standard for both pod templates', () => {
    for (const o of buildCheckClusterManifests(options()).filter(
      (x) => x.kind === 'Deployment' || x.kind === 'Job',
    ) as Obj[]) {
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
    assert.equal(
      buildCheckClusterManifests(options({ createNamespace: false })).some(
        (o) => o.kind === 'Namespace',
      ),
      false,
    );
    for (const shards of [0, MAX_SHARDS + 1, 1.5]) {
      assert.throws(
        () => buildCheckClusterManifests(options({ shards })),
        (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_INVALID_OPTION',
      );
    }
  });
});

/**
 * Every field of every object, compared with the reviewed copy in manifests.golden.json (the
 * bundle parts as their unpacked text, so a zlib upgrade does not change them). A changed field
 * fails here first; to accept a change on purpose run once with EV_WRITE_GOLDEN=1 (which writes
 * the file and fails, so the update mode is never the test) and review the diff.
 */
describe('check-cluster: manifests, field by field', () => {
  const golden = new URL('./manifests.golden.json', import.meta.url);

  function rendered(): unknown {
    const objects = buildCheckClusterManifests(
      options({ leaseTtlMs: 20_000, redisUnreachableMs: 30_000, nodeImage: undefined }),
    );
    return JSON.parse(
      JSON.stringify(objects, (key, value: unknown) =>
        key === 'binaryData' && value !== null && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value).map(([k, v]) => [
                k,
                gunzipSync(Buffer.from(String(v), 'base64')).toString('utf8'),
              ]),
            )
          : value,
      ),
    );
  }

  it('renders exactly the reviewed objects', () => {
    const now = rendered();
    if (process.env.EV_WRITE_GOLDEN === '1') {
      writeFileSync(golden, `${JSON.stringify(now, null, 2)}\n`);
      assert.fail(
        'manifests.golden.json rewritten: review the diff, then run without EV_WRITE_GOLDEN',
      );
    }
    assert.deepEqual(now, JSON.parse(readFileSync(golden, 'utf8')));
  });

  it('leaves the optional shard settings out when they are not given', () => {
    const [job] = buildCheckClusterManifests(options()).filter((o) => o.kind === 'Job') as Obj[];
    const env = (job.spec.template.spec.containers[0].env as Array<{ name: string }>).map(
      (e) => e.name,
    );
    assert.deepEqual(env, [
      'EV_BUNDLE_DIR',
      'EV_WORK_DIR',
      'EV_TOKEN',
      'EV_REDIS_ADDRESS',
      'EV_POD_NAME',
      'EV_CHECK_OPTIONS',
      'EV_CHECK_LIMITS',
      'NODE_OPTIONS',
    ]);
  });

  it(`accepts 1 to MAX_SHARDS (${MAX_SHARDS}) shards and says so otherwise`, () => {
    for (const shards of [1, MAX_SHARDS]) {
      const job = buildCheckClusterManifests(options({ shards })).find((o) => o.kind === 'Job');
      assert.equal((job as Obj).spec.completions, shards);
    }
    assert.throws(() => buildCheckClusterManifests(options({ shards: 0 })), {
      message: '--shards 0 is out of range',
      hint: `use 1 to ${MAX_SHARDS}.`,
    });
  });
});
