/**
 * Namespace lifecycle: new namespaces get the `default` ServiceAccount and the
 * `kube-root-ca.crt` ConfigMap, as on a real cluster; a deleted namespace is
 * Terminating (creates in it are 403) until every object in it is gone, then
 * it disappears (404).
 */
import type { KubeApi } from './api.ts';
import type { FaultControls } from './faults.ts';
import { InternalErrors } from './internal-errors.ts';
import { RESOURCE_TYPES, resolveResource } from './resources.ts';
import type { KubeObject, Store } from './store.ts';
import { KubeStatusError } from './status.ts';

/** Namespaces that exist on a fresh cluster. */
export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const FAKE_CA =
  '-----BEGIN CERTIFICATE-----\nZmFrZS1rdWJlIGhhcyBubyByZWFsIENB\n-----END CERTIFICATE-----\n';

export class NamespaceController {
  private readonly api: KubeApi;
  private readonly store: Store;
  private readonly faults: FaultControls;
  private readonly terminating = new Map<string, () => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  private readonly errors: InternalErrors;

  constructor(
    api: KubeApi,
    store: Store,
    faults: FaultControls,
    errors: InternalErrors = new InternalErrors(),
  ) {
    this.errors = errors;
    this.api = api;
    this.store = store;
    this.faults = faults;
  }

  start(): void {
    const nsRt = resolveResource('namespaces');
    this.unsubscribe = this.store.subscribe((ev) => {
      if (ev.rt === nsRt) {
        const name = ev.object.metadata.name ?? '';
        if (ev.type === 'ADDED')
          setImmediate(this.errors.guard('namespaces', () => this.populate(name)));
        if (
          ev.type !== 'DELETED' &&
          ev.object.metadata.deletionTimestamp &&
          !this.terminating.has(name)
        )
          this.beginTermination(name);
        return;
      }
      const ns = ev.object.metadata.namespace;
      if (ev.type === 'DELETED' && ns !== undefined) this.terminating.get(ns)?.();
    });
    for (const name of BUILTIN_NAMESPACES) {
      this.api.createObject(nsRt, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }

  private populate(ns: string): void {
    if (this.closed) return;
    const existing = this.store.get(resolveResource('namespaces'), undefined, ns);
    if (!existing || existing.metadata.deletionTimestamp) return;
    const tryCreate = (handle: string, obj: KubeObject): void => {
      try {
        this.api.createObject(resolveResource(handle), obj);
      } catch (err) {
        if (!(err instanceof KubeStatusError)) throw err;
      }
    };
    tryCreate('serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
    });
    tryCreate('configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'kube-root-ca.crt',
        namespace: ns,
        annotations: {
          'kubernetes.io/description':
            'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
        },
      },
      data: { 'ca.crt': FAKE_CA },
    });
  }

  private beginTermination(ns: string): void {
    const check = (): void => {
      if (this.closed || !this.terminating.has(ns)) return;
      if (this.store.countInNamespace(ns) > 0) return;
      this.terminating.delete(ns);
      const nsRt = resolveResource('namespaces');
      if (this.store.get(nsRt, undefined, ns)) this.store.remove(nsRt, undefined, ns);
    };
    this.terminating.set(ns, check);
    const t = setTimeout(
      this.errors.guard('namespaces', () => {
        this.timers.delete(t);
        if (this.closed) return;
        for (const rt of RESOURCE_TYPES) {
          if (!rt.namespaced) continue;
          for (const obj of this.store.list(rt, ns)) {
            try {
              this.api.deleteObject(rt, obj);
            } catch (err) {
              if (!(err instanceof KubeStatusError)) throw err;
            }
          }
        }
        check();
      }),
      this.faults.delays.namespaceDeleteMs,
    );
    this.timers.add(t);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
