/**
 * Waiting for sink pods to become Ready, with progress and, on timeout, the
 * pod's own reason (ImagePullBackOff, CrashLoopBackOff, Unschedulable…).
 * Polls the pod list: a few cheap GETs per second is simpler and more robust
 * than a watch for a wait measured in seconds.
 */
import { SINK_NAME, SINK_POD_SELECTOR, formatDuration } from '../../../src/cluster-meta.ts';
import { evError } from '../../../src/errors.ts';
import type { KubeClient, V1Pod } from './adapter.ts';

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
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The most telling reason why a pod is (not) ready. */
export function podState(pod: V1Pod): PodState {
  const name = pod.metadata?.name ?? '?';
  if (isPodReady(pod)) return { name, ready: true, reason: 'Ready', message: '' };
  if (pod.metadata?.deletionTimestamp) return { name, ready: false, reason: 'Terminating', message: '' };
  for (const cs of pod.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason) return { name, ready: false, reason: waiting.reason, message: waiting.message ?? '' };
    const term = cs.state?.terminated ?? cs.lastState?.terminated;
    if (term?.reason && !cs.state?.running) return { name, ready: false, reason: term.reason, message: term.message ?? `exit code ${term.exitCode}` };
  }
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { name, ready: false, reason: scheduled.reason ?? 'Unschedulable', message: scheduled.message ?? '' };
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Running') return { name, ready: false, reason: 'Running (not ready yet)', message: '' };
  return { name, ready: false, reason: phase, message: pod.status?.message ?? '' };
}

/** The hint for a not-ready reason. */
export function reasonHint(reason: string, namespace: string): string {
  if (/ImagePull|ErrImage|InvalidImageName/.test(reason)) {
    return 'the cluster cannot pull the image: use --node-image (or --image) to point at a registry it can reach, e.g. a mirror.';
  }
  if (/CrashLoop|Error|OOMKilled/.test(reason)) return `the sink keeps crashing: see \`kubectl logs -n ${namespace} deploy/email-sink\`.`;
  if (/Unschedulable/.test(reason)) return 'no node can run the pod (resources, taints or quotas): see `kubectl describe pod` in that namespace.';
  if (/CreateContainerConfigError/.test(reason)) return `the pod's configuration is invalid: see \`kubectl describe pod -n ${namespace}\`.`;
  return `raise --wait, or look at \`kubectl get pods -n ${namespace}\`.`;
}

export interface WaitOptions {
  /** Ready pods needed. */
  replicas: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resolves with the ready pods once `replicas` are ready; EV_ERR_SINK_NOT_READY with the reason on timeout. */
export async function waitForSinkReady(client: KubeClient, namespace: string, options: WaitOptions): Promise<V1Pod[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const start = now();
  let lastLine = '';
  let states: PodState[] = [];
  for (;;) {
    if (options.signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted while waiting for the sink');
    const pods = (await client.listPods(namespace, SINK_POD_SELECTOR)).filter((p) => !p.metadata?.deletionTimestamp);
    const ready = pods.filter(isPodReady);
    states = pods.map(podState);
    if (ready.length >= options.replicas) return ready;
    const line = `waiting for the sink: ${ready.length}/${options.replicas} ready${states.filter((s) => !s.ready).map((s) => `; ${s.name}: ${s.reason}`).join('')}`;
    if (line !== lastLine) { options.onProgress?.(`${line} (${formatDuration(now() - start) || '0s'})`); lastLine = line; }
    const left = options.timeoutMs - (now() - start);
    if (left <= 0) break;
    await sleep(Math.min(now() - start < FAST_POLL_WINDOW_MS ? FAST_POLL_MS : MAX_POLL_MS, left), options.signal);
  }
  const bad = states.find((s) => !s.ready);
  let reason = bad ? `${bad.name}: ${bad.reason}${bad.message ? ` (${bad.message})` : ''}` : 'no sink pod was created';
  if (!bad) {
    // No pod at all: the Deployment's conditions say why (quota, admission, PodSecurity…).
    const deployment = await client.getDeployment(namespace, SINK_NAME).catch(() => undefined);
    const failed = (deployment?.status?.conditions ?? []).find((c) => c.status === 'False' || c.type === 'ReplicaFailure');
    if (failed?.message) reason += `: ${failed.reason ?? failed.type}: ${failed.message}`;
  }
  throw evError('EV_ERR_SINK_NOT_READY', `the sink in namespace ${namespace} did not become ready within ${formatDuration(options.timeoutMs)}: ${reason}`, {
    hint: bad ? reasonHint(bad.reason, namespace) : `check the Deployment: \`kubectl describe deploy/email-sink -n ${namespace}\`.`,
    details: { namespace, pods: states },
  });
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}
