/**
 * core/v1 Events as the kubelet and the controllers record them (best
 * effort, like the real EventRecorder): a repeat of the same reason and
 * message about the same object bumps `count` on the existing Event, so a
 * crash loop or a controller retrying a refused create does not grow the
 * store without bound.
 */
import type { KubeApi } from './api.ts';
import { resolveResource } from './resources.ts';
import type { KubeObject, Store } from './store.ts';

type Obj = Record<string, any>;

export function recordEvent(
  api: KubeApi,
  store: Store,
  involved: Obj,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component: string,
): void {
  const now = store.timestamp();
  const eventsRt = resolveResource('events');
  const same = store.list(eventsRt, involved.metadata.namespace).find((e) => {
    const o = e as Obj;
    return (
      o.involvedObject?.uid === involved.metadata.uid &&
      o.reason === reason &&
      o.message === message
    );
  }) as Obj | undefined;
  if (same) {
    same.count = (same.count ?? 1) + 1;
    same.lastTimestamp = now;
    store.update(eventsRt, same as KubeObject);
    return;
  }
  const host = component === 'kubelet' ? { host: 'fake-node' } : {};
  try {
    api.createObject(eventsRt, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        generateName: `${involved.metadata.name}.`,
        namespace: involved.metadata.namespace,
      },
      involvedObject: {
        kind: involved.kind,
        namespace: involved.metadata.namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component, ...host },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? 'fake-node' : '',
    });
  } catch {
    // Terminating namespace: events are dropped, as on a real cluster.
  }
}
