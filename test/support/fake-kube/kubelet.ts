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
  private readonly ipOctet: number;

  readonly errors: InternalErrors;

  constructor(api: KubeApi, store: Store, faults: FaultControls, opts: KubeletOptions, errors: InternalErrors = new InternalErrors()) {
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
        if (worker) this.stop(worker, 0);
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
    const p = worker.terminate(graceSeconds).catch((err: unknown) => this.errors.record('kubelet stop', err)).finally(() => this.stopping.delete(p));
    this.stopping.add(p);
    return p;
  }

  /** PodTerminator: graceful stop, then the pod object is removed. */
  terminate(pod: KubeObject, graceSeconds: number): boolean {
    const worker = this.workers.get(pod.metadata.uid ?? '');
    if (!worker) return false;
    void this.stop(worker, graceSeconds).then(() => {
      if (this.closed) return;
      const live = this.store.get(resolveResource('pods'), pod.metadata.namespace, pod.metadata.name ?? '');
      if (live && live.metadata.uid === pod.metadata.uid) this.api.removeNow(resolveResource('pods'), pod.metadata.namespace, pod.metadata.name ?? '');
    }).catch((err: unknown) => this.errors.record('kubelet terminate', err));
    return true;
  }

  /**
   * Emulates cluster DNS for env values: `<svc>.<ns>.svc.cluster.local` becomes
   * the podIP of a Ready pod selected by that Service (left as is when there is
   * none). Resolved when the container starts, so a restart picks up a new IP.
   */
  serviceHostsToIps(value: string): string {
    if (!value.includes('.svc.cluster.local')) return value;
    return value.replace(/\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc\.cluster\.local\b/g, (host, svc: string, ns: string) => {
      const selector = (this.store.get(resolveResource('services'), ns, svc) as Obj | undefined)?.spec?.selector as Record<string, string> | undefined;
      if (!selector || Object.keys(selector).length === 0) return host;
      const pod = (this.store.list(resolveResource('pods'), ns) as Obj[]).find((p) => !p.metadata.deletionTimestamp && p.status?.podIP
        && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v)
        && (p.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'));
      return pod ? String(pod.status.podIP) : host;
    });
  }

  podIp(uid: string): string | undefined {
    return this.workers.get(uid)?.ip;
  }

  logs(uid: string, container: string | undefined, previous: boolean): LogBuffer | undefined {
    return this.workers.get(uid)?.logOf(container, previous);
  }

  containerNames(uid: string): string[] | undefined {
    return this.workers.get(uid)?.containerNames();
  }

  /**
   * Record a core/v1 Event about a pod (best effort, like the real kubelet).
   * A repeat (same pod, reason and message) bumps `count` on the existing
   * Event, so a crash loop does not grow the store without bound.
   */
  event(pod: Obj, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.closed) return;
    const now = this.store.timestamp();
    const eventsRt = resolveResource('events');
    const same = this.store.list(eventsRt, pod.metadata.namespace).find((e) => {
      const o = e as Obj;
      return o.involvedObject?.uid === pod.metadata.uid && o.reason === reason && o.message === message;
    }) as Obj | undefined;
    if (same) {
      same.count = (same.count ?? 1) + 1;
      same.lastTimestamp = now;
      this.store.update(eventsRt, same as KubeObject);
      return;
    }
    try {
      this.api.createObject(resolveResource('events'), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${pod.metadata.name}.`, namespace: pod.metadata.namespace },
        involvedObject: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: 'v1' },
        reason,
        message,
        type,
        source: { component: 'kubelet', host: 'fake-node' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: 'kubelet',
        reportingInstance: 'fake-node',
      } as KubeObject);
    } catch {
      // Terminating namespace: events are dropped, as on a real cluster.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    process.off('exit', this.killOnExit);
    this.unsubscribe?.();
    for (const w of [...this.workers.values()]) void this.stop(w, 0);
    await Promise.all([...this.stopping]);
  }
}
