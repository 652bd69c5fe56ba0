/**
 * What is stored is what was built (issue 8): every object the plugin creates
 * is applied the way the plugin applies it (the adapter's server-side apply),
 * then read back with REAL kubectl and compared field by field with what the
 * builder (`manifests`) produced. The server may add fields (defaults, status,
 * metadata); it must not lose or change one of ours. This is the test that
 * catches a client serialiser dropping a key (NetworkPolicy `from`, defect 1).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { createSink, readSinkBundle } from '../../../plugin/lib/kube/cluster-sink.ts';
import { flowJobManifest } from '../../../plugin/lib/flow/cluster-steps.ts';
import { buildSinkManifests, type KubeObject } from '../../../src/manifests.ts';
import { buildCheckClusterManifests } from '../../../src/check-cluster/manifests.ts';
import { runCli } from './helpers.ts';

const run = promisify(execFile);

/**
 * Every path where `built` has a value that `stored` lacks or differs on.
 * Objects: each key of `built` must be in `stored`; lists: same length, item by item.
 */
export function lostFields(built: unknown, stored: unknown, path = ''): string[] {
  if (Array.isArray(built)) {
    if (!Array.isArray(stored)) return [`${path}: list became ${JSON.stringify(stored)}`];
    if (built.length !== stored.length)
      return [`${path}: ${built.length} items built, ${stored.length} stored`];
    return built.flatMap((b, i) => lostFields(b, stored[i], `${path}[${i}]`));
  }
  if (built !== null && typeof built === 'object') {
    if (stored === null || typeof stored !== 'object' || Array.isArray(stored))
      return [`${path}: object became ${JSON.stringify(stored)}`];
    return Object.entries(built).flatMap(([k, v]) =>
      v === undefined ? [] : lostFields(v, (stored as Record<string, unknown>)[k], `${path}.${k}`),
    );
  }
  return built === stored
    ? []
    : [`${path}: built ${JSON.stringify(built)}, stored ${JSON.stringify(stored)}`];
}

