/**
 * The lifecycle of what a command deploys for a while: create the namespace
 * (unless an existing one was named), apply the objects in order, wait for a
 * pod to be ready, and remove what was created on failure, on Ctrl-C (through
 * the interrupt handler's registry) or when the caller is done. Only a
 * namespace this call created is ever deleted (a 409 means someone else's);
 * in an existing namespace only the objects applied are.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { evError } from '../../../src/errors.ts';
import type { KubeObject } from '../../../src/manifests.ts';
import type { KubeClient } from './adapter.ts';
import { isPodReady, podState } from './readiness.ts';

/** How long the removal waits for a deleted namespace to be gone. */
export const NAMESPACE_GONE_WAIT_MS = 60_000;

export interface CleanupRegistry { register(label: string, run: () => Promise<void>): () => void }

export interface EphemeralDeployment {
  namespace: string;
  /** True once the namespace (or the first object in an existing one) was created here. */
  readonly created: boolean;
  /** What removal will delete, for messages ("namespace X" / "the check objects in namespace X"). */
  label: string;
  /** Creates the namespace if needed and applies `objects` in order (idempotent: server-side apply). */
  apply(objects: KubeObject[], signal?: AbortSignal): Promise<void>;
  /** Removes what was created (no-op when nothing was, or with keep). */
  destroy(): Promise<void>;
  /** Unregisters from the interrupt handler: what was created is meant to stay (or is removed by the caller). */
  release(): void;
}

export interface EphemeralOptions {
  client: KubeClient;
  namespace: string;
  createNamespace: boolean;
  /** What the objects are, e.g. "the check objects". */
  what: string;
  keep?: boolean;
  cleanups?: CleanupRegistry;
}

export function ephemeralDeployment(o: EphemeralOptions): EphemeralDeployment {
  const applied: KubeObject[] = [];
  let creating: Promise<unknown> | undefined;
  let created = false;
  let unregister: (() => void) | undefined;
  const label = o.createNamespace ? `namespace ${o.namespace}` : `${o.what} in namespace ${o.namespace}`;
  const destroy = async (): Promise<void> => {
    unregister?.();
    unregister = undefined;
    await creating?.catch(() => {});
    if (!created || o.keep) return;
    if (o.createNamespace) {
      await o.client.deleteNamespace(o.namespace);
      await o.client.waitNamespaceGone(o.namespace, NAMESPACE_GONE_WAIT_MS);
    } else {
      for (const obj of [...applied].reverse()) await o.client.deleteObject(obj as never);
    }
  };
  return {
    namespace: o.namespace,
    get created() { return created; },
    label,
    async apply(objects, signal) {
      for (const obj of objects) {
        if (signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
        if (!unregister && o.cleanups && !o.keep) unregister = o.cleanups.register(label, destroy);
        if (obj.kind === 'Namespace') {
          creating = o.client.createNamespace(obj as never).then(() => { created = true; });
          await creating;
          continue;
        }
        if (!o.createNamespace) created = true;
        applied.push(obj);
        await o.client.apply(obj as never);
      }
    },
    destroy,
    release() { unregister?.(); unregister = undefined; },
  };
}

export interface WaitPodOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Error raised at the deadline (the pod's last reason is appended). */
  failure: (reason: string) => Error;
}

/** Waits for a ready pod matching `selector`; resolves to its name. */
export async function waitPodReady(client: KubeClient, namespace: string, selector: string, o: WaitPodOptions): Promise<string> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'Pending';
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
    if (o.signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
    const pods: V1Pod[] = await client.listPods(namespace, selector);
    const ready = pods.find((p) => isPodReady(p) && !p.metadata?.deletionTimestamp);
    if (ready) return ready.metadata?.name ?? '';
    if (pods[0]) { const s = podState(pods[0]); last = `${s.reason}${s.message ? `: ${s.message}` : ''}`; }
    if (Date.now() > deadline) throw o.failure(last);
    await new Promise((r) => setTimeout(r, delay));
  }
}
