/**
 * The fake's Pod Security admission, the controllers' reaction to refused
 * pods, and the kubelet's runAsNonRoot / readOnlyRootFilesystem handling,
 * seen through client-node and real kubectl.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useFakeKube } from '../../support/fake-kube/mocha.ts';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import { enforcedPolicy, podSecurityViolation } from '../../support/fake-kube/index.ts';
import { clients, kubectl, statusOf } from './helpers.ts';

type Obj = Record<string, any>;

/** A pod that passes restricted (what our manifests do). */
function restrictedPod(name: string, extra: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      restartPolicy: 'Never',
      containers: [
        {
          name: 'c',
          image: 'node:24-alpine',
          command: ['node', '-e', 'setTimeout(() => {}, 60000)'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          ...extra,
        },
      ],
    },
  };
}

describe('fake-kube Pod Security admission', function () {
  this.timeout(30_000);
  const fake = useFakeKube();
  let kube: FakeKube;
  beforeEach(() => {
    kube = fake();
  });

  async function namespace(name: string, labels: Record<string, string>): Promise<void> {
    await clients(kube).core.createNamespace({ body: { metadata: { name, labels } } });
  }

  it('refuses a plain pod in a restricted namespace with the real message, through client-node and kubectl', async () => {
    await namespace('locked', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const { core } = clients(kube);
    const plain = {
      metadata: { name: 'plain' },
      spec: { containers: [{ name: 'c', image: 'node:24-alpine' }] },
    };
    const expected =
      'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';
    await assert.rejects(
      core.createNamespacedPod({ namespace: 'locked', body: plain }),
      (err: unknown) => {
        const s = statusOf(err);
        assert.equal(s.code, 403);
        assert.equal(s.reason, 'Forbidden');
        assert.equal(s.message, expected);
        return true;
      },
    );
    assert.equal(kube.get('pods', 'locked', 'plain'), undefined, 'nothing stored');
    const file = join(kube.dir, 'plain.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        ...plain,
        metadata: { name: 'plain', namespace: 'locked' },
      }),
    );
    const r = await kubectl(kube, ['apply', '--server-side', '--validate=false', '-f', file]);
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(expected), r.stderr);
    // The compliant pod is admitted.
    await core.createNamespacedPod({ namespace: 'locked', body: restrictedPod('ok') });
  });

  it('evaluates baseline, explicit versions and invalid labels as the real plugin does', () => {
    const pod = (spec: Obj): Obj => ({ metadata: { name: 'p' }, spec });
    const privileged = pod({
      hostNetwork: true,
      containers: [
        {
          name: 'a',
          securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'CHOWN'] } },
          ports: [{ containerPort: 80, hostPort: 8080 }],
        },
      ],
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
    });
    assert.equal(
      podSecurityViolation(
        enforcedPolicy({ 'pod-security.kubernetes.io/enforce': 'baseline' }),
        privileged,
      ),
      'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPort (container "a" uses hostPort 8080), privileged (container "a" must not set securityContext.privileged=true), ' +
        'non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add), hostPath volumes (volume "h")',
    );
    assert.equal(
      podSecurityViolation(
        enforcedPolicy({ 'pod-security.kubernetes.io/enforce': 'privileged' }),
        privileged,
      ),
      undefined,
    );
    assert.equal(
      podSecurityViolation(enforcedPolicy(undefined), privileged),
      undefined,
      'no label: privileged',
    );
    const rootUser = pod({
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 0,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'a',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    });
    assert.equal(
      podSecurityViolation(
        enforcedPolicy({
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'v1.30',
        }),
        rootUser,
      ),
      'violates PodSecurity "restricted:v1.30": runAsUser=0 (pod must not set runAsUser=0)',
    );
    // runAsUser=0 is only checked from 1.23.
    assert.equal(
      podSecurityViolation(
        enforcedPolicy({
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'v1.22',
        }),
        rootUser,
      ),
      undefined,
    );
    assert.match(
      podSecurityViolation(
        enforcedPolicy({ 'pod-security.kubernetes.io/enforce': 'strict' }),
        rootUser,
      ) ?? '',
      /^violates PodSecurity "restricted:latest"/,
      'an invalid level is restricted',
    );
    const volumes = pod({
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'a',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      volumes: [
        { name: 'b', nfs: {} },
        { name: 'a', gitRepo: {} },
        { name: 'ok', emptyDir: {} },
      ],
    });
    assert.equal(
      podSecurityViolation(
        enforcedPolicy({ 'pod-security.kubernetes.io/enforce': 'restricted' }),
        volumes,
      ),
      'violates PodSecurity "restricted:latest": restricted volume types (volumes ["a" "b"] have restricted types)',
    );
  });

  it('a Deployment whose pods are refused: ReplicaSet and Deployment carry ReplicaFailure/FailedCreate, Events say "Error creating"; fixed by relabelling', async () => {
    await namespace('locked', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const { apps } = clients(kube);
    await apps.createNamespacedDeployment({
      namespace: 'locked',
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                {
                  name: 'web',
                  image: 'node:24-alpine',
                  command: ['node', '-e', 'setTimeout(()=>{},60000)'],
                },
              ],
            },
          },
        },
      },
    });
    const rs = (await kube.waitFor('replicasets', (o) =>
      ((o as Obj).status?.conditions ?? []).some((c: Obj) => c.type === 'ReplicaFailure'),
    )) as Obj;
    const cond = rs.status.conditions.find((c: Obj) => c.type === 'ReplicaFailure');
    assert.equal(cond.status, 'True');
    assert.equal(cond.reason, 'FailedCreate');
    assert.match(
      cond.message,
      /^pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
    const d = (await kube.waitFor('deployments', (o) =>
      ((o as Obj).status?.conditions ?? []).some((c: Obj) => c.type === 'ReplicaFailure'),
    )) as Obj;
    const dc = d.status.conditions.find((c: Obj) => c.type === 'ReplicaFailure');
    assert.equal(dc.reason, 'FailedCreate');
    assert.equal(dc.message, cond.message);
    const ev = (await kube.waitFor(
      'events',
      (e) =>
        (e as Obj).involvedObject?.kind === 'ReplicaSet' && (e as Obj).reason === 'FailedCreate',
    )) as Obj;
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /^Error creating: pods "web-.*" is forbidden: violates PodSecurity/);
    assert.equal(ev.source.component, 'replicaset-controller');
    const described = await kubectl(kube, ['describe', 'deployment', 'web', '-n', 'locked']);
    assert.match(described.stdout, /ReplicaFailure\s+True\s+FailedCreate/);
    assert.equal(kube.list('pods', 'locked').length, 0);

    // An admin relaxes the namespace: the controller's retry creates the pod and the condition goes away.
    const relabel = await kube.request('PATCH', '/api/v1/namespaces/locked', {
      body: JSON.stringify({
        metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
      }),
      contentType: 'application/merge-patch+json',
    });
    assert.equal(relabel.status, 200, relabel.body);
    await kube.waitFor('pods', (p) => p.metadata.namespace === 'locked');
    await kube.waitFor(
      'deployments',
      (o) => !((o as Obj).status?.conditions ?? []).some((c: Obj) => c.type === 'ReplicaFailure'),
    );
  });

  it('a Job whose pod is refused records FailedCreate Events and stays without pods (no condition, as the real controller)', async () => {
    await namespace('locked', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const { batch } = clients(kube);
    await batch.createNamespacedJob({
      namespace: 'locked',
      body: {
        metadata: { name: 'once' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'job', image: 'node:24-alpine', command: ['node', '-e', '1'] }],
            },
          },
        },
      },
    });
    const ev = (await kube.waitFor(
      'events',
      (e) => (e as Obj).involvedObject?.kind === 'Job' && (e as Obj).reason === 'FailedCreate',
    )) as Obj;
    assert.match(
      ev.message,
      /^Error creating: pods "once-[a-z0-9]{5}" is forbidden: violates PodSecurity "restricted:latest"/,
    );
    assert.equal(ev.source.component, 'job-controller');
    const job = kube.get('jobs', 'locked', 'once') as Obj;
    assert.equal((job.status?.conditions ?? []).length, 0);
    assert.equal(job.status?.active ?? 0, 0);
  });
});

