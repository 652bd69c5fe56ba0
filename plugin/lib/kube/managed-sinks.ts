/**
 * What `status`, `down` and `gc` do: find the managed sinks in a context,
 * delete one (idempotently, never a namespace we did not create), and delete
 * the expired ones.
 */
import {
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  SINK_NAME,
  SINK_POD_SELECTOR,
  TTL_ANNOTATION,
  isExpired,
  readLifetime,
} from '../../../src/cluster-meta.ts';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import type { KubeClient, V1Deployment, V1Namespace } from './adapter.ts';
import { isPodReady } from './readiness.ts';
import { NAMESPACE_DELETE_WAIT_MS } from './cluster-sink.ts';

export interface SinkSummary {
  namespace: string;
  /** True when the namespace itself was created by `up` (deleting the sink deletes it). */
  managedNamespace: boolean;
  createdAt: string | null;
  expiresAt: string | null;
  ttl: string | null;
  expired: boolean;
  ready: number;
  desired: number;
  /** Namespace is being deleted. */
  terminating: boolean;
}

function isManaged(labels: Record<string, string> | undefined): boolean {
  return labels?.[MANAGED_BY_LABEL] === FIELD_MANAGER;
}

/**
 * Every managed sink visible: managed namespaces (cluster-wide list) plus
 * sink Deployments in other namespaces (`up -n`). With `namespace`, only that one.
 */
export async function listSinks(
  client: KubeClient,
  now: Date,
  namespace?: string,
): Promise<SinkSummary[]> {
  let namespaces: V1Namespace[] = [];
  let deployments: V1Deployment[] = [];
  if (namespace) {
    const ns = await client.getNamespace(namespace).catch(() => undefined);
    if (ns && isManaged(ns.metadata?.labels)) namespaces = [ns];
    deployments = await client.listManagedDeployments(namespace);
  } else {
    try {
      namespaces = await client.listManagedNamespaces();
      deployments = await client.listManagedDeployments();
    } catch (err) {
      if (!(isEmailValidateError(err) && err.code === 'EV_ERR_KUBE_FORBIDDEN')) throw err;
      // Without cluster-wide rights, look in the context's namespace.
      return listSinks(client, now, client.namespace);
    }
  }
  const byNs = new Map<string, SinkSummary>();
  for (const ns of namespaces) {
    const name = ns.metadata?.name ?? '';
    const created = ns.metadata?.creationTimestamp
      ? new Date(ns.metadata.creationTimestamp)
      : undefined;
    byNs.set(
      name,
      summary(
        name,
        true,
        ns.metadata?.annotations,
        created,
        now,
        ns.status?.phase === 'Terminating' || Boolean(ns.metadata?.deletionTimestamp),
      ),
    );
  }
  for (const d of deployments) {
    if (d.metadata?.name !== SINK_NAME) continue;
    const name = d.metadata.namespace ?? '';
    const created = d.metadata.creationTimestamp
      ? new Date(d.metadata.creationTimestamp)
      : undefined;
    const s = byNs.get(name) ?? summary(name, false, d.metadata.annotations, created, now, false);
    s.desired = d.spec?.replicas ?? 1;
    byNs.set(name, s);
  }
  const list = [...byNs.values()].sort(
    (a, b) =>
      (a.createdAt ?? '').localeCompare(b.createdAt ?? '') ||
      a.namespace.localeCompare(b.namespace),
  );
  await Promise.all(
    list.map(async (s) => {
      if (s.terminating) return;
      try {
        s.ready = (await client.listPods(s.namespace, SINK_POD_SELECTOR)).filter(isPodReady).length;
      } catch {
        /* best effort */
      }
    }),
  );
  return list;
}

function summary(
  namespace: string,
  managedNamespace: boolean,
  annotations: Record<string, string> | undefined,
  created: Date | undefined,
  now: Date,
  terminating: boolean,
): SinkSummary {
  const life = readLifetime(annotations, created);
  return {
    namespace,
    managedNamespace,
    createdAt: life.createdAt?.toISOString() ?? null,
    expiresAt: life.expiresAt?.toISOString() ?? null,
    ttl: annotations?.[TTL_ANNOTATION] ?? null,
    expired: isExpired(annotations, now, created),
    ready: 0,
    desired: 0,
    terminating,
  };
}

export type RemoveOutcome = 'deleted-namespace' | 'deleted-objects' | 'absent' | 'no-sink';

/**
 * Removes the sink in `namespace`: the whole namespace when `up` created it,
 * otherwise only our objects in it (a namespace we did not create is never
 * deleted). A missing namespace (`absent`) or sink (`no-sink`) is success.
 */
export async function removeSink(
  client: KubeClient,
  namespace: string,
  options: { wait?: boolean; signal?: AbortSignal } = {},
): Promise<RemoveOutcome> {
  const ns = await client.getNamespace(namespace);
  if (!ns) return 'absent';
  if (isManaged(ns.metadata?.labels)) {
    await client.deleteNamespace(namespace);
    if (
      options.wait !== false &&
      !(await client.waitNamespaceGone(namespace, NAMESPACE_DELETE_WAIT_MS, options.signal))
    ) {
      throw evError(
        'EV_ERR_KUBE_API',
        `namespace ${namespace} is still terminating after ${NAMESPACE_DELETE_WAIT_MS / 1000}s`,
        {
          hint: `it will finish on its own; check with \`kubectl get namespace ${namespace}\` (often a stuck finalizer).`,
        },
      );
    }
    return 'deleted-namespace';
  }
  const deleted = await client.deleteSinkObjects(namespace);
  return deleted > 0 ? 'deleted-objects' : 'no-sink';
}
