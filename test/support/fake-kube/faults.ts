/**
 * Fault injection: what tests switch on to make the fake misbehave the way
 * real clusters do (RBAC denials, pods that never become ready, dropped
 * port-forwards, expired watches, rejected credentials) plus the simulated
 * lifecycle delays.
 */
import { matchesRequirements, parseLabelSelector } from './selectors.ts';
import type { KubeObject } from './store.ts';

export interface DenyRule {
  verb: string;
  /** Plural resource name, e.g. `namespaces`; `*` for all. */
  resource: string;
  group?: string;
  /** Namespace the rule applies to; undefined for all (and cluster scope). */
  namespace?: string;
}

/** Reasons a pod can be held not-ready with. Any other string: Running but not Ready. */
export type NeverReadyReason = 'ImagePullBackOff' | 'ErrImagePull' | 'CrashLoopBackOff' | 'Unschedulable' | 'CreateContainerConfigError' | (string & {});

export interface PodFault {
  reason: NeverReadyReason;
  message?: string;
  namespace?: string;
  /** Label selector string (`app=sink`) the pod must match. */
  labelSelector?: string;
  /** Prefix of the pod name. */
  namePrefix?: string;
}

export interface Delays {
  /** Pending (unscheduled) -> scheduled. */
  scheduleMs: number;
  /** Scheduled -> container started (image "pull"). */
  startMs: number;
  /** Extra time before Ready is reported once the probe passed. */
  readyMs: number;
  /** Namespace termination: time before children are deleted. */
  namespaceDeleteMs: number;
}

export interface FaultHooks {
  dropPortForwards(): number;
  expireWatches(): number;
}

/** The controls a test holds: `fake.faults`. */
export class FaultControls {
  private denies: DenyRule[] = [];
  private podFaults: PodFault[] = [];
  private hooks: FaultHooks | undefined;
  /** When set, every request is answered 401 whatever its token. */
  rejectAllTokens = false;
  /** Watches (with a resourceVersion) to answer with an immediate 410 ERROR event. */
  watchExpiries = 0;
  /** Close each port-forward after this many bytes (both directions); undefined = never. */
  portForwardByteLimit: number | undefined;
  /** Fail port-forward upgrades with this HTTP status (e.g. 500) while set. */
  portForwardRejectStatus: number | undefined;
  /** The next `failRequests.count` API requests (not discovery) are answered with this status. */
  failRequests: { count: number; status: number } = { count: 0, status: 503 };
  /** Delay before every API response (simulates a slow or distant server; 0 = none). */
  responseDelayMs = 0;
  /** Images the kubelet treats as Node.js images in addition to `node:*`. */
  runAnyImage = false;
  /** Images that are not run but reported Running and Ready ("simulated"). */
  simulateOtherImages = false;
  delays: Delays = { scheduleMs: 0, startMs: 0, readyMs: 0, namespaceDeleteMs: 0 };

  /** @internal wired by the server */
  attach(hooks: FaultHooks): void {
    this.hooks = hooks;
  }

  /** 403 on `create namespaces` (and SelfSubjectAccessReview says no). */
  denyNamespaceCreate(on = true): void {
    this.denies = this.denies.filter((d) => !(d.verb === 'create' && d.resource === 'namespaces'));
    if (on) this.denies.push({ verb: 'create', resource: 'namespaces' });
  }

  deny(rule: DenyRule): void {
    this.denies.push(rule);
  }

  isDenied(verb: string, group: string, resource: string, namespace: string | undefined): boolean {
    return this.denies.some((d) => (d.verb === '*' || d.verb === verb)
      && (d.resource === '*' || d.resource === resource)
      && (d.group === undefined || d.group === group)
      && (d.namespace === undefined || d.namespace === namespace));
  }

  /** Pods matching never become ready, held with `reason`. */
  podNeverReady(fault: PodFault | NeverReadyReason): void {
    this.podFaults.push(typeof fault === 'string' ? { reason: fault } : fault);
  }

  podFaultFor(pod: KubeObject): PodFault | undefined {
    return this.podFaults.find((f) => (f.namespace === undefined || f.namespace === pod.metadata.namespace)
      && (f.namePrefix === undefined || (pod.metadata.name ?? '').startsWith(f.namePrefix))
      && (f.labelSelector === undefined || matchesRequirements(parseLabelSelector(f.labelSelector), pod.metadata.labels)));
  }

  /** Close every open port-forward now (abruptly, as a lost connection). Returns how many. */
  dropPortForwards(): number {
    return this.hooks?.dropPortForwards() ?? 0;
  }

  /** Drop each port-forward once it carried `bytes` bytes; undefined turns it off. */
  dropPortForwardsAfterBytes(bytes: number | undefined): void {
    this.portForwardByteLimit = bytes;
  }

  /**
   * End every open watch with an ERROR 410 event and compact history, so a
   * client resuming from its last resourceVersion must relist.
   */
  expireWatches(): number {
    return this.hooks?.expireWatches() ?? 0;
  }

  /** The next `n` watch requests that name a resourceVersion get ERROR 410. */
  expireNextWatches(n = 1): void {
    this.watchExpiries += n;
  }

  /** Answer the next `count` resource requests with `status` (503 by default): a flaky API server. */
  failNextRequests(count: number, status = 503): void {
    this.failRequests = { count, status };
  }

  setDelays(delays: Partial<Delays>): void {
    this.delays = { ...this.delays, ...delays };
  }

  reset(): void {
    this.denies = [];
    this.podFaults = [];
    this.rejectAllTokens = false;
    this.watchExpiries = 0;
    this.portForwardByteLimit = undefined;
    this.portForwardRejectStatus = undefined;
    this.failRequests = { count: 0, status: 503 };
    this.responseDelayMs = 0;
    this.delays = { scheduleMs: 0, startMs: 0, readyMs: 0, namespaceDeleteMs: 0 };
  }
}
