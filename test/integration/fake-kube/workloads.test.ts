import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube } from '../../support/fake-kube/index.ts';
import { useFakeKube } from '../../support/fake-kube/mocha.ts';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import { clients, httpGet, httpServerObjects, isReady, localForward } from './helpers.ts';

type Obj = Record<string, any>;

describe('fake-kube workloads (client-node)', function () {
  this.timeout(30_000);
  const fake = useFakeKube();
  let kube: FakeKube;
  beforeEach(() => {
    kube = fake();
  });

  it('runs a Deployment whose pod serves HTTP from a ConfigMap script, reachable through port-forward', async () => {
    const { kc, core, apps } = clients(kube);
    await core.createNamespace({ body: { metadata: { name: 'web' } } });
    const { configMap, deployment } = httpServerObjects('web', 'hello');
    await core.createNamespacedConfigMap({ namespace: 'web', body: configMap });
    await core.createNamespacedSecret({
      namespace: 'web',
      body: { metadata: { name: 'hello-secret' }, stringData: { greeting: 'hi there' } },
    });
    await apps.createNamespacedDeployment({ namespace: 'web', body: deployment });

    const pod = await kube.waitFor(
      'pods',
      (p) => p.metadata.namespace === 'web' && isReady(p as Obj),
    );
    assert.match(
      pod.metadata.name ?? '',
      /^hello-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );
    const podIP = (pod as Obj).status.podIP as string;
    assert.match(podIP, /^127\.\d+\.\d+\.\d+$/);
    await kube.waitFor(
      'deployments',
      (d) => (d as Obj).status?.readyReplicas === 1 && (d as Obj).status?.availableReplicas === 1,
    );
    const rs = kube.list('replicasets', 'web');
    assert.equal(rs.length, 1);
    assert.equal(pod.metadata.ownerReferences?.[0].name, rs[0].metadata.name);

    const fwd = await localForward(kc, 'web', pod.metadata.name ?? '', 8080);
    try {
      const res = await httpGet(fwd.port, '/hello');
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), {
        pod: pod.metadata.name,
        ns: 'web',
        greeting: 'hi there',
        path: '/hello',
      });
    } finally {
      await fwd.close();
    }
    const logs = await core.readNamespacedPodLog({
      name: pod.metadata.name ?? '',
      namespace: 'web',
    });
    assert.match(String(logs), /listening on 127\./);
  });

  it('recreates a deleted pod, and deleting the pod stops its process with SIGTERM', async () => {
    const { core, apps } = clients(kube);
    await core.createNamespace({ body: { metadata: { name: 'web' } } });
    const { configMap, deployment } = httpServerObjects('web', 'hello');
    await core.createNamespacedConfigMap({ namespace: 'web', body: configMap });
    await apps.createNamespacedDeployment({ namespace: 'web', body: deployment });
    const first = await kube.waitFor('pods', (p) => isReady(p as Obj));
    await core.deleteNamespacedPod({ name: first.metadata.name ?? '', namespace: 'web' });
    const second = await kube.waitFor(
      'pods',
      (p) => p.metadata.uid !== first.metadata.uid && isReady(p as Obj),
    );
    assert.notEqual(second.metadata.name, first.metadata.name);
    await waitGone(kube, 'web', first.metadata.name ?? '');
  });

  it('scales a Deployment and reports replicas in its status', async () => {
    const { core, apps } = clients(kube);
    await core.createNamespace({ body: { metadata: { name: 'web' } } });
    const { configMap, deployment } = httpServerObjects('web', 'hello', 3);
    await core.createNamespacedConfigMap({ namespace: 'web', body: configMap });
    await apps.createNamespacedDeployment({ namespace: 'web', body: deployment });
    await kube.waitFor('deployments', (d) => (d as Obj).status?.readyReplicas === 3);
    const ips = new Set(kube.list('pods', 'web').map((p) => (p as Obj).status.podIP));
    assert.equal(ips.size, 3, 'each pod has its own loopback address');
    await apps.patchNamespacedDeployment(
      { name: 'hello', namespace: 'web', body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const d = await kube.waitFor(
      'deployments',
      (x) => (x as Obj).status?.replicas === 1 && (x as Obj).status?.readyReplicas === 1,
    );
    const available = ((d as Obj).status.conditions as Obj[]).find((c) => c.type === 'Available');
    assert.equal(available?.status, 'True');
  });

  it('restarts a crashing container with CrashLoopBackOff and counts restarts', async () => {
    const { core } = clients(kube);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'crasher' },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'node:24',
              command: ['node', '-e', 'console.log("boom"); process.exit(3)'],
            },
          ],
        },
      },
    });
    const pod = (await kube.waitFor(
      'pods',
      (p) => ((p as Obj).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
    )) as Obj;
    const cs = pod.status.containerStatuses[0];
    assert.equal(cs.lastState.terminated.exitCode, 3);
    assert.equal(pod.status.phase, 'Running');
    assert.equal(isReady(pod), false);
    const crashLoop = await kube.waitFor(
      'pods',
      (p) =>
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
    );
    assert.ok(crashLoop);
    assert.match(kube.podLogs('default', 'crasher') ?? '', /boom/);
    const started = kube
      .list('events', 'default')
      .filter(
        (e) => (e as Obj).involvedObject?.name === 'crasher' && (e as Obj).reason === 'Started',
      ) as Obj[];
    assert.equal(started.length, 1, 'repeated events are counted, not duplicated');
    assert.ok(started[0].count >= 2);
  });

  it('runs a pod to completion (restartPolicy Never) and keeps its logs', async () => {
    const { core } = clients(kube);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: { name: 'cfg' },
        data: { 'a.txt': 'alpha' },
        binaryData: { 'b.bin': Buffer.from([1, 2, 3]).toString('base64') },
      },
    });
    await core.createNamespacedSecret({
      namespace: 'default',
      body: {
        metadata: { name: 'sec' },
        data: { token: Buffer.from('s3cret').toString('base64') },
      },
    });
    const script = [
      "const fs = require('node:fs');",
      "const a = fs.readFileSync('/etc/merged/a.txt', 'utf8');",
      "const b = [...fs.readFileSync('/etc/merged/bin/b.bin')].join(',');",
      "const t = fs.readFileSync('/etc/merged/token', 'utf8');",
      "const only = fs.readdirSync('/etc/one').join(',');",
      'console.log(JSON.stringify({ a, b, t, only, ip: process.env.MY_IP, cfg: process.env.CFG_PATH }));',
    ].join(' ');
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'once' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'docker.io/library/node:22-alpine',
              command: ['node', '-e', script],
              env: [
                { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'CFG_PATH', value: '/etc/merged/a.txt' },
              ],
              volumeMounts: [
                { name: 'merged', mountPath: '/etc/merged' },
                { name: 'one', mountPath: '/etc/one' },
              ],
            },
          ],
          volumes: [
            {
              name: 'merged',
              projected: {
                sources: [
                  {
                    configMap: {
                      name: 'cfg',
                      items: [
                        { key: 'a.txt', path: 'a.txt' },
                        { key: 'b.bin', path: 'bin/b.bin' },
                      ],
                    },
                  },
                  { secret: { name: 'sec' } },
                ],
              },
            },
            {
              name: 'one',
              configMap: { name: 'cfg', items: [{ key: 'a.txt', path: 'renamed.txt' }] },
            },
          ],
        },
      },
    });
    const pod = (await kube.waitFor(
      'pods',
      (p) => (p as Obj).status?.phase === 'Succeeded',
    )) as Obj;
    assert.equal(pod.status.containerStatuses[0].state.terminated.exitCode, 0);
    const out = JSON.parse((kube.podLogs('default', 'once') ?? '').trim());
    assert.equal(out.a, 'alpha');
    assert.equal(out.b, '1,2,3');
    assert.equal(out.t, 's3cret');
    assert.equal(out.only, 'renamed.txt');
    assert.equal(out.ip, pod.status.podIP);
    assert.ok(
      String(out.cfg).endsWith('/a.txt') && !String(out.cfg).startsWith('/etc/merged'),
      'env paths under a mount are rewritten',
    );
  });

  it('restarts a container whose liveness probe starts failing', async () => {
    // A fake of its own with a fast liveness period, closed here (useFakeKube closes only its own).
    const fast = await startFakeKube({ livenessPeriodMs: 50 });
    try {
      await livenessRestart(fast);
      assert.deepEqual([...fast.internalErrors], [], 'the fake itself raised no internal errors');
    } finally {
      await fast.close();
    }
  });

  async function livenessRestart(kube: FakeKube): Promise<void> {
    const { core } = clients(kube);
    const script =
      'let n = 0; require("node:http").createServer((q, s) => { s.statusCode = ++n > 2 ? 500 : 200; s.end(); }).listen(9000, process.env.EV_HOST)';
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'sick' },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'node:24',
              command: ['node', '-e', script],
              env: [{ name: 'EV_HOST', value: '' }],
              livenessProbe: { httpGet: { path: '/livez', port: 9000 }, failureThreshold: 2 },
            },
          ],
        },
      },
    });
    const pod = (await kube.waitFor(
      'pods',
      (p) => ((p as Obj).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    )) as Obj;
    assert.equal(pod.status.containerStatuses[0].lastState.terminated.exitCode, 137);
  }

  it('holds non-Node images Pending with ErrImagePull/ImagePullBackOff', async () => {
    const { core } = clients(kube);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'nginx' },
        spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
      },
    });
    const pod = (await kube.waitFor(
      'pods',
      (p) =>
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
    )) as Obj;
    assert.equal(pod.status.phase, 'Pending');
  });

  it('fault: pod never becomes ready with a given reason (unschedulable, image pull, crash loop)', async () => {
    const { core } = clients(kube);
    kube.faults.podNeverReady({ reason: 'Unschedulable', namePrefix: 'u-' });
    kube.faults.podNeverReady({ reason: 'ErrImagePull', namePrefix: 'i-' });
    kube.faults.podNeverReady({ reason: 'CrashLoopBackOff', labelSelector: 'crash=yes' });
    const spec = {
      containers: [
        { name: 'c', image: 'node:24', command: ['node', '-e', 'setInterval(() => {}, 1000)'] },
      ],
    };
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'u-1' }, spec },
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'i-1' }, spec },
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'c-1', labels: { crash: 'yes' } }, spec },
    });
    const u = (await kube.waitFor(
      'pods',
      (p) =>
        p.metadata.name === 'u-1' &&
        ((p as Obj).status?.conditions ?? []).some(
          (c: Obj) => c.type === 'PodScheduled' && c.status === 'False',
        ),
    )) as Obj;
    assert.equal(
      u.status.conditions.find((c: Obj) => c.type === 'PodScheduled').reason,
      'Unschedulable',
    );
    await kube.waitFor(
      'pods',
      (p) =>
        p.metadata.name === 'i-1' &&
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull',
    );
    await kube.waitFor(
      'pods',
      (p) =>
        p.metadata.name === 'c-1' &&
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
    );
  });

  it('runs an Indexed Job: one pod per index with JOB_COMPLETION_INDEX, then Complete', async () => {
    const { batch } = clients(kube);
    await batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'shard' },
        spec: {
          completions: 4,
          parallelism: 2,
          completionMode: 'Indexed',
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'w',
                  image: 'node:24-alpine',
                  command: [
                    'node',
                    '-e',
                    'console.log("index=" + process.env.JOB_COMPLETION_INDEX)',
                  ],
                },
              ],
            },
          },
        },
      },
    });
    const job = (await kube.waitFor('jobs', (j) =>
      ((j as Obj).status?.conditions ?? []).some(
        (c: Obj) => c.type === 'Complete' && c.status === 'True',
      ),
    )) as Obj;
    assert.equal(job.status.succeeded, 4);
    assert.equal(job.status.completedIndexes, '0-3');
    const pods = kube
      .list('pods', 'default')
      .filter((p) => p.metadata.labels?.['job-name'] === 'shard');
    assert.equal(pods.length, 4);
    const seen = pods
      .map((p) => (kube.podLogs('default', p.metadata.name ?? '') ?? '').trim())
      .sort();
    assert.deepEqual(seen, ['index=0', 'index=1', 'index=2', 'index=3']);
    for (const p of pods)
      assert.match(
        p.metadata.name ?? '',
        new RegExp(
          `^shard-${p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']}-`,
        ),
      );
  });

  it('a template change rolls out a new ReplicaSet and replaces the pods', async () => {
    const { core, apps } = clients(kube);
    const { configMap, deployment } = httpServerObjects('default', 'hello');
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment });
    const first = await kube.waitFor('pods', (p) => isReady(p as Obj));
    await apps.patchNamespacedDeployment(
      {
        name: 'hello',
        namespace: 'default',
        body: { spec: { template: { metadata: { annotations: { restartedAt: 'now' } } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const second = await kube.waitFor(
      'pods',
      (p) => p.metadata.annotations?.restartedAt === 'now' && isReady(p as Obj),
    );
    assert.notEqual(
      second.metadata.labels?.['pod-template-hash'],
      first.metadata.labels?.['pod-template-hash'],
    );
    const old = kube.get('pods', 'default', first.metadata.name ?? '');
    assert.ok(
      old && !old.metadata.deletionTimestamp,
      'RollingUpdate (maxUnavailable 0 for one replica): the old pod serves until the new one is ready',
    );
    await waitGone(kube, 'default', first.metadata.name ?? '');
    const sets = kube
      .list('replicasets', 'default')
      .map((rs) => [
        (rs as Obj).spec.replicas,
        rs.metadata.annotations?.['deployment.kubernetes.io/revision'],
      ]);
    assert.deepEqual(sets.sort(), [
      [0, '1'],
      [1, '2'],
    ]);
  });

  it('Recreate strategy: the new pod is created only once the old one is gone', async () => {
    const { core, apps } = clients(kube);
    const { configMap, deployment } = httpServerObjects('default', 'hello');
    deployment.spec!.strategy = { type: 'Recreate' };
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment });
    const first = await kube.waitFor('pods', (p) => isReady(p as Obj));
    await apps.patchNamespacedDeployment(
      {
        name: 'hello',
        namespace: 'default',
        body: { spec: { template: { metadata: { annotations: { v: '2' } } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await kube.waitFor('pods', (p) => p.metadata.annotations?.v === '2');
    assert.equal(kube.get('pods', 'default', first.metadata.name ?? ''), undefined);
    await kube.waitFor(
      'deployments',
      (d) => (d as Obj).status?.readyReplicas === 1 && (d as Obj).status?.updatedReplicas === 1,
    );
  });

  it('a Job whose pods keep failing stops at backoffLimit with a Failed condition', async () => {
    const { batch } = clients(kube);
    await batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'bad' },
        spec: {
          backoffLimit: 1,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                { name: 'w', image: 'node:24', command: ['node', '-e', 'process.exit(2)'] },
              ],
            },
          },
        },
      },
    });
    const job = (await kube.waitFor('jobs', (j) =>
      ((j as Obj).status?.conditions ?? []).some(
        (c: Obj) => c.type === 'Failed' && c.status === 'True',
      ),
    )) as Obj;
    assert.equal(job.status.failed, 2);
    assert.equal(
      job.status.conditions.find((c: Obj) => c.type === 'Failed').reason,
      'BackoffLimitExceeded',
    );
  });

  it('follows pod logs while the container writes, until it exits', async () => {
    const { kc, core } = clients(kube);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'talker' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'c',
              image: 'node:24',
              command: [
                'node',
                '-e',
                'let i = 0; const t = setInterval(() => { console.log("tick " + ++i); if (i === 5) clearInterval(t); }, 30)',
              ],
            },
          ],
        },
      },
    });
    await kube.waitFor(
      'pods',
      (p) => p.metadata.name === 'talker' && (p as Obj).status?.phase === 'Running',
    );
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const ended = new Promise((r) => out.on('end', r));
    await new k8s.Log(kc).log('default', 'talker', 'c', out, { follow: true });
    await ended;
    assert.equal(text, 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
  });

  it('fault: dropPortForwardsAfterBytes(n) cuts each forward once it carried n bytes', async () => {
    const { kc, core, apps } = clients(kube);
    const { configMap, deployment } = httpServerObjects('default', 'hello');
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment });
    const pod = await kube.waitFor('pods', (p) => isReady(p as Obj));
    kube.faults.dropPortForwardsAfterBytes(64);
    const fwd = await localForward(kc, 'default', pod.metadata.name ?? '', 8080);
    try {
      const sock = connect({ host: '127.0.0.1', port: fwd.port });
      let received = 0;
      sock.on('data', (d: Buffer) => {
        received += d.length;
      });
      const closed = new Promise((r) => sock.once('close', r));
      sock.write(`GET /${'x'.repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await closed;
      assert.equal(received, 0, 'the request alone crossed the limit: nothing came back');
    } finally {
      kube.faults.dropPortForwardsAfterBytes(undefined);
      await fwd.close();
    }
  });

  it('fault: dropPortForwards() closes open forwards mid-stream', async () => {
    const { kc, core, apps } = clients(kube);
    const { configMap, deployment } = httpServerObjects('default', 'hello');
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment });
    const pod = await kube.waitFor('pods', (p) => isReady(p as Obj));
    const fwd = await localForward(kc, 'default', pod.metadata.name ?? '', 8080);
    try {
      const sock = connect({ host: '127.0.0.1', port: fwd.port });
      await new Promise((r) => sock.once('connect', r));
      sock.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((r) => sock.once('data', r));
      await waitUntil(() => kube.activePortForwards === 1);
      const closed = new Promise((r) => sock.once('close', r));
      assert.equal(kube.faults.dropPortForwards(), 1);
      await closed;
      assert.equal(kube.activePortForwards, 0);
      const again = await httpGet(fwd.port, '/again');
      assert.equal(again.status, 200, 'a new connection opens a new forward');
      assert.ok(kube.portForwardsOpened >= 2);
    } finally {
      await fwd.close();
    }
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met before deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function waitGone(kube: FakeKube, ns: string, name: string): Promise<void> {
  await waitUntil(() => kube.get('pods', ns, name) === undefined);
}
