/**
 * The fake kubelet. A scheduled pod gets its own loopback address
 * (127.a.b.c) as status.podIP. Containers whose image is a Node.js image
 * (`node:*`, any registry; or any image when `runAnyImage`) are RUN as child
 * processes with the pinned Node (process.execPath): volumes materialised
 * under a per-pod temp dir, absolute container paths under a mountPath
 * rewritten to those dirs, env resolved, `EV_HOST` forced to the pod IP when
 * the container declares it (pods share the host network here); `redis:*`
 * images run the local redis-server bound to the pod IP. Readiness
 * follows an httpGet/tcpSocket readinessProbe against podIP; a crash restarts
 * the container with a bounded backoff (CrashLoopBackOff). Other images stay
 * Pending with ErrImagePull/ImagePullBackOff, unless `simulateOtherImages`.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeApi, PodTerminator } from './api.ts';
import { canRunRedis, isNodeImage, isRedisImage } from './container-command.ts';
import { recordEvent } from './events.ts';
import type { FaultControls } from './faults.ts';
import { InternalErrors } from './internal-errors.ts';
import type { LogBuffer } from './logs.ts';
import { PodWorker } from './pod-worker.ts';
import type { KubeletHost, PodWorkerOptions } from './pod-worker.ts';
import { resolveResource } from './resources.ts';
import type { KubeObject, Store } from './store.ts';
import { PodMaterializer } from './volumes.ts';

export { isNodeImage } from './container-command.ts';
export { PROBE_TIMEOUT_MS } from './probes.ts';
export { SOURCE_RETRY_MS } from './pod-worker.ts';

type Obj = Record<string, any>;

/** Timing knobs of the kubelet (see FakeKubeOptions for defaults). */
export type KubeletOptions = PodWorkerOptions;

export class Kubelet implements PodTerminator, KubeletHost {
  readonly opts: KubeletOptions;
  readonly store: Store;
  readonly faults: FaultControls;
  readonly materializer: PodMaterializer;
  readonly shimDir: string;
  closed = false;
  private readonly api: KubeApi;
  private readonly workers = new Map<string, PodWorker>();
  private readonly stopping = new Set<Promise<void>>();
  private unsubscribe: (() => void) | undefined;
  private ipCounter = 0;
  /** Pods stopped or stopping but not yet removed: the API still shows them (Terminating) and port-forwards still reach their address. */
  private readonly terminatingIps = new Map<string, string>();
  /** Pods kept Terminating by `faults.holdTerminatingPods` until released. */
  private readonly held = new Map<string, { namespace: string | undefined; name: string }>();
  private readonly ipOctet: number;

  readonly errors: InternalErrors;

  constructor(
    api: KubeApi,
    store: Store,
    faults: FaultControls,
    opts: KubeletOptions,
    errors: InternalErrors = new InternalErrors(),
  ) {
    this.errors = errors;
    this.api = api;
    this.store = store;
    this.faults = faults;
    this.opts = opts;
    this.materializer = new PodMaterializer(store);
    this.shimDir = join(opts.rootDir, 'bin');
    mkdirSync(this.shimDir, { recursive: true });
    // `sh -c "node …"` in a container must find the pinned Node, not the system one.
    symlinkSync(process.execPath, join(this.shimDir, 'node'));
    this.ipOctet = 16 + Math.floor(Math.random() * 230);
    process.on('exit', this.killOnExit);
  }

  /** If the test process exits without close(), pod processes must not outlive it. */
  private readonly killOnExit = (): void => {
    for (const w of this.workers.values()) w.killNow();
  };

  runs(image: string): boolean {
    return this.faults.runAnyImage || isNodeImage(image) || (isRedisImage(image) && canRunRedis());
  }

