import assert from 'node:assert/strict';
import { isPodReady, podState, reasonHint, waitForSinkReady } from '../../../plugin/lib/kube/readiness.ts';
import type { KubeClient, V1Pod } from '../../../plugin/lib/kube/adapter.ts';
import { isEmailValidateError } from '../../../src/errors.ts';

const pod = (name: string, status: V1Pod['status'], extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({ metadata: { name, ...extra }, status });

describe('readiness', () => {
  it('reads the pod\'s own reason: image pull, crash loop, unschedulable, ready', () => {
    assert.equal(podState(pod('a', { phase: 'Pending', containerStatuses: [{ name: 'sink', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'no pull' } } }] })).reason, 'ImagePullBackOff');
    assert.equal(podState(pod('b', { phase: 'Running', containerStatuses: [{ name: 'sink', image: 'x', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }] })).reason, 'CrashLoopBackOff');
    assert.deepEqual(podState(pod('c', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' }] })), { name: 'c', ready: false, reason: 'Unschedulable', message: '0/3 nodes' });
    const ready = pod('d', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    assert.equal(isPodReady(ready), true);
    assert.equal(isPodReady({ ...ready, metadata: { name: 'd', deletionTimestamp: new Date() } }), false);
    assert.match(reasonHint('ImagePullBackOff', 'ns'), /--node-image/);
    assert.match(reasonHint('CrashLoopBackOff', 'ns'), /kubectl logs -n ns/);
  });

  it('waits with progress, then fails with the reason at the deadline (fake clock)', async () => {
    let t = 0;
    const lines: string[] = [];
    const client = { listPods: async () => [pod('p', { phase: 'Pending', containerStatuses: [{ name: 's', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull' } } }] })] } as unknown as KubeClient;
    await assert.rejects(waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs: 5000, now: () => t, sleep: async (ms) => { t += ms; }, onProgress: (l) => lines.push(l) }),
      (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_SINK_NOT_READY' && /within 5s: p: ErrImagePull/.test(e.message));
    assert.equal(lines.length, 1, 'progress printed when it changes, not every poll');
  });

  it('returns the ready pods once enough are ready', async () => {
    let calls = 0;
    const client = { listPods: async () => (++calls < 3 ? [] : [pod('p', { conditions: [{ type: 'Ready', status: 'True' }] })]) } as unknown as KubeClient;
    const pods = await waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs: 5000, sleep: async () => {} });
    assert.equal(pods[0].metadata?.name, 'p');
  });
});
