/**
 * The lifecycle of what a command deploys for a while (`up` and `check
 * --in-cluster`): create the namespace (unless an existing one was named),
 * apply the objects in order, wait for a pod to be ready, and remove what was
 * created on failure, on Ctrl-C (through the interrupt handler's registry) or
 * when the caller is done. Only a
 * namespace this call created is ever deleted (a 409 means someone else's);
 * in an existing namespace only the objects applied are.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { evError } from '../../../src/errors.ts';
import type { KubeObject } from '../../../src/manifests.ts';
import type { KubeClient } from './adapter.ts';
import { isPodReady, podState } from './readiness.ts';
import { retryTransient, transientLabel } from './transient.ts';
import { systemClock } from '../../../src/system-clock.ts';

/** How long the removal (and `down`) waits for a deleted namespace to finish terminating. */
export const NAMESPACE_GONE_WAIT_MS = 60_000;

export interface CleanupRegistry {
  register(label: string, run: () => Promise<void>): () => void;
}

export interface EphemeralDeployment {
  namespace: string;
  /** True once the namespace (or the first object in an existing one) was created here. */
  readonly created: boolean;
  /** What removal deletes, for messages ("namespace X" / "the check objects in namespace X"). */
  label: string;
  /**
   * Creates the namespace if needed and applies `objects` in order (server-side
   * apply; a transient API error is retried). Registers the removal with the
   * interrupt handler before the first object is created.
   */
  apply(objects: KubeObject[], signal?: AbortSignal): Promise<void>;
  /** Removes what was created (nothing when nothing was); may be passed around unbound. */
  destroy: () => Promise<void>;
  /** Unregisters from the interrupt handler: what was created is meant to stay (or the caller removes it). */
  release(): void;
}

export interface EphemeralOptions {
  client: KubeClient;
  namespace: string;
  createNamespace: boolean;
  /** What the objects are, e.g. "the check objects". */
  what: string;
  /** Ctrl-C removes what was created (leave out to keep it, e.g. with --keep). */
  cleanups?: CleanupRegistry;
  /** Progress lines. */
  onStatus?: (line: string) => void;
  /** Applies one object (default: server-side apply, transient errors retried). */
  applyOne?: (obj: KubeObject, signal?: AbortSignal) => Promise<void>;
  /** Removal in an existing namespace (default: the objects applied, newest first). */
  removeObjects?: () => Promise<unknown>;
}

export function ephemeralDeployment(o: EphemeralOptions): EphemeralDeployment {
  const status = o.onStatus ?? (() => {});
  const applied: KubeObject[] = [];
  // A Ctrl-C can land while the namespace create is in flight: the removal waits for it to settle.
  let creating: Promise<unknown> | undefined;
  let created = false;
  let unregister: (() => void) | undefined;
  const label = o.createNamespace
    ? `namespace ${o.namespace}`
    : `${o.what} in namespace ${o.namespace}`;
  const applyOne =
    o.applyOne ??
    ((obj: KubeObject, signal?: AbortSignal) =>
      retryTransient(() => o.client.apply(obj), {
        clock: systemClock,
        signal,
        onRetry: (err) =>
          status(
            `the API server answered ${transientLabel(err)} to the apply of ${obj.kind} ${obj.metadata.name}; trying again…`,
          ),
      }).then(() => undefined));
  const destroy = async (): Promise<void> => {
    unregister?.();
    unregister = undefined;
    await creating?.catch(() => {});
    if (!created) return;
    if (o.createNamespace) {
      await o.client.deleteNamespace(o.namespace);
      await o.client.waitNamespaceGone(o.namespace, NAMESPACE_GONE_WAIT_MS);
    } else if (o.removeObjects) {
      await o.removeObjects();
    } else {
      for (const obj of [...applied].reverse()) await o.client.deleteObject(obj);
    }
  };
  return {
    namespace: o.namespace,
    get created() {
      return created;
    },
    label,
    async apply(objects, signal) {
      for (const obj of objects) {
        if (signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
        if (!unregister && o.cleanups) unregister = o.cleanups.register(label, destroy);
        if (obj.kind === 'Namespace') {
          status(`creating namespace ${o.namespace}…`);
          // Only a namespace this call created is ever deleted (a 409 means someone else's).
          creating = o.client.createNamespace(obj).then(() => {
            created = true;
          });
          await creating;
          continue;
        }
        if (!o.createNamespace) created = true;
        applied.push(obj);
        await applyOne(obj, signal);
      }
    },
    destroy,
    release() {
      unregister?.();
      unregister = undefined;
    },
  };
}

export interface WaitPodOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Error raised at the deadline (the pod's last reason is appended). */
  failure: (reason: string) => Error;
}

/** Waits for a ready pod matching `selector`; resolves to its name. */
export async function waitPodReady(
  client: KubeClient,
  namespace: string,
  selector: string,
  o: WaitPodOptions,
): Promise<string> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'Pending';
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
    if (o.signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
    const pods: V1Pod[] = await client.listPods(namespace, selector);
    const ready = pods.find((p) => isPodReady(p) && !p.metadata?.deletionTimestamp);
    if (ready) return ready.metadata?.name ?? '';
    if (pods[0]) {
      const s = podState(pods[0]);
      last = `${s.reason}${s.message ? `: ${s.message}` : ''}`;
    }
    if (Date.now() > deadline) throw o.failure(last);
    await new Promise((r) => setTimeout(r, delay));
  }
}
