/**
 * Waiting for sink pods to become Ready, with progress and, on timeout, the
 * pod's own reason (ImagePullBackOff, CrashLoopBackOff, Unschedulable…).
 * Polls the Deployment and the pod list: a few cheap GETs per second is
 * simpler and more robust than a watch for a wait measured in seconds.
 */
import { SINK_NAME, SINK_POD_SELECTOR, formatDuration } from '../../../src/cluster-meta.ts';
import { evError } from '../../../src/errors.ts';
import { sleep, type Clock } from '../../../src/clock.ts';
import { systemClock as realClock } from '../../../src/system-clock.ts';
import type { KubeClient, V1Pod } from './adapter.ts';
import { retryTransient, transientLabel } from './transient.ts';

/** Poll interval while a quick start is still likely: a warm node starts the sink in well under a second. */
export const FAST_POLL_MS = 100;
/** After this long it is an image pull or a cold node: poll at {@link MAX_POLL_MS}. */
export const FAST_POLL_WINDOW_MS = 10_000;
/** Poll interval cap: a real pull-and-start takes seconds; no need to ask more often. */
export const MAX_POLL_MS = 1_000;

export interface PodState {
  name: string;
  ready: boolean;
  /** A one-word state: Pending, ContainerCreating, Running, ImagePullBackOff… */
  reason: string;
  message: string;
}

/** Ready = condition Ready True and not being deleted. */
export function isPodReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** The most telling reason why a pod is (not) ready. */
export function podState(pod: V1Pod): PodState {
  const name = pod.metadata?.name ?? '?';
  if (isPodReady(pod)) return { name, ready: true, reason: 'Ready', message: '' };
  if (pod.metadata?.deletionTimestamp)
    return { name, ready: false, reason: 'Terminating', message: '' };
  for (const cs of pod.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason)
      return { name, ready: false, reason: waiting.reason, message: waiting.message ?? '' };
    if (cs.state?.running) continue;
    const term = cs.state?.terminated ?? cs.lastState?.terminated;
    // Without a reason, name it as `kubectl get pods` does: Signal:N, else ExitCode:N.
    if (term)
      return {
        name,
        ready: false,
        reason:
          term.reason ?? (term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`),
        message: term.message ?? `exit code ${term.exitCode}`,
      };
  }
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return {
      name,
      ready: false,
      reason: scheduled.reason ?? 'Unschedulable',
      message: scheduled.message ?? '',
    };
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Running')
    return { name, ready: false, reason: 'Running (not ready yet)', message: '' };
  return { name, ready: false, reason: phase, message: pod.status?.message ?? '' };
}

/** The hint for a not-ready reason. */
export function reasonHint(reason: string, namespace: string): string {
  if (/ImagePull|ErrImage|InvalidImageName/.test(reason)) {
    return 'the cluster cannot pull the image: use --node-image (or --image) to point at a registry it can reach, e.g. a mirror.';
  }
  // Before the crash test: CreateContainerConfigError contains "Error" but nothing ran.
  if (/CreateContainerConfigError/.test(reason))
    return `the pod's configuration is invalid: see \`kubectl describe pod -n ${namespace}\`.`;
  if (/CrashLoop|Error|OOMKilled|^ExitCode:|^Signal:/.test(reason))
    return `the sink keeps crashing: see \`kubectl logs -n ${namespace} deploy/email-sink\`.`;
  if (/Unschedulable/.test(reason))
    return 'no node can run the pod (resources, taints or quotas): see `kubectl describe pod` in that namespace.';
  return `raise --wait, or look at \`kubectl get pods -n ${namespace}\`.`;
}

export interface WaitOptions {
  /** Ready pods needed. */
  replicas: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  /** Time and timers (tests pass a FakeClock); default: the system clock. */
  clock?: Clock;
}

type DeploymentLike = NonNullable<Awaited<ReturnType<KubeClient['getDeployment']>>>;

export interface RolloutState {
  done: boolean;
  /** kubectl's wording of what it waits for ("1 old replicas are pending termination"). */
  message: string;
  /** Set when the rollout cannot finish by waiting (progress deadline exceeded). */
  failed?: string;
}

/**
 * The rollout of a Deployment, judged exactly as `kubectl rollout status`
 * does (kubectl/pkg/polymorphichelpers/rollout_status.go,
 * DeploymentStatusViewer): the controller must have observed the current
 * generation, every replica must run the new template (updatedReplicas ==
 * replicas, no old ones left) and be available. Without the generation check
 * a re-apply returns at once on the old pod.
 */
export function rolloutState(d: DeploymentLike | undefined): RolloutState {
  if (!d) return { done: false, message: 'waiting for the Deployment to be created' };
  const generation = d.metadata?.generation ?? 0;
  const status = d.status ?? {};
  if (generation > (status.observedGeneration ?? 0))
    return { done: false, message: 'waiting for the Deployment spec update to be observed' };
  const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      done: false,
      message: progressing.message ?? 'progress deadline exceeded',
      failed: `the rollout exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ''}`,
    };
  }
  const want = d.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < want)
    return { done: false, message: `${updated} out of ${want} new replicas have been updated` };
  if (total > updated)
    return { done: false, message: `${total - updated} old replicas are pending termination` };
  if (available < updated)
    return { done: false, message: `${available} of ${updated} updated replicas are available` };
  return { done: true, message: 'successfully rolled out' };
}

