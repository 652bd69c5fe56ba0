/**
 * `up -n NS` a second time (issue 8, defect 7): the token the second run
 * reports must be the one the serving pod holds, changed rules must roll the
 * pods, readiness must wait for that rollout, and a failed second run must
 * leave the sink that was there.
 */
import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../../src/manifests.ts';
import { isEmailValidateError } from '../../../src/errors.ts';

const RULES_A =
  'rules:\n  - name: first\n    match: { recipient: "bounce@example.com" }\n    reject: true\n';
const RULES_B =
  'rules:\n  - name: second\n    match: { recipient: "defer@example.com" }\n    reject: true\n';

async function apiStatus(
  fake: FakeKube,
  namespace: string,
  token: string,
  path = '/api/rules',
): Promise<{ status: number; body: string }> {
  const sink = await openClusterSink({ kubeconfig: fake.kubeconfigPath }, { namespace });
  try {
    const res = await fetch(`${sink.sinks[0].apiUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: await res.text() };
  } finally {
    await sink.close();
  }
}

function livePods(fake: FakeKube, namespace: string) {
  return fake.list('pods', namespace).filter((p) => !p.metadata.deletionTimestamp);
}

describe('cluster: `up -n NS` a second time', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  const ns = 'again';
  beforeEach(async () => {
    fake = await startFakeKube();
    fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('the token it reports works against the pod that serves (no 401), and changed rules roll the pods', async () => {
    const kube = { kubeconfig: fake.kubeconfigPath };
    const first = await createSink(kube, { namespace: ns, rules: RULES_A, wait: '20s' });
    const [firstPod] = first.pods;
    assert.equal((await apiStatus(fake, ns, first.token)).status, 200);

    const second = await createSink(kube, { namespace: ns, rules: RULES_B, wait: '20s' });
    const check = await apiStatus(fake, ns, second.token);
    assert.equal(check.status, 200, `the second run's token is accepted: ${check.body}`);
    assert.match(check.body, /defer@example\.com/, 'the serving pod runs the new rules');
    assert.ok(!second.pods.includes(firstPod), `readiness returned the new pod, not ${firstPod}`);
    const checksums = new Set(
      livePods(fake, ns).map((p) => p.metadata.annotations?.[CONFIG_CHECKSUM_ANNOTATION]),
    );
    assert.equal(checksums.size, 1, 'every live pod carries the new config checksum');
  });

  it('a failed second run leaves the existing sink in place and working', async () => {
    const kube = { kubeconfig: fake.kubeconfigPath };
    const first = await createSink(kube, { namespace: ns, rules: RULES_A, wait: '20s' });
    // Pods created from now on never become ready: the second run's rollout cannot finish.
    fake.faults.podNeverReady({
      namespace: ns,
      reason: 'CrashLoopBackOff',
      message: 'back-off restarting failed container',
    });
    const lines: string[] = [];
    await assert.rejects(
      createSink(kube, {
        namespace: ns,
        rules: RULES_B,
        wait: '2s',
        onStatus: (l) => lines.push(l),
      }),
      (e: unknown) =>
        isEmailValidateError(e) &&
        e.code === 'EV_ERR_SINK_NOT_READY' &&
        /CrashLoopBackOff/.test(e.message),
    );
    assert.ok(fake.get('deployments', ns, 'email-sink'), 'the Deployment is still there');
    assert.ok(fake.get('secrets', ns, 'email-sink-token'), 'the token Secret is still there');
    assert.ok(fake.get('services', ns, 'email-sink'), 'the Service is still there');
    assert.ok(
      lines.some((l) => /left in place/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      livePods(fake, ns).some((p) => p.metadata.name === first.pods[0]),
      'the old pod still serves',
    );
  });
});
