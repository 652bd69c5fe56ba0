/**
 * The scheduler: binds pending pods to the one fake node after
 * `delays.scheduleMs`, or marks them PodScheduled=False/Unschedulable when a
 * fault says so (they then stay Pending forever).
 */
import type { FaultControls } from './faults.ts';
import { InternalErrors } from './internal-errors.ts';
import { resolveResource } from './resources.ts';
import { clone } from './store.ts';
import type { KubeObject, Store } from './store.ts';

type Obj = Record<string, any>;

export const FAKE_NODE_NAME = 'fake-node';

export class Scheduler {
  private readonly store: Store;
  private readonly faults: FaultControls;
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  private readonly errors: InternalErrors;

  constructor(store: Store, faults: FaultControls, errors: InternalErrors = new InternalErrors()) {
    this.errors = errors;
    this.store = store;
    this.faults = faults;
  }

  start(): void {
    const podRt = resolveResource('pods');
    this.unsubscribe = this.store.subscribe((ev) => {
      if (ev.rt !== podRt || ev.type !== 'ADDED') return;
      const pod = ev.object as Obj;
      if (pod.spec?.nodeName) return;
      const t = setTimeout(
        this.errors.guard('scheduler', () => {
          this.timers.delete(t);
          this.bind(pod as KubeObject);
        }),
        this.faults.delays.scheduleMs,
      );
      this.timers.add(t);
    });
  }

  private bind(pod: KubeObject): void {
    if (this.closed) return;
    const podRt = resolveResource('pods');
    const live = this.store.get(podRt, pod.metadata.namespace, pod.metadata.name ?? '') as
      Obj | undefined;
    if (!live || live.metadata.uid !== pod.metadata.uid || live.metadata.deletionTimestamp) return;
    const now = this.store.timestamp();
    const fault = this.faults.podFaultFor(live as KubeObject);
    const next = clone(live);
    next.status ??= {};
    const others = (next.status.conditions ?? []).filter((c: Obj) => c.type !== 'PodScheduled');
    if (fault?.reason === 'Unschedulable') {
      next.status.phase = 'Pending';
      next.status.conditions = [
        ...others,
        {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: now,
          reason: 'Unschedulable',
          message:
            fault.message ??
            '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
        },
      ];
      this.store.update(podRt, next as KubeObject);
      return;
    }
    next.spec.nodeName = FAKE_NODE_NAME;
    next.status.conditions = [
      ...others,
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
    ];
    this.store.update(podRt, next as KubeObject);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