async function kubectlGet(fake: FakeKube, obj: KubeObject): Promise<Record<string, unknown>> {
  const [group] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [''];
  const resource = `${obj.kind.toLowerCase()}${group ? `.${obj.apiVersion.split('/')[1]}.${group}` : ''}`;
  const args = [
    'get',
    resource,
    obj.metadata.name,
    '-o',
    'json',
    ...(obj.metadata.namespace ? ['-n', obj.metadata.namespace] : []),
  ];
  const { stdout } = await run('kubectl', args, { env: fake.kubectlEnv() });
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function assertStoredAsBuilt(fake: FakeKube, objects: KubeObject[]): Promise<void> {
  const problems: string[] = [];
  for (const obj of objects) {
    const stored = await kubectlGet(fake, obj);
    problems.push(...lostFields(obj, stored).map((p) => `${obj.kind}/${obj.metadata.name}${p}`));
  }
  assert.deepEqual(
    problems,
    [],
    'fields built by the plugin that the server did not store as built',
  );
}

describe('cluster: every object the plugin creates reads back (real kubectl) as the builder made it', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  before(async () => {
    fake = await startFakeKube();
  });
  after(async () => {
    await fake.close();
  });

  it('lostFields finds a dropped key, a changed value and a shortened list (the comparison can fail)', () => {
    const built = { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 8025 }] }] } };
    assert.deepEqual(lostFields(built, { spec: { ingress: [{ ports: [{ port: 8025 }] }] } }), [
      '.spec.ingress[0].from: list became undefined',
    ]);
    assert.deepEqual(
      lostFields(built, {
        spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ port: '8025' }] }] },
      }),
      ['.spec.ingress[0].ports[0].port: built 8025, stored "8025"'],
    );
    assert.deepEqual(lostFields({ a: [1, 2] }, { a: [1] }), ['.a: 2 items built, 1 stored']);
    assert.deepEqual(lostFields(built, { ...built, status: {}, extra: 1 }), []);
  });

  it('`up` (with a ServiceMonitor): Namespace, Secret, ConfigMaps, Deployment, Service, NetworkPolicy (with its `from` rules), ServiceMonitor', async () => {
    const now = new Date();
    const bundle = readSinkBundle();
    let token = '';
    const sink = await createSink(
      { kubeconfig: fake.kubeconfigPath },
      {
        now: () => now,
        random: () => 0.5,
        bundle,
        serviceMonitor: true,
        ttl: '1h',
      },
    );
    try {
      token = sink.token;
      const built = buildSinkManifests({
        namespace: sink.namespace,
        createNamespace: true,
        now,
        ttlMs: 3600_000,
        token,
        bundle,
        replicas: 1,
        serviceMonitor: true,
      });
      await assertStoredAsBuilt(fake, built);
      // The defect as a user sees it: `kubectl get networkpolicies -A -o json` after `up`.
      const { stdout } = await run('kubectl', ['get', 'networkpolicies', '-A', '-o', 'json'], {
        env: fake.kubectlEnv(),
      });
      const [policy] = (
        JSON.parse(stdout) as {
          items: Array<{
            spec: { ingress: Array<{ from?: unknown[]; ports: Array<{ port: number }> }> };
          }>;
        }
      ).items;
      const http = policy.spec.ingress.filter((r) => r.ports.some((p) => p.port === 8025));
      assert.equal(http.length, 2);
      assert.ok(
        http.every((r) => Array.isArray(r.from) && r.from.length > 0),
        `every HTTP rule keeps its from: ${JSON.stringify(http)}`,
      );
    } finally {
      await sink.destroy();
    }
  });

  it('`manifests -n NS --token T -o json` prints exactly what `up -n NS` stores (up to times)', async () => {
    const ns = 'read-back';
    fake.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    const sink = await createSink(
      { kubeconfig: fake.kubeconfigPath },
      { namespace: ns, ttl: '2h' },
    );
    try {
      const printed = await runCli([
        'manifests',
        '-n',
        ns,
        '--token',
        sink.token,
        '--ttl',
        '2h',
        '-o',
        'json',
      ]);
      assert.equal(printed.code, 0, printed.stderr);
      const objects = (
        JSON.parse(printed.stdout.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIME')) as {
          items: KubeObject[];
        }
      ).items;
      const problems: string[] = [];
      for (const obj of objects) {
        const stored = JSON.parse(
          JSON.stringify(await kubectlGet(fake, obj)).replace(
            /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z/g,
            'TIME',
          ),
        );
        problems.push(
          ...lostFields(obj, stored).map((p) => `${obj.kind}/${obj.metadata.name}${p}`),
        );
      }
      assert.deepEqual(problems, []);
    } finally {
      await sink.destroy();
    }
  });

  it("`check --in-cluster` objects (Redis, shards Job, the --provider Secret) and a flow `job` step's Job", async () => {
    const ns = 'read-back-check';
    fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const client = connect({ kubeconfig: fake.kubeconfigPath });
    const objects = buildCheckClusterManifests({
      namespace: ns,
      createNamespace: false,
      now: new Date(),
      ttlMs: 3600_000,
      token: 't'.repeat(32),
      bundle: Buffer.from('0;\n'),
      // `--provider`: its immutable Secret and the shards' read-only mount are read back too.
      provider: '{"config":{},"env":{"VERIFY_TOKEN":"x"}}',
      shards: 2,
      shard: {
        offline: true,
        dnsTimeoutMs: 1000,
        dnsTries: 1,
        concurrency: 2,
        smtpProbe: false,
        mailFrom: 'probe@example.com',
        smtpPort: 25,
        allowPrivateMx: false,
        greylistRetries: 0,
        greylistDelayMs: 0,
        greylistMaxMs: 0,
        smtpTimeoutMs: 1000,
      },
      limits: {
        concurrency: 4,
        rate: null,
        burst: 1,
        domainConcurrency: 1,
        domainRate: 1,
        mxConcurrency: 1,
        mxRate: 1,
      },
    });
    objects.push(
      flowJobManifest(
        {
          name: 'seed',
          image: 'node:24-alpine',
          command: ['node', '-e', '0'],
          args: [],
          env: { A: 'b' },
          timeoutMs: 30_000,
        },
        ns,
        'flow-seed',
      ) as KubeObject,
    );
    for (const obj of objects) await client.apply(obj as never);
    await assertStoredAsBuilt(fake, objects);
  });
});