/**
 * Why a Deployment has no pod: `ReplicaFailure` (FailedCreate: Pod Security,
 * quota, an admission webhook) says it; `Available/MinimumReplicasUnavailable`
 * is only the symptom, so it comes last.
 */
export function deploymentFailure(d: DeploymentLike | undefined): string | undefined {
  const conditions = d?.status?.conditions ?? [];
  const replicaFailure = conditions.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const pick =
    replicaFailure ??
    conditions.find(
      (c) =>
        c.type === 'Progressing' &&
        (c.status === 'False' || c.reason === 'ProgressDeadlineExceeded'),
    ) ??
    conditions.find((c) => c.status === 'False');
  if (!pick) return undefined;
  return `${pick.type}/${pick.reason ?? pick.status}${pick.message ? `: ${pick.message}` : ''}`;
}

/**
 * Resolves with the ready pods once the sink's Deployment has rolled out (as
 * `kubectl rollout status` judges it) and `replicas` pods are ready;
 * EV_ERR_SINK_NOT_READY with the reason on timeout. Transient API errors
 * (429, 5xx, a reset connection) are retried, not fatal: a busy API server
 * must not fail an `up` that would have succeeded a second later.
 */
export async function waitForSinkReady(
  client: KubeClient,
  namespace: string,
  options: WaitOptions,
): Promise<V1Pod[]> {
  const clock = options.clock ?? realClock;
  const start = clock.now();
  const elapsed = () => clock.now() - start;
  let lastLine = '';
  let states: PodState[] = [];
  let deployment: DeploymentLike | undefined;
  const read = <T>(fn: () => Promise<T>): Promise<T> =>
    retryTransient(fn, {
      clock,
      signal: options.signal,
      onRetry: (err, waitMs) =>
        options.onProgress?.(
          `the API server answered ${transientLabel(err)}; trying again${waitMs !== undefined ? ` in ${formatDuration(waitMs) || `${waitMs}ms`} (Retry-After)` : ''}…`,
        ),
    });
  const interrupted = () => evError('EV_ERR_INTERRUPTED', 'interrupted while waiting for the sink');
  for (;;) {
    if (options.signal?.aborted) throw interrupted();
    try {
      deployment = await read(() => client.getDeployment(namespace, SINK_NAME));
      const pods = (await read(() => client.listPods(namespace, SINK_POD_SELECTOR))).filter(
        (p) => !p.metadata?.deletionTimestamp,
      );
      const rollout = rolloutState(deployment);
      if (rollout.failed)
        throw notReady(
          namespace,
          options.timeoutMs,
          rollout.failed,
          states,
          `check the Deployment: \`kubectl describe deploy/${SINK_NAME} -n ${namespace}\`.`,
          elapsed(),
        );
      const ready = pods.filter(isPodReady);
      states = pods.map(podState);
      if (rollout.done && ready.length >= options.replicas) return ready;
      const why = deploymentFailure(deployment);
      const line =
        `waiting for the sink: ${ready.length}/${options.replicas} ready; ${rollout.message}` +
        `${states
          .filter((st) => !st.ready)
          .map((st) => `; ${st.name}: ${st.reason}`)
          .join('')}` +
        `${pods.length === 0 && why?.startsWith('ReplicaFailure') ? `; ${why}` : ''}`;
      if (line !== lastLine) {
        options.onProgress?.(`${line} (${formatDuration(elapsed()) || '0s'})`);
        lastLine = line;
      }
    } catch (err) {
      if (options.signal?.aborted) throw interrupted();
      throw err;
    }
    const left = options.timeoutMs - elapsed();
    if (left <= 0) break;
    try {
      await sleep(
        clock,
        Math.min(elapsed() < FAST_POLL_WINDOW_MS ? FAST_POLL_MS : MAX_POLL_MS, left),
        options.signal,
      );
    } catch {
      throw interrupted();
    }
  }
  const bad = states.find((st) => !st.ready);
  if (bad) {
    throw notReady(
      namespace,
      options.timeoutMs,
      `${bad.name}: ${bad.reason}${bad.message ? ` (${bad.message})` : ''}`,
      states,
      reasonHint(bad.reason, namespace),
    );
  }
  // No pod at all, or all ready but the rollout is not finished: the Deployment's conditions say why.
  const why = deploymentFailure(deployment);
  const rollout = rolloutState(deployment);
  const reason =
    states.length === 0
      ? `no sink pod was created${why ? `: ${why}` : ''}`
      : `${rollout.message}${why ? `: ${why}` : ''}`;
  throw notReady(
    namespace,
    options.timeoutMs,
    reason,
    states,
    `check the Deployment: \`kubectl describe deploy/${SINK_NAME} -n ${namespace}\`.`,
  );
}

function notReady(
  namespace: string,
  timeoutMs: number,
  reason: string,
  pods: PodState[],
  hint: string,
  after?: number,
): Error {
  const when =
    after === undefined
      ? `within ${formatDuration(timeoutMs)}`
      : `(after ${formatDuration(after) || '0s'})`;
  return evError(
    'EV_ERR_SINK_NOT_READY',
    `the sink in namespace ${namespace} did not become ready ${when}: ${reason}`,
    { hint, details: { namespace, pods } },
  );
}