  private nextIp(): string {
    // IPv6 mode: `::1` is the only IPv6 loopback address; pods differ by their remapped ports instead.
    if (this.opts.ipFamily === 'IPv6') return '::1';
    this.ipCounter++;
    const n = this.ipCounter;
    return `127.${this.ipOctet}.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
  }

  start(): void {
    const podRt = resolveResource('pods');
    this.unsubscribe = this.store.subscribe((ev) => {
      if (ev.rt !== podRt) return;
      const pod = ev.object as Obj;
      const uid = pod.metadata.uid as string;
      const worker = this.workers.get(uid);
      if (ev.type === 'DELETED') {
        // stop() records its own failures and is tracked in `stopping`.
        if (worker) void this.stop(worker, 0);
        return;
      }
      if (worker) {
        worker.observe(pod);
        return;
      }
      if (!pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      const w = new PodWorker(this, pod, this.nextIp());
      this.workers.set(uid, w);
      w.start();
    });
  }

  private stop(worker: PodWorker, graceSeconds: number): Promise<void> {
    this.workers.delete(worker.uid);
    this.terminatingIps.set(worker.uid, worker.ip);
    const p = worker
      .terminate(graceSeconds)
      .catch((err: unknown) => this.errors.record('kubelet stop', err))
      .finally(() => this.stopping.delete(p));
    this.stopping.add(p);
    return p;
  }

  /** PodTerminator: graceful stop, then the pod object is removed. */
  terminate(pod: KubeObject, graceSeconds: number): boolean {
    const worker = this.workers.get(pod.metadata.uid ?? '');
    if (!worker) return false;
    void this.stop(worker, graceSeconds)
      .then(() => {
        if (this.closed) return;
        const hold = this.faults.terminatingHold;
        if (hold && (hold.namespace === undefined || hold.namespace === pod.metadata.namespace)) {
          // The process is gone but the pod stays Terminating: port-forwards are still accepted and fail on the error channel.
          this.held.set(pod.metadata.uid ?? '', {
            namespace: pod.metadata.namespace,
            name: pod.metadata.name ?? '',
          });
          return;
        }
        this.removeStopped(pod.metadata.uid ?? '', pod.metadata.namespace, pod.metadata.name ?? '');
      })
      .catch((err: unknown) => this.errors.record('kubelet terminate', err));
    return true;
  }

  private removeStopped(uid: string, namespace: string | undefined, name: string): void {
    this.terminatingIps.delete(uid);
    const live = this.store.get(resolveResource('pods'), namespace, name);
    if (live && live.metadata.uid === uid)
      this.api.removeNow(resolveResource('pods'), namespace, name);
  }

  /** Removes the pods held Terminating by `faults.holdTerminatingPods`. */
  releaseHeld(): void {
    const held = [...this.held];
    this.held.clear();
    if (this.closed) return;
    for (const [uid, p] of held) this.removeStopped(uid, p.namespace, p.name);
  }

  /**
   * Emulates cluster DNS for env values: `<svc>.<ns>.svc.cluster.local` becomes
   * the podIP of a Ready pod selected by that Service (left as is when there is
   * none). Resolved when the container starts, so a restart picks up a new IP.
   */
  serviceHostsToIps(value: string): string {
    if (!value.includes('.svc.cluster.local')) return value;
    return value.replace(
      /\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc\.cluster\.local\b(?::(\d{1,5})\b)?/g,
      (whole, svc: string, ns: string, port: string | undefined) => {
        const service = this.store.get(resolveResource('services'), ns, svc) as Obj | undefined;
        const selector = service?.spec?.selector as Record<string, string> | undefined;
        if (!selector || Object.keys(selector).length === 0) return whole;
        const pod = (this.store.list(resolveResource('pods'), ns) as Obj[]).find(
          (p) =>
            !p.metadata.deletionTimestamp &&
            p.status?.podIP &&
            Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v) &&
            (p.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'),
        );
        if (!pod) return whole;
        const ip = String(pod.status.podIP);
        if (port === undefined) return ip;
        // host:port: the Service port becomes the pod's targetPort (kube-proxy's job), then where that port is reachable.
        const servicePort = ((service?.spec?.ports ?? []) as Obj[]).find(
          (p) => Number(p.port) === Number(port),
        );
        let target = Number(port);
        if (servicePort) {
          const tp = servicePort.targetPort ?? servicePort.port;
          if (typeof tp === 'number' || /^\d+$/.test(String(tp))) target = Number(tp);
          else {
            const named = ((pod.spec?.containers ?? []) as Obj[])
              .flatMap((c) => (c.ports ?? []) as Obj[])
              .find((p) => p.name === tp);
            if (named) target = Number(named.containerPort);
          }
        }
        const reachable = this.hostPort(String(pod.metadata.uid), target) ?? target;
        return `${ip.includes(':') ? `[${ip}]` : ip}:${reachable}`;
      },
    );
  }

  /** The pod's address while it runs or terminates (a real pod keeps its sandbox until it is removed). */
  podIp(uid: string): string | undefined {
    return this.workers.get(uid)?.ip ?? this.terminatingIps.get(uid);
  }

  /** Where a running pod's container port is reachable (see PodWorker.hostPort); undefined: refused. */
  hostPort(uid: string, containerPort: number): number | undefined {
    const worker = this.workers.get(uid);
    if (worker) return worker.hostPort(containerPort);
    // Terminating: the process is stopping or gone; in IPv4 mode the address still answers (or refuses) by itself.
    return this.terminatingIps.has(uid) && this.opts.ipFamily !== 'IPv6'
      ? containerPort
      : undefined;
  }

  logs(uid: string, container: string | undefined, previous: boolean): LogBuffer | undefined {
    return this.workers.get(uid)?.logOf(container, previous);
  }

  containerNames(uid: string): string[] | undefined {
    return this.workers.get(uid)?.containerNames();
  }

  /** Record a core/v1 Event about a pod (see events.ts). */
  event(pod: Obj, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.closed) return;
    recordEvent(
      this.api,
      this.store,
      { ...pod, kind: 'Pod', apiVersion: 'v1' },
      type,
      reason,
      message,
      'kubelet',
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    process.off('exit', this.killOnExit);
    this.unsubscribe?.();
    for (const w of [...this.workers.values()]) void this.stop(w, 0);
    await Promise.all([...this.stopping]);
  }
}
