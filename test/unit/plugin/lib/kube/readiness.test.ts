import assert from 'node:assert/strict';
import {
  FAST_POLL_MS,
  FAST_POLL_WINDOW_MS,
  MAX_POLL_MS,
  deploymentFailure,
  isPodReady,
  podState,
  reasonHint,
  rolloutState,
  waitForSinkReady,
} from '../../../../../plugin/lib/kube/readiness.ts';
import type { KubeClient, V1Deployment, V1Pod } from '../../../../../plugin/lib/kube/adapter.ts';
import { ApiException, toKubeError } from '../../../../../plugin/lib/kube/errors.ts';
import {
  TRANSIENT_ATTEMPTS,
  TRANSIENT_MAX_MS,
  isTransient,
  retryAfterMs,
} from '../../../../../plugin/lib/kube/transient.ts';
import { FakeClock } from '../../../../support/fake-clock.ts';
import { isEmailValidateError } from '../../../../../src/errors.ts';

const pod = (
  name: string,
  status: V1Pod['status'],
  extra: Partial<V1Pod['metadata']> = {},
): V1Pod => ({ metadata: { name, ...extra }, status });

describe('readiness', () => {
  it("reads the pod's own reason: image pull, crash loop, unschedulable, ready", () => {
    assert.equal(
      podState(
        pod('a', {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'sink',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ImagePullBackOff', message: 'no pull' } },
            },
          ],
        }),
      ).reason,
      'ImagePullBackOff',
    );
    assert.equal(
      podState(
        pod('b', {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'sink',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 3,
              state: { waiting: { reason: 'CrashLoopBackOff' } },
            },
          ],
        }),
      ).reason,
      'CrashLoopBackOff',
    );
    assert.deepEqual(
      podState(
        pod('c', {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes',
            },
          ],
        }),
      ),
      { name: 'c', ready: false, reason: 'Unschedulable', message: '0/3 nodes' },
    );
    const ready = pod('d', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    assert.equal(isPodReady(ready), true);
    assert.equal(
      isPodReady({ ...ready, metadata: { name: 'd', deletionTimestamp: new Date() } }),
      false,
    );
    assert.match(reasonHint('ImagePullBackOff', 'ns'), /--node-image/);
    assert.match(reasonHint('CrashLoopBackOff', 'ns'), /kubectl logs -n ns/);
  });

  describe('podState: the most telling reason, case by case (issue 15, bug 3)', () => {
    type Cs = NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number];
    const cs = (o: Partial<Cs>): Cs => ({
      name: 'sink',
      image: 'x',
      imageID: '',
      ready: false,
      restartCount: 0,
      ...o,
    });
    const cases: Array<{
      what: string;
      pod: V1Pod;
      reason: string;
      message: string;
      ready?: boolean;
    }> = [
      {
        what: 'running again after a restart: the old termination is history, not the reason',
        pod: pod('a', {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [
            cs({
              restartCount: 1,
              state: { running: { startedAt: new Date(0) } },
              lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
            }),
          ],
        }),
        reason: 'Running (not ready yet)',
        message: '',
      },
      {
        what: 'ready after a restart',
        pod: pod('b', {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            cs({
              ready: true,
              restartCount: 2,
              state: { running: {} },
              lastState: { terminated: { exitCode: 1, reason: 'Error' } },
            }),
          ],
        }),
        reason: 'Ready',
        message: '',
        ready: true,
      },
      {
        what: 'terminated now, with a reason and a message',
        pod: pod('c', {
          phase: 'Running',
          containerStatuses: [
            cs({
              state: {
                terminated: { exitCode: 137, reason: 'OOMKilled', message: 'memory limit' },
              },
            }),
          ],
        }),
        reason: 'OOMKilled',
        message: 'memory limit',
      },
      {
        what: 'terminated with a reason only: the exit code is the message',
        pod: pod('d', {
          phase: 'Running',
          containerStatuses: [cs({ state: { terminated: { exitCode: 2, reason: 'Error' } } })],
        }),
        reason: 'Error',
        message: 'exit code 2',
      },
      {
        what: 'terminated with only an exit code (as kubectl get pods shows it)',
        pod: pod('e', {
          phase: 'Running',
          containerStatuses: [cs({ state: { terminated: { exitCode: 3 } } })],
        }),
        reason: 'ExitCode:3',
        message: 'exit code 3',
      },
      {
        what: 'terminated by a signal with no reason',
        pod: pod('e2', {
          phase: 'Running',
          containerStatuses: [cs({ state: { terminated: { exitCode: 0, signal: 9 } } })],
        }),
        reason: 'Signal:9',
        message: 'exit code 0',
      },
      {
        what: 'last terminated, not running, not waiting',
        pod: pod('f', {
          phase: 'Running',
          containerStatuses: [
            cs({
              restartCount: 1,
              state: {},
              lastState: { terminated: { exitCode: 1, reason: 'Error' } },
            }),
          ],
        }),
        reason: 'Error',
        message: 'exit code 1',
      },
      {
        what: 'Terminating beats everything else, even Ready',
        pod: pod(
          'g',
          {
            phase: 'Running',
            conditions: [{ type: 'Ready', status: 'True' }],
            containerStatuses: [cs({ state: { waiting: { reason: 'CrashLoopBackOff' } } })],
          },
          { deletionTimestamp: new Date(0) },
        ),
        reason: 'Terminating',
        message: '',
      },
      {
        what: 'CreateContainerConfigError (a missing Secret key)',
        pod: pod('h', {
          phase: 'Pending',
          containerStatuses: [
            cs({
              state: {
                waiting: {
                  reason: 'CreateContainerConfigError',
                  message: 'secret "email-sink" not found',
                },
              },
            }),
          ],
        }),
        reason: 'CreateContainerConfigError',
        message: 'secret "email-sink" not found',
      },
      {
        what: 'scheduled but no container status yet: the phase and its message',
        pod: pod('i', {
          phase: 'Pending',
          message: 'pulling',
          conditions: [{ type: 'PodScheduled', status: 'True' }],
        }),
        reason: 'Pending',
        message: 'pulling',
      },
      {
        what: 'unschedulable without a reason',
        pod: pod('j', {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False' }],
        }),
        reason: 'Unschedulable',
        message: '',
      },
      {
        what: 'no status at all',
        pod: { metadata: { name: 'k' } },
        reason: 'Pending',
        message: '',
      },
    ];
    for (const c of cases) {
      it(c.what, () => {
        assert.deepEqual(podState(c.pod), {
          name: c.pod.metadata?.name,
          ready: c.ready ?? false,
          reason: c.reason,
          message: c.message,
        });
      });
    }

    it('the hint follows the reason', () => {
      assert.match(
        reasonHint('CreateContainerConfigError', 'ns'),
        /configuration is invalid: see `kubectl describe pod -n ns`/,
      );
      assert.match(reasonHint('OOMKilled', 'ns'), /keeps crashing/);
      assert.match(reasonHint('ExitCode:3', 'ns'), /keeps crashing/);
      assert.match(reasonHint('Signal:9', 'ns'), /keeps crashing/);
      assert.match(reasonHint('Unschedulable', 'ns'), /no node can run the pod/);
      assert.match(reasonHint('Pending', 'ns'), /raise --wait/);
    });

    it('the timeout error names a CreateContainerConfigError pod with its message and hint', async () => {
      const clock = new FakeClock();
      const client = stub({
        deployment: () =>
          deploy({
            generation: 1,
            observedGeneration: 1,
            replicas: 1,
            updatedReplicas: 1,
            availableReplicas: 0,
          }),
        pods: () => [cases[8].pod],
      });
      await assert.rejects(
        drive(clock, waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs: 2000, clock })),
        (e: unknown) => {
          assert.ok(isEmailValidateError(e) && e.code === 'EV_ERR_SINK_NOT_READY');
          assert.match(
            e.message,
            /h: CreateContainerConfigError \(secret "email-sink" not found\)/,
          );
          assert.match(e.hint ?? '', /configuration is invalid/);
          return true;
        },
      );
    });

    it("with no pod, the Deployment's condition is the reason (a stalled rollout, no ReplicaFailure)", async () => {
      const clock = new FakeClock();
      const conditions = [
        {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
      ];
      const client = stub({
        deployment: () =>
          deploy({
            generation: 1,
            observedGeneration: 1,
            replicas: 0,
            updatedReplicas: 0,
            availableReplicas: 0,
            conditions,
          }),
        pods: () => [],
      });
      await assert.rejects(
        drive(clock, waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs: 2000, clock })),
        (e: unknown) => {
          assert.ok(isEmailValidateError(e) && e.code === 'EV_ERR_SINK_NOT_READY');
          assert.match(
            e.message,
            /within 2s: no sink pod was created: Available\/MinimumReplicasUnavailable: Deployment does not have minimum availability\.$/,
          );
          assert.match(e.hint ?? '', /kubectl describe deploy\/email-sink -n ns/);
          return true;
        },
      );
      const bare = stub({ deployment: () => undefined, pods: () => [] });
      const clock2 = new FakeClock();
      await assert.rejects(
        drive(
          clock2,
          waitForSinkReady(bare, 'ns', { replicas: 1, timeoutMs: 1000, clock: clock2 }),
        ),
        (e: unknown) => isEmailValidateError(e) && /no sink pod was created$/.test(e.message),
      );
    });

    it('polls every FAST_POLL_MS for the first FAST_POLL_WINDOW_MS, then every MAX_POLL_MS, and the last wait ends at the deadline', async () => {
      const clock = new FakeClock();
      const at: number[] = [];
      const timeoutMs = FAST_POLL_WINDOW_MS + 3 * MAX_POLL_MS + MAX_POLL_MS / 2;
      const client = stub({
        deployment: () =>
          deploy({
            generation: 1,
            observedGeneration: 1,
            replicas: 1,
            updatedReplicas: 1,
            availableReplicas: 0,
          }),
        pods: () => {
          at.push(clock.now());
          return [];
        },
      });
      const outcome = waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs, clock });
      let settled = false;
      outcome.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      // Jump exactly to each timer: the gaps seen are the poll intervals the code asked for.
      for (let i = 0; i < 10_000 && !settled; i++) {
        await new Promise((r) => setImmediate(r));
        const next = clock.nextAt();
        if (next !== undefined) await clock.advanceTo(next);
      }
      await assert.rejects(
        outcome,
        (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_SINK_NOT_READY',
      );
      const gaps = at.slice(1).map((t, i) => t - at[i]);
      const fast = FAST_POLL_WINDOW_MS / FAST_POLL_MS;
      assert.deepEqual(
        gaps.slice(0, fast),
        Array(fast).fill(FAST_POLL_MS),
        'fast polls in the first window',
      );
      assert.deepEqual(
        gaps.slice(fast),
        [MAX_POLL_MS, MAX_POLL_MS, MAX_POLL_MS, MAX_POLL_MS / 2],
        'then slow polls, the last one cut at the deadline',
      );
      assert.equal(at[at.length - 1], timeoutMs, 'one last look at the deadline');
      assert.equal(clock.pending, 0, 'no timer left behind');
    });
  });

  it('waits with progress, then fails with the reason at the deadline (fake clock)', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const client = stub({
      deployment: () =>
        deploy({
          generation: 1,
          observedGeneration: 1,
          replicas: 1,
          updatedReplicas: 1,
          availableReplicas: 0,
        }),
      pods: () => [
        pod('p', {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 's',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ErrImagePull' } },
            },
          ],
        }),
      ],
    });
    const outcome = drive(
      clock,
      waitForSinkReady(client, 'ns', {
        replicas: 1,
        timeoutMs: 5000,
        clock,
        onProgress: (l) => lines.push(l),
      }),
    );
    await assert.rejects(
      outcome,
      (e: unknown) =>
        isEmailValidateError(e) &&
        e.code === 'EV_ERR_SINK_NOT_READY' &&
        /within 5s: p: ErrImagePull/.test(e.message),
    );
    assert.equal(lines.length, 1, 'progress printed when it changes, not every poll');
  });

  it('returns the ready pods once the rollout is done and enough are ready', async () => {
    let calls = 0;
    const clock = new FakeClock();
    const client = stub({
      deployment: () =>
        deploy({
          generation: 1,
          observedGeneration: 1,
          replicas: 1,
          updatedReplicas: 1,
          availableReplicas: calls >= 3 ? 1 : 0,
        }),
      pods: () =>
        ++calls < 3 ? [] : [pod('p', { conditions: [{ type: 'Ready', status: 'True' }] })],
    });
    const pods = await drive(
      clock,
      waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs: 5000, clock }),
    );
    assert.equal(pods[0].metadata?.name, 'p');
  });

  it('defect 7: a re-applied Deployment is not done on the old ready pod until the new generation is observed, updated and available', async () => {
    const clock = new FakeClock();
    // The old pod is Ready all along; the controller catches up in steps, as kubectl rollout status sees it.
    const steps = [
      {
        generation: 2,
        observedGeneration: 1,
        replicas: 1,
        updatedReplicas: 1,
        availableReplicas: 1,
      },
      {
        generation: 2,
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 1,
        availableReplicas: 1,
      },
      {
        generation: 2,
        observedGeneration: 2,
        replicas: 1,
        updatedReplicas: 1,
        availableReplicas: 1,
      },
    ];
    let step = 0;
    const seen: string[] = [];
    const client = stub({
      deployment: () => deploy(steps[Math.min(step, steps.length - 1)]),
      pods: () => {
        const name = step < 2 ? 'old' : 'new';
        step++;
        return [pod(name, { conditions: [{ type: 'Ready', status: 'True' }] })];
      },
    });
    const pods = await drive(
      clock,
      waitForSinkReady(client, 'ns', {
        replicas: 1,
        timeoutMs: 5000,
        clock,
        onProgress: (l) => seen.push(l),
      }),
    );
    assert.equal(pods[0].metadata?.name, 'new');
    assert.match(seen[0], /spec update to be observed/);
    assert.match(seen[1], /1 old replicas are pending termination/);
    assert.deepEqual(
      rolloutState(
        deploy(
          {
            generation: 3,
            observedGeneration: 3,
            replicas: 1,
            updatedReplicas: 0,
            availableReplicas: 1,
          },
          1,
        ),
      ).message,
      '0 out of 1 new replicas have been updated',
    );
    assert.equal(
      rolloutState(
        deploy({
          generation: 3,
          observedGeneration: 3,
          replicas: 1,
          updatedReplicas: 1,
          availableReplicas: 0,
        }),
      ).message,
      '0 of 1 updated replicas are available',
    );
  });

  it('defect 6: with no pod, the failure names ReplicaFailure/FailedCreate (Pod Security, quota, webhook), not MinimumReplicasUnavailable', async () => {
    const clock = new FakeClock();
    const forbidden =
      'pods "email-sink-7d9f-abcde" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "sink" must set securityContext.runAsNonRoot=true)';
    const conditions = [
      {
        type: 'Available',
        status: 'False',
        reason: 'MinimumReplicasUnavailable',
        message: 'Deployment does not have minimum availability.',
      },
      { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: forbidden },
      {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: 'ReplicaSet "email-sink-7d9f" is progressing.',
      },
    ];
    const lines: string[] = [];
    const client = stub({
      deployment: () =>
        deploy({
          generation: 1,
          observedGeneration: 1,
          replicas: 0,
          updatedReplicas: 0,
          availableReplicas: 0,
          conditions,
        }),
      pods: () => [],
    });
    await assert.rejects(
      drive(
        clock,
        waitForSinkReady(client, 'ns', {
          replicas: 1,
          timeoutMs: 3000,
          clock,
          onProgress: (l) => lines.push(l),
        }),
      ),
      (e: unknown) => {
        assert.ok(isEmailValidateError(e) && e.code === 'EV_ERR_SINK_NOT_READY');
        assert.match(
          e.message,
          /no sink pod was created: ReplicaFailure\/FailedCreate: pods "email-sink-7d9f-abcde" is forbidden: violates PodSecurity/,
        );
        assert.doesNotMatch(e.message, /MinimumReplicasUnavailable/);
        return true;
      },
    );
    assert.match(
      lines[0],
      /ReplicaFailure\/FailedCreate/,
      'the cause is in the progress line too, long before the deadline',
    );
    assert.equal(
      deploymentFailure(deploy({ conditions: [conditions[0]] })),
      'Available/MinimumReplicasUnavailable: Deployment does not have minimum availability.',
    );
  });

  it('defect 5: a 429 (honouring Retry-After), a 503 and a reset connection during the wait are retried; a 403 is not', async () => {
    const clock = new FakeClock();
    const faults: Error[] = [
      apiError(429, { 'retry-after': '3' }),
      apiError(503, {}),
      resetError(),
    ];
    let deploymentCalls = 0;
    const client = stub({
      deployment: () => {
        deploymentCalls++;
        const f = faults.shift();
        if (f) throw f;
        return deploy({
          generation: 1,
          observedGeneration: 1,
          replicas: 1,
          updatedReplicas: 1,
          availableReplicas: 1,
        });
      },
      pods: () => [pod('p', { conditions: [{ type: 'Ready', status: 'True' }] })],
    });
    const lines: string[] = [];
    const pods = await drive(
      clock,
      waitForSinkReady(client, 'ns', {
        replicas: 1,
        timeoutMs: 60_000,
        clock,
        onProgress: (l) => lines.push(l),
      }),
    );
    assert.equal(pods[0].metadata?.name, 'p');
    assert.equal(deploymentCalls, 4);
    assert.ok(clock.now() >= 3000, `waited the Retry-After of 3 s (clock at ${clock.now()})`);
    assert.match(lines[0], /429.*trying again in 3s \(Retry-After\)/);

    const denied = stub({
      deployment: () => {
        throw apiError(403, {});
      },
      pods: () => [],
    });
    await assert.rejects(
      drive(
        new FakeClock(),
        waitForSinkReady(denied, 'ns', { replicas: 1, timeoutMs: 60_000, clock: new FakeClock() }),
      ),
      (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_KUBE_FORBIDDEN',
    );
  });

  it('defect 5: transient errors stay bounded: a server failing every request ends the wait with its error', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const client = stub({
      deployment: () => {
        calls++;
        throw apiError(500, {});
      },
      pods: () => [],
    });
    await assert.rejects(
      drive(clock, waitForSinkReady(client, 'ns', { replicas: 1, timeoutMs: 600_000, clock })),
      (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_KUBE_API',
    );
    assert.equal(calls, TRANSIENT_ATTEMPTS);
    assert.equal(isTransient(apiError(409, {})), false);
    assert.equal(
      retryAfterMs(apiError(429, { 'Retry-After': '600' })),
      TRANSIENT_MAX_MS,
      'a huge Retry-After is capped',
    );
  });
});

