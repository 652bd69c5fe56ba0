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
export type NeverReadyReason =
  | 'ImagePullBackOff'
  | 'ErrImagePull'
  | 'CrashLoopBackOff'
  | 'Unschedulable'
  | 'CreateContainerConfigError'
  | (string & {});

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

/**
 * A transient failure of the kind a real API server or the network in front of
 * it produces, injected on the next `count` requests that match.
 * - `status`: a Status answer (429 TooManyRequests with Retry-After, as API
 *   Priority and Fairness sends it; 500 InternalError; 503 ServiceUnavailable).
 * - `reset`: the TCP connection is destroyed without an answer (ECONNRESET).
 * - `watch-close`: a watch is answered 200 and then ends cleanly after
 *   `afterEvents` events, as when the server's watch timeout fires early.
 */
export type TransientFault =
  | { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; retryAfterSeconds?: number }
  | { kind: 'reset' }
  | { kind: 'watch-close'; afterEvents?: number };

/** Which requests a transient fault hits; every given field must match. */
export interface RequestMatch {
  method?: string;
  /** Substring of the URL path, e.g. `/deployments/email-sink` or `/pods`. */
  path?: string;
  /** true: only watches; false: only non-watch requests. */
  watch?: boolean;
}

interface PendingFault {
  fault: TransientFault;
  match: RequestMatch;
  left: number;
}

export interface FaultHooks {
  dropPortForwards(): number;
  expireWatches(): number;
  releaseTerminatingPods?(): void;
}

/** The controls a test holds: `fake.faults`. */
export class FaultControls {
  private denies: DenyRule[] = [];
  private podFaults: PodFault[] = [];
  private hooks: FaultHooks | undefined;
  private transients: PendingFault[] = [];
  /** Transient faults served so far (for assertions). */
  transientsServed = 0;
  /** Pods that stay Terminating (not removed) after delete and keep accepting port-forwards; see {@link holdTerminatingPods}. */
  terminatingHold: { namespace?: string } | undefined;
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
  /** Requests sleeping in {@link responseDelayMs} right now (a client that gave up leaves it above 0 until the delay ends). */
  delayedInFlight = 0;
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
    return this.denies.some(
      (d) =>
        (d.verb === '*' || d.verb === verb) &&
        (d.resource === '*' || d.resource === resource) &&
        (d.group === undefined || d.group === group) &&
        (d.namespace === undefined || d.namespace === namespace),
    );
  }

  /** Pods matching never become ready, held with `reason`. */
  podNeverReady(fault: PodFault | NeverReadyReason): void {
    this.podFaults.push(typeof fault === 'string' ? { reason: fault } : fault);
  }

  podFaultFor(pod: KubeObject): PodFault | undefined {
    return this.podFaults.find(
      (f) =>
        (f.namespace === undefined || f.namespace === pod.metadata.namespace) &&
        (f.namePrefix === undefined || (pod.metadata.name ?? '').startsWith(f.namePrefix)) &&
        (f.labelSelector === undefined ||
          matchesRequirements(parseLabelSelector(f.labelSelector), pod.metadata.labels)),
    );
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

  /**
   * Fail the next `count` requests matching `match` (all API requests, watches
   * included, when omitted; discovery too, since a real proxy does not care).
   * Faults queue in order: the first pending one that matches is used.
   */
  injectTransient(fault: TransientFault, count = 1, match: RequestMatch = {}): void {
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`fake-kube: transient fault count must be a positive integer, got ${count}`);
    this.transients.push({ fault, match, left: count });
  }

  /** @internal the router asks once per request; consumes one occurrence. */
  takeTransient(method: string, path: string, watch: boolean): TransientFault | undefined {
    const i = this.transients.findIndex(
      (t) =>
        (t.match.method === undefined || t.match.method.toUpperCase() === method.toUpperCase()) &&
        (t.match.path === undefined || path.includes(t.match.path)) &&
        (t.match.watch === undefined || t.match.watch === watch) &&
        (t.fault.kind !== 'watch-close' || watch),
    );
    if (i < 0) return undefined;
    const t = this.transients[i];
    if (--t.left <= 0) this.transients.splice(i, 1);
    this.transientsServed++;
    return t.fault;
  }

  /** Transient faults not served yet. */
  get pendingTransients(): number {
    return this.transients.reduce((n, t) => n + t.left, 0);
  }

  /**
   * Deleted pods (in `namespace`, or any) stay Terminating: their process is
   * stopped but the pod object remains, still `Running`, and a port-forward
   * upgrade to it is accepted (as the API server and kubelet do until the pod
   * is removed) and the connection to the stopped container then fails on the
   * error channel ("… connection refused"), as on a real node.
   * Off with `holdTerminatingPods(undefined)`; held pods are then removed.
   */
  holdTerminatingPods(hold: { namespace?: string } | undefined): void {
    this.terminatingHold = hold ? { namespace: hold.namespace } : undefined;
    if (!hold) this.hooks?.releaseTerminatingPods?.();
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
    this.transients = [];
    this.holdTerminatingPods(undefined);
    this.responseDelayMs = 0;
    this.delays = { scheduleMs: 0, startMs: 0, readyMs: 0, namespaceDeleteMs: 0 };
  }
}