describe('fake-kube kubelet security context', function () {
  this.timeout(30_000);
  const fake = useFakeKube({ imageUsers: { 'registry.example/app': 'app' } });
  let kube: FakeKube;
  beforeEach(() => {
    kube = fake();
  });

  it("runAsNonRoot with the node image and no runAsUser: CreateContainerConfigError with kubelet's message; runAsUser 1000 runs", async () => {
    const { core } = clients(kube);
    const pod = restrictedPod('rooty');
    delete pod.spec.securityContext.runAsUser;
    await core.createNamespacedPod({ namespace: 'default', body: pod });
    const waiting = (await kube.waitFor(
      'pods',
      (p) =>
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason ===
        'CreateContainerConfigError',
    )) as Obj;
    assert.equal(
      waiting.status.containerStatuses[0].state.waiting.message,
      `container has runAsNonRoot and image will run as root (pod: "rooty_default(${waiting.metadata.uid})", container: c)`,
    );
    assert.equal(waiting.status.phase, 'Pending');
    const ev = (await kube.waitFor(
      'events',
      (e) => (e as Obj).reason === 'Failed' && (e as Obj).involvedObject?.name === 'rooty',
    )) as Obj;
    assert.match(ev.message, /^Error: container has runAsNonRoot and image will run as root/);
    const got = await kubectl(kube, ['get', 'pod', 'rooty']);
    assert.match(got.stdout, /rooty\s+0\/1\s+CreateContainerConfigError/);

    await core.createNamespacedPod({ namespace: 'default', body: restrictedPod('fine') });
    await kube.waitFor(
      'pods',
      (p) => p.metadata.name === 'fine' && (p as Obj).status?.phase === 'Running',
    );

    const zero = restrictedPod('zero');
    zero.spec.securityContext.runAsUser = 0;
    await core.createNamespacedPod({ namespace: 'default', body: zero });
    const z = (await kube.waitFor(
      'pods',
      (p) =>
        p.metadata.name === 'zero' &&
        (p as Obj).status?.containerStatuses?.[0]?.state?.waiting !== undefined &&
        (p as Obj).status.containerStatuses[0].state.waiting.reason !== 'ContainerCreating',
    )) as Obj;
    assert.match(
      z.status.containerStatuses[0].state.waiting.message,
      /^container's runAsUser breaks non-root policy/,
    );
  });

  it('an image with a named USER cannot be verified as non-root', async () => {
    const pod = restrictedPod('named', { image: 'registry.example/app:1' });
    delete pod.spec.securityContext.runAsUser;
    kube.faults.simulateOtherImages = true;
    await clients(kube).core.createNamespacedPod({ namespace: 'default', body: pod });
    const p = (await kube.waitFor(
      'pods',
      (o) =>
        (o as Obj).status?.containerStatuses?.[0]?.state?.waiting?.reason ===
        'CreateContainerConfigError',
    )) as Obj;
    assert.match(
      p.status.containerStatuses[0].state.waiting.message,
      /^container has runAsNonRoot and image has non-numeric user \(app\), cannot verify user is non-root/,
    );
  });

  it('readOnlyRootFilesystem: the working directory, HOME and TMPDIR are not writable; a mounted emptyDir is', async () => {
    const script = [
      "const fs = require('node:fs'); const os = require('node:os');",
      'const w = (d) => { try { fs.accessSync(d, fs.constants.W_OK); return (fs.statSync(d).mode & 0o222) !== 0; } catch { return false; } };',
      'console.log(JSON.stringify({ cwd: w(process.cwd()), home: w(os.homedir()), tmp: w(os.tmpdir()), data: w(process.env.DATA) }));',
    ].join(' ');
    const pod = restrictedPod('ro', {
      command: ['node', '-e', script],
      env: [{ name: 'DATA', value: '/data' }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    });
    pod.spec.containers[0].securityContext.readOnlyRootFilesystem = true;
    pod.spec.volumes = [{ name: 'data', emptyDir: {} }];
    await clients(kube).core.createNamespacedPod({ namespace: 'default', body: pod });
    await kube.waitFor(
      'pods',
      (p) => p.metadata.name === 'ro' && (p as Obj).status?.phase === 'Succeeded',
    );
    // Mode bits, not only access(2): the tests may run as root, whom permissions do not stop (see README of the fake).
    assert.deepEqual(JSON.parse(kube.podLogs('default', 'ro') ?? '{}'), {
      cwd: false,
      home: false,
      tmp: false,
      data: true,
    });
  });
});
