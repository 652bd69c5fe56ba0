/**
 * Workload controllers: Deployment -> ReplicaSet (`<deploy>-<hash>`) -> Pods
 * (`<deploy>-<hash>-<rand>`), and Job -> Pods (NonIndexed and Indexed, with
 * JOB_COMPLETION_INDEX). A template change creates a new ReplicaSet and rolls
 * over to it within maxSurge/maxUnavailable (RollingUpdate; Recreate: old pods
 * gone first). Reconciliation is coalesced: every
 * store event marks owners dirty, a microtask-later pass reconciles them.
 */
import type { KubeApi } from './api.ts';
import { recordEvent } from './events.ts';
import { InternalErrors } from './internal-errors.ts';
import { randomSuffix, safeHash } from './defaults.ts';
import { apiVersionOf, resolveResource } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { clone } from './store.ts';
import type { KubeObject, Store, StoreEvent } from './store.ts';
import { KubeStatusError } from './status.ts';

type Obj = Record<string, any>;

export const JOB_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** First retry after a refused pod create; doubles per failure (the real workqueue's rate limiter, compressed). */
export const CREATE_RETRY_MS = 100;
/** Cap on that retry period. */
export const CREATE_RETRY_MAX_MS = 2000;

function ownerRef(
  rt: ResourceType,
  owner: KubeObject,
): NonNullable<KubeObject['metadata']['ownerReferences']>[number] {
  return {
    apiVersion: apiVersionOf(rt),
    kind: rt.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function ownedBy(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (r) => r.uid === owner.metadata.uid && r.controller,
  );
}

function isPodReady(pod: Obj): boolean {
  return (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
}

function isActive(pod: Obj): boolean {
  return (
    !pod.metadata.deletionTimestamp &&
    pod.status?.phase !== 'Succeeded' &&
    pod.status?.phase !== 'Failed'
  );
}

function omitZero(status: Obj): Obj {
  for (const [k, v] of Object.entries(status)) if (v === 0 || v === undefined) delete status[k];
  return status;
}

/** Indexes as the server compresses them: `0-2,4,6-7`. */
export function compressIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** maxSurge / maxUnavailable as counts (percentages: surge rounds up, unavailable down; never both 0). */
export function rollingBounds(
  ru: { maxSurge?: number | string; maxUnavailable?: number | string } | undefined,
  replicas: number,
): { surge: number; unavailable: number } {
  const resolve = (v: number | string | undefined, dflt: string, up: boolean): number => {
    const raw = v ?? dflt;
    if (typeof raw === 'number') return raw;
    const pct = /^(\d+)%$/.exec(raw);
    if (!pct) return Number(raw) || 0;
    const x = (Number(pct[1]) * replicas) / 100;
    return up ? Math.ceil(x) : Math.floor(x);
  };
  const surge = resolve(ru?.maxSurge, '25%', true);
  let unavailable = resolve(ru?.maxUnavailable, '25%', false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export class WorkloadControllers {
  private readonly api: KubeApi;
  private readonly store: Store;
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private closed = false;
  private unsubscribe: (() => void) | undefined;
  private readonly deployRt = resolveResource('deployments');
  private readonly rsRt = resolveResource('replicasets');
  private readonly jobRt = resolveResource('jobs');
  private readonly podRt = resolveResource('pods');

  private readonly errors: InternalErrors;
  /** Owners whose last pod create was refused: consecutive failures, and the pending retry. */
  private readonly retries = new Map<string, { failures: number; timer?: NodeJS.Timeout }>();

  constructor(api: KubeApi, store: Store, errors: InternalErrors = new InternalErrors()) {
    this.api = api;
    this.store = store;
    this.errors = errors;
  }

  start(): void {
    this.unsubscribe = this.store.subscribe((ev) => this.onEvent(ev));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  /**
   * Creates a pod for an owner as the real controllers' PodControl does: a
   * refusal (Pod Security, a terminating namespace, a fault) is recorded as a
   * `FailedCreate` Warning Event on the owner (`Error creating: <message>`),
   * and the owner is reconciled again after a backoff. Returns the error.
   */
  private createPod(
    ownerRt: ResourceType,
    owner: Obj,
    pod: Obj,
    component: string,
  ): { pod?: Obj; error?: KubeStatusError } {
    const key = `${ownerRt.plural}\u0000${owner.metadata.namespace ?? ''}\u0000${owner.metadata.name}`;
    try {
      const created = this.api.createObject(this.podRt, pod as KubeObject) as Obj;
      const r = this.retries.get(key);
      if (r) {
        clearTimeout(r.timer);
        this.retries.delete(key);
      }
      return { pod: created };
    } catch (err) {
      if (!(err instanceof KubeStatusError)) throw err;
      recordEvent(
        this.api,
        this.store,
        { ...owner, kind: ownerRt.kind, apiVersion: apiVersionOf(ownerRt) },
        'Warning',
        'FailedCreate',
        `Error creating: ${err.message}`,
        component,
      );
      const r = this.retries.get(key) ?? { failures: 0 };
      r.failures++;
      if (!r.timer && !this.closed) {
        r.timer = setTimeout(
          () => {
            r.timer = undefined;
            if (!this.closed) this.mark(ownerRt, owner.metadata.namespace, owner.metadata.name);
          },
          Math.min(CREATE_RETRY_MS * 2 ** Math.min(r.failures - 1, 10), CREATE_RETRY_MAX_MS),
        );
      }
      this.retries.set(key, r);
      return { error: err };
    }
  }

  private mark(rt: ResourceType, ns: string | undefined, name: string): void {
    this.dirty.add(`${rt.plural}\u0000${ns ?? ''}\u0000${name}`);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.errors.guard('controllers', () => this.flush()));
  }

  private onEvent(ev: StoreEvent): void {
    const o = ev.object;
    if (ev.rt === this.deployRt || ev.rt === this.rsRt || ev.rt === this.jobRt) {
      if (ev.type !== 'DELETED') this.mark(ev.rt, o.metadata.namespace, o.metadata.name ?? '');
    }
    for (const ref of o.metadata.ownerReferences ?? []) {
      if (!ref.controller) continue;
      if (ref.kind === 'ReplicaSet') this.mark(this.rsRt, o.metadata.namespace, ref.name);
      if (ref.kind === 'Deployment') this.mark(this.deployRt, o.metadata.namespace, ref.name);
      if (ref.kind === 'Job') this.mark(this.jobRt, o.metadata.namespace, ref.name);
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    const work = [...this.dirty];
    this.dirty.clear();
    for (const key of work) {
      const [plural, ns, name] = key.split('\u0000');
      try {
        if (plural === 'deployments') this.reconcileDeployment(ns, name);
        else if (plural === 'replicasets') this.reconcileReplicaSet(ns, name);
        else if (plural === 'jobs') this.reconcileJob(ns, name);
      } catch (err) {
        // Namespace terminating, object gone meanwhile: the next event retries.
        if (!(err instanceof KubeStatusError)) throw err;
      }
    }
  }

  private writeStatus(rt: ResourceType, obj: KubeObject, status: Obj): void {
    const live = this.store.get(rt, obj.metadata.namespace, obj.metadata.name ?? '');
    if (!live) return;
    const prev = (live as Obj).status ?? {};
    // Keep condition transition times when nothing changed.
    for (const c of status.conditions ?? []) {
      const old = (prev.conditions ?? []).find((p: Obj) => p.type === c.type);
      if (old && old.status === c.status && old.reason === c.reason) {
        c.lastTransitionTime = old.lastTransitionTime;
        if (old.lastUpdateTime) c.lastUpdateTime = old.lastUpdateTime;
        if (old.lastProbeTime !== undefined) c.lastProbeTime = old.lastProbeTime;
      }
    }
    if (JSON.stringify(prev) === JSON.stringify(status)) return;
    const next = clone(live) as Obj;
    next.status = status;
    this.store.update(rt, next as KubeObject);
  }

  // ---- Deployment ---------------------------------------------------------

  private reconcileDeployment(ns: string, name: string): void {
    const d = this.store.get(this.deployRt, ns, name) as Obj | undefined;
    if (!d || d.metadata.deletionTimestamp) return;
    const template = clone(d.spec.template ?? {});
    const hash = safeHash(template, 10);
    const rsName = `${name}-${hash}`;
    const owned = this.store
      .list(this.rsRt, ns)
      .filter((rs) => ownedBy(rs, d as KubeObject)) as Obj[];
    const replicas = d.spec.replicas ?? 1;
    let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const revision = String(
      1 +
        Math.max(
          0,
          ...owned.map((rs) =>
            Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
          ),
        ),
    );
    const olds = owned
      .filter((rs) => rs.metadata.name !== current?.metadata.name)
      .sort(
        (x, y) =>
          Number(x.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) -
          Number(y.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
      );
    const oldReplicas = olds.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
    const recreate = d.spec.strategy?.type === 'Recreate';
    const { surge, unavailable } = rollingBounds(d.spec.strategy?.rollingUpdate, replicas);
    let target: number;
    if (olds.length === 0 || oldReplicas === 0) {
      const oldPods = recreate
        ? this.store
            .list(this.podRt, ns)
            .filter((p) => olds.some((rs) => ownedBy(p, rs as KubeObject))).length
        : 0;
      target = oldPods > 0 ? 0 : replicas;
    } else if (recreate) {
      target = 0;
    } else {
      // RollingUpdate: never more than replicas + maxSurge pods wanted in total.
      target = Math.min(
        replicas,
        Math.max(current?.spec.replicas ?? 0, replicas + surge - oldReplicas),
      );
    }
    if (!current) {
      const labels = { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash };
      const rs: Obj = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: rsName,
          namespace: ns,
          labels,
          annotations: {
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + surge),
            'deployment.kubernetes.io/revision': revision,
          },
          ownerReferences: [ownerRef(this.deployRt, d as KubeObject)],
        },
        spec: {
          replicas: target,
          minReadySeconds: d.spec.minReadySeconds ?? 0,
          selector: {
            ...(d.spec.selector ?? {}),
            matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
          },
          template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
        },
      };
      current = this.api.createObject(this.rsRt, rs as KubeObject);
    } else if (current.spec.replicas !== target) {
      const next = clone(current);
      next.spec.replicas = target;
      next.metadata.annotations = {
        ...(next.metadata.annotations ?? {}),
        'deployment.kubernetes.io/desired-replicas': String(replicas),
      };
      current = this.api.writeObject(this.rsRt, next as KubeObject, current as KubeObject);
    }
    // Old ReplicaSets shrink as far as availability allows (Recreate: at once). Unhealthy old pods go first.
    const availableNow = [...olds, current].reduce(
      (n, rs) => n + (rs.status?.availableReplicas ?? 0),
      0,
    );
    let removable = recreate ? Number.POSITIVE_INFINITY : availableNow - (replicas - unavailable);
    for (const old of olds) {
      const have = old.spec.replicas ?? 0;
      if (have === 0) continue;
      const unhealthy = Math.max(0, have - (old.status?.availableReplicas ?? 0));
      const healthyToRemove = Math.max(0, Math.min(have - unhealthy, removable));
      const reduce = Math.min(have, unhealthy + healthyToRemove);
      removable -= healthyToRemove;
      if (reduce === 0) continue;
      const next = clone(old);
      next.spec.replicas = have - reduce;
      this.api.writeObject(this.rsRt, next as KubeObject, old as KubeObject);
    }
    const all = this.store
      .list(this.rsRt, ns)
      .filter((rs) => ownedBy(rs, d as KubeObject)) as Obj[];
    const sum = (f: string): number => all.reduce((n, rs) => n + (rs.status?.[f] ?? 0), 0);
    const cur = all.find((rs) => rs.metadata.name === current.metadata.name) ?? current;
    const available = sum('availableReplicas');
    const now = this.store.timestamp();
    const minAvailable = replicas - Math.floor(replicas * 0.25);
    const isAvailable = available >= minAvailable;
    const complete =
      (cur.status?.availableReplicas ?? 0) >= replicas && sum('replicas') === replicas;
    const status: Obj = omitZero({
      observedGeneration: d.metadata.generation,
      replicas: sum('replicas'),
      updatedReplicas: cur.status?.replicas ?? 0,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, replicas - available),
    });
    status.conditions = [
      isAvailable
        ? {
            type: 'Available',
            status: 'True',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
      complete
        ? {
            type: 'Progressing',
            status: 'True',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${cur.metadata.name}" has successfully progressed.`,
          }
        : {
            type: 'Progressing',
            status: 'True',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'ReplicaSetUpdated',
            message: `ReplicaSet "${cur.metadata.name}" is progressing.`,
          },
    ];
    // deployment/progress.go: a ReplicaSet's ReplicaFailure is carried to the Deployment (the new one's first).
    const failure = [cur, ...all.filter((rs) => rs !== cur)]
      .map((rs) =>
        (rs.status?.conditions ?? []).find(
          (c: Obj) => c.type === 'ReplicaFailure' && c.status === 'True',
        ),
      )
      .find((c) => c !== undefined) as Obj | undefined;
    if (failure)
      status.conditions.push({
        type: 'ReplicaFailure',
        status: 'True',
        lastUpdateTime: failure.lastTransitionTime,
        lastTransitionTime: failure.lastTransitionTime,
        reason: failure.reason,
        message: failure.message,
      });
    this.writeStatus(this.deployRt, d as KubeObject, status);
  }

  // ---- ReplicaSet ---------------------------------------------------------

  private reconcileReplicaSet(ns: string, name: string): void {
    const rs = this.store.get(this.rsRt, ns, name) as Obj | undefined;
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = this.store
      .list(this.podRt, ns)
      .filter((p) => ownedBy(p, rs as KubeObject)) as Obj[];
    const active = pods.filter(isActive);
    const want = rs.spec.replicas ?? 1;
    let createError: KubeStatusError | undefined;
    if (active.length < want) {
      for (let i = active.length; i < want && !createError; i++) {
        const tpl = clone(rs.spec.template ?? {});
        const pod: Obj = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            ...(tpl.metadata ?? {}),
            name: `${name}-${randomSuffix(5)}`,
            namespace: ns,
            ownerReferences: [ownerRef(this.rsRt, rs as KubeObject)],
          },
          spec: tpl.spec ?? {},
        };
        createError = this.createPod(this.rsRt, rs, pod, 'replicaset-controller').error;
      }
    } else if (active.length > want) {
      // Not-ready and newest pods go first, as the real controller prefers.
      const victims = [...active].sort(
        (a, b) =>
          Number(isPodReady(a)) - Number(isPodReady(b)) ||
          String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
      );
      for (const p of victims.slice(0, active.length - want))
        this.api.deleteObject(this.podRt, p as KubeObject);
    }
    const now = this.store
      .list(this.podRt, ns)
      .filter((p) => ownedBy(p, rs as KubeObject) && isActive(p)) as Obj[];
    const ready = now.filter(isPodReady).length;
    const rsStatus = omitZero({
      replicas: now.length,
      fullyLabeledReplicas: now.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    });
    // replicaset/replica_set_utils.go calculateStatus: a failed create sets ReplicaFailure/FailedCreate with the
    // API error; the condition stays until a sync manages the replicas without error.
    const previous = (rs.status?.conditions ?? []).find((c: Obj) => c.type === 'ReplicaFailure') as
      Obj | undefined;
    if (createError) {
      rsStatus.conditions = [
        previous && previous.message === createError.message
          ? previous
          : {
              type: 'ReplicaFailure',
              status: 'True',
              lastTransitionTime: this.store.timestamp(),
              reason: 'FailedCreate',
              message: createError.message,
            },
      ];
    }
    this.writeStatus(this.rsRt, rs as KubeObject, rsStatus);
    const live = this.store.get(this.rsRt, ns, name) as Obj | undefined;
    if (live && live.status && live.status.replicas === undefined) {
      // replicas is not omitempty on ReplicaSetStatus.
      this.writeStatus(this.rsRt, live as KubeObject, { ...live.status, replicas: 0 });
    }
  }

  // ---- Job ----------------------------------------------------------------

  private reconcileJob(ns: string, name: string): void {
    const job = this.store.get(this.jobRt, ns, name) as Obj | undefined;
    if (!job || job.metadata.deletionTimestamp) return;
    const status: Obj = clone(job.status ?? {});
    const finished = (status.conditions ?? []).some(
      (c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    const pods = this.store
      .list(this.podRt, ns)
      .filter((p) => ownedBy(p, job as KubeObject)) as Obj[];
    const indexed = job.spec.completionMode === 'Indexed';
    const completions: number = job.spec.completions ?? 1;
    const parallelism: number = job.spec.parallelism ?? 1;
    const indexOf = (p: Obj): number =>
      Number(p.metadata.annotations?.[JOB_INDEX_ANNOTATION] ?? -1);
    const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
    const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
    let active = pods.filter(isActive);
    const completedIndexes = new Set(
      succeededPods.map(indexOf).filter((i) => i >= 0 && i < completions),
    );
    const succeeded = indexed ? completedIndexes.size : succeededPods.length;
    const failed = failedPods.length;
    const now = this.store.timestamp();
    status.startTime ??= now;

    if (!finished && !job.spec.suspend) {
      if (failed > (job.spec.backoffLimit ?? 6)) {
        for (const p of active) this.api.deleteObject(this.podRt, p as KubeObject);
        active = [];
        status.conditions = [
          {
            type: 'FailureTarget',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
          {
            type: 'Failed',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ];
      } else if (succeeded >= completions) {
        status.completionTime = now;
        status.conditions = [
          {
            type: 'SuccessCriteriaMet',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
          },
          {
            type: 'Complete',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
          },
        ];
      } else if (indexed) {
        const busy = new Set(active.map(indexOf));
        for (let i = 0; i < completions && active.length < parallelism; i++) {
          if (completedIndexes.has(i) || busy.has(i)) continue;
          const made = this.createJobPod(job, i);
          if (!made) break;
          active.push(made);
        }
      } else {
        const want = Math.min(parallelism, completions - succeeded);
        while (active.length < want) {
          const made = this.createJobPod(job, undefined);
          if (!made) break;
          active.push(made);
        }
      }
    }
    status.active = active.length;
    status.ready = active.filter(isPodReady).length;
    status.succeeded = succeeded;
    status.failed = failed;
    if (indexed) {
      const c = compressIndexes(completedIndexes);
      if (c) status.completedIndexes = c;
    }
    omitZero(status);
    // ready and terminating are pointer fields: reported even when zero.
    status.ready ??= 0;
    status.terminating = 0;
    status.uncountedTerminatedPods = {};
    this.writeStatus(this.jobRt, job as KubeObject, status);
  }

  /** Undefined when the create was refused (job_controller.go: a FailedCreate Event, a retry, no condition). */
  private createJobPod(job: Obj, index: number | undefined): Obj | undefined {
    const tpl = clone(job.spec.template ?? {});
    const name = job.metadata.name as string;
    const meta: Obj = { ...(tpl.metadata ?? {}) };
    meta.labels = { ...(meta.labels ?? {}) };
    meta.annotations = { ...(meta.annotations ?? {}) };
    const spec: Obj = tpl.spec ?? {};
    if (index !== undefined) {
      meta.annotations[JOB_INDEX_ANNOTATION] = String(index);
      meta.labels[JOB_INDEX_ANNOTATION] = String(index);
      spec.hostname ??= `${name}-${index}`;
      spec.subdomain ??= job.spec.template?.spec?.subdomain;
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        c.env = [
          ...(c.env ?? []).filter((e: Obj) => e.name !== 'JOB_COMPLETION_INDEX'),
          {
            name: 'JOB_COMPLETION_INDEX',
            valueFrom: {
              fieldRef: {
                apiVersion: 'v1',
                fieldPath: `metadata.annotations['${JOB_INDEX_ANNOTATION}']`,
              },
            },
          },
        ];
      }
    }
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...meta,
        name: `${name}-${index !== undefined ? `${index}-` : ''}${randomSuffix(5)}`,
        namespace: job.metadata.namespace,
        ownerReferences: [ownerRef(this.jobRt, job as KubeObject)],
      },
      spec,
    };
    return this.createPod(this.jobRt, job, pod, 'job-controller').pod;
  }
}
