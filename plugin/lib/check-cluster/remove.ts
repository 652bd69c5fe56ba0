/**
 * Removing a `check --in-cluster` run, as `down` and `gc` remove sinks: the
 * whole namespace when the run created it, otherwise only the run's objects
 * (a namespace the plugin did not create is never deleted). Idempotent:
 * something already gone is success.
 */
import { MANAGED_BY_LABEL, FIELD_MANAGER } from '../../../src/cluster-meta.ts';
import { checkRunObjectRefs } from '../../../src/check-cluster/manifests.ts';
import { evError } from '../../../src/errors.ts';
import type { KubeClient } from '../kube/adapter.ts';
import { NAMESPACE_DELETE_WAIT_MS } from '../kube/cluster-sink.ts';

/** Deletes a check run's objects from a namespace (idempotent); how many existed. */
export async function removeCheckObjects(client: KubeClient, namespace: string): Promise<number> {
  let deleted = 0;
  for (const ref of checkRunObjectRefs(namespace)) if (await client.deleteObject(ref)) deleted++;
  return deleted;
}

export type CheckRemoveOutcome = 'deleted-namespace' | 'deleted-objects' | 'absent' | 'no-check';

/** Removes the check run in `namespace` (its namespace when the run created it). */
export async function removeCheck(
  client: KubeClient,
  namespace: string,
  options: { wait?: boolean; signal?: AbortSignal } = {},
): Promise<CheckRemoveOutcome> {
  const ns = await client.getNamespace(namespace);
  if (!ns) return 'absent';
  if (ns.metadata?.labels?.[MANAGED_BY_LABEL] === FIELD_MANAGER) {
    await client.deleteNamespace(namespace);
    if (
      options.wait !== false &&
      !(await client.waitNamespaceGone(namespace, NAMESPACE_DELETE_WAIT_MS, options.signal))
    )
      throw evError(
        'EV_ERR_KUBE_API',
        `namespace ${namespace} is still terminating after ${NAMESPACE_DELETE_WAIT_MS / 1000}s`,
        {
          hint: `it will finish on its own; check with \`kubectl get namespace ${namespace}\` (often a stuck finalizer).`,
        },
      );
    return 'deleted-namespace';
  }
  return (await removeCheckObjects(client, namespace)) > 0 ? 'deleted-objects' : 'no-check';
}