type DeployStatus = {
  generation?: number;
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  conditions?: Array<Record<string, string>>;
};

function deploy(s: DeployStatus, specReplicas = 1): V1Deployment {
  return {
    metadata: { name: 'email-sink', generation: s.generation ?? 1 },
    spec: { replicas: specReplicas, selector: {}, template: {} },
    status: {
      observedGeneration: s.observedGeneration,
      replicas: s.replicas,
      updatedReplicas: s.updatedReplicas,
      availableReplicas: s.availableReplicas,
      conditions: s.conditions as never,
    },
  };
}

/** A client whose calls go through the same error mapping as the real adapter. */
function stub(o: { deployment: () => V1Deployment | undefined; pods: () => V1Pod[] }): KubeClient {
  const target = { server: 'https://fake', context: 'fake' };
  const wrap = async <T>(fn: () => T): Promise<T> => {
    try {
      return fn();
    } catch (err) {
      throw toKubeError(err, target, 'test');
    }
  };
  return {
    getDeployment: async () => wrap(o.deployment),
    listPods: async () => wrap(o.pods),
  } as unknown as KubeClient;
}

function apiError(code: number, headers: Record<string, string>): ApiException<string> {
  return new ApiException(
    code,
    'Unsuccessful HTTP Request',
    JSON.stringify({ kind: 'Status', code, message: `status ${code}` }),
    headers,
  );
}

function resetError(): Error {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
  });
}

/** Advances the fake clock until `p` settles (real turns in between let the awaited stubs run). */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 100_000 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    if (!settled) await clock.advance(50);
  }
  return p;
}
