/**
 * The fake's etcd: objects by resource type, one global resourceVersion
 * counter, a bounded event history for watch resumption, and listeners (watch
 * streams and controllers). Objects are deep-copied in and out so callers can
 * never mutate stored state by accident.
 */
import { randomUUID } from 'node:crypto';
import type { ResourceType } from './resources.ts';
import { apiVersionOf } from './resources.ts';
import { alreadyExists, notFound } from './status.ts';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  rt: ResourceType;
  rv: number;
  object: KubeObject;
  /** The previous state, for MODIFIED (watch filters need it). */
  old?: KubeObject;
}

/** Events kept for `watch?resourceVersion=` resumption; older ones answer 410 like a compacted etcd. */
export const MAX_WATCH_HISTORY = 20_000;
/** Bytes (as JSON) of that history: large ConfigMaps (the sink bundle) must not pile up. */
export const MAX_WATCH_HISTORY_BYTES = 64 * 1024 * 1024;

export function typeKey(rt: ResourceType): string {
  return `${rt.group}/${rt.plural}`;
}

function objectKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

function specPart(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  void _m;
  void _s;
  return JSON.stringify(rest);
}

/** An object as JSON without its resourceVersion and managedFields timestamps. */
function comparable(obj: KubeObject): string {
  const managed = (obj.metadata.managedFields ?? []).map((m) => {
    if (m === null || typeof m !== 'object') return m;
    const { time: _t, ...rest } = m as Record<string, unknown>;
    void _t;
    return rest;
  });
  return JSON.stringify({
    ...obj,
    metadata: { ...obj.metadata, resourceVersion: '', managedFields: managed },
  });
}

export class Store {
  private readonly byType = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly historySizes: number[] = [];
  private historyBytes = 0;
  private readonly listeners = new Set<(ev: StoreEvent) => void>();
  private rv = 100;
  /** Events at or below this resourceVersion are gone (compaction). */
  compactedRv = 100;
  private readonly now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.now = now;
  }

  get currentRv(): number {
    return this.rv;
  }

  timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }

  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events after `rv`, or undefined when some of them were compacted away. */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    const oldest = this.history.length > 0 ? this.history[0].rv : this.rv + 1;
    if (rv < oldest - 1 && rv < this.rv) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forget history up to now: later watches from older versions get 410. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
    this.historySizes.length = 0;
    this.historyBytes = 0;
  }

  private table(rt: ResourceType): Map<string, KubeObject> {
    const key = typeKey(rt);
    let t = this.byType.get(key);
    if (!t) {
      t = new Map();
      this.byType.set(key, t);
    }
    return t;
  }

  get(rt: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    const found = this.table(rt).get(objectKey(rt.namespaced ? ns : undefined, name));
    return found ? clone(found) : undefined;
  }

  mustGet(rt: ResourceType, ns: string | undefined, name: string): KubeObject {
    const found = this.get(rt, ns, name);
    if (!found) throw notFound(rt.group, rt.plural, name);
    return found;
  }

  /** Objects of a type, optionally in one namespace, sorted by namespace then name. */
  list(rt: ResourceType, ns?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.table(rt).values()) {
      if (ns === undefined || !rt.namespaced || obj.metadata.namespace === ns) out.push(clone(obj));
    }
    out.sort((a, b) =>
      objectKey(a.metadata.namespace, a.metadata.name ?? '').localeCompare(
        objectKey(b.metadata.namespace, b.metadata.name ?? ''),
      ),
    );
    return out;
  }

  /** Counts objects (all types) in a namespace: used by namespace termination. */
  countInNamespace(ns: string): number {
    let n = 0;
    for (const t of this.byType.values())
      for (const o of t.values()) if (o.metadata.namespace === ns) n++;
    return n;
  }

  private emit(type: EventType, rt: ResourceType, obj: KubeObject, old?: KubeObject): void {
    const ev: StoreEvent = { type, rt, rv: this.rv, object: obj };
    if (old) ev.old = old;
    const size = JSON.stringify(obj).length + (old ? JSON.stringify(old).length : 0);
    this.history.push(ev);
    this.historySizes.push(size);
    this.historyBytes += size;
    let drop = 0;
    while (
      this.history.length - drop > MAX_WATCH_HISTORY ||
      (this.historyBytes > MAX_WATCH_HISTORY_BYTES && this.history.length - drop > 1)
    ) {
      this.historyBytes -= this.historySizes[drop];
      drop++;
    }
    if (drop > 0) {
      this.history.splice(0, drop);
      this.historySizes.splice(0, drop);
    }
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch {
        // A broken listener must not break the write path.
      }
    }
  }

  /** Insert a new object, filling server-set metadata. Caller validated it. */
  create(rt: ResourceType, input: KubeObject): KubeObject {
    const obj = clone(input);
    const t = this.table(rt);
    const name = obj.metadata.name ?? '';
    const key = objectKey(rt.namespaced ? obj.metadata.namespace : undefined, name);
    if (t.has(key)) throw alreadyExists(rt.group, rt.plural, name);
    if (!rt.namespaced) delete obj.metadata.namespace;
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    this.rv++;
    obj.metadata.uid = obj.metadata.uid ?? randomUUID();
    obj.metadata.resourceVersion = String(this.rv);
    obj.metadata.creationTimestamp = this.timestamp();
    obj.metadata.generation = 1;
    delete obj.metadata.deletionTimestamp;
    t.set(key, obj);
    const out = clone(obj);
    this.emit('ADDED', rt, clone(obj));
    return out;
  }

  /** Replace an existing object (no resourceVersion check here: callers do it). */
  update(rt: ResourceType, input: KubeObject): KubeObject {
    const obj = clone(input);
    const t = this.table(rt);
    const name = obj.metadata.name ?? '';
    const key = objectKey(rt.namespaced ? obj.metadata.namespace : undefined, name);
    const old = t.get(key);
    if (!old) throw notFound(rt.group, rt.plural, name);
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    // Identity fields are the server's.
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp && !obj.metadata.deletionTimestamp)
      obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
    obj.metadata.generation = old.metadata.generation ?? 1;
    if (
      specPart(old) !== specPart(obj) ||
      (obj.metadata.deletionTimestamp && !old.metadata.deletionTimestamp)
    )
      obj.metadata.generation++;
    if (comparable(obj) === comparable(old)) {
      // No-op writes (a managedFields timestamp aside) do not bump resourceVersion, as on a real server.
      return clone(old);
    }
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    t.set(key, obj);
    const out = clone(obj);
    this.emit('MODIFIED', rt, clone(obj), clone(old));
    return out;
  }

  remove(rt: ResourceType, ns: string | undefined, name: string): KubeObject {
    const t = this.table(rt);
    const key = objectKey(rt.namespaced ? ns : undefined, name);
    const old = t.get(key);
    if (!old) throw notFound(rt.group, rt.plural, name);
    t.delete(key);
    this.rv++;
    old.metadata.resourceVersion = String(this.rv);
    const out = clone(old);
    this.emit('DELETED', rt, clone(old));
    return out;
  }

  /** Keys (`group/plural`) of every type that has held objects. */
  allTypes(): string[] {
    return [...this.byType.keys()];
  }
}
