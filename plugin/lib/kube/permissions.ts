import { evError } from '../../../src/errors.ts';
import type { AccessCheck, KubeClient } from './adapter.ts';

/** What every workload of ours needs in its namespace: objects, pod listing, port-forward. */
export function baseAccess(namespace: string): AccessCheck[] {
  return [
    { verb: 'create', resource: 'deployments', group: 'apps', namespace },
    { verb: 'create', resource: 'services', namespace },
    { verb: 'create', resource: 'configmaps', namespace },
    { verb: 'create', resource: 'secrets', namespace },
    { verb: 'create', resource: 'networkpolicies', group: 'networking.k8s.io', namespace },
    { verb: 'list', resource: 'pods', namespace },
    { verb: 'create', resource: 'pods', subresource: 'portforward', namespace },
  ];
}

function describeAccess(c: AccessCheck): string {
  return `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ''}`;
}

/**
 * Checks permissions up front (SelfSubjectAccessReview), so a user without
 * namespace-create rights learns about `-n` before anything is created, and a
 * missing right is named instead of surfacing as a 403 halfway through.
 * `purpose` completes "use -n EXISTING_NAMESPACE to …".
 */
export async function checkPermissions(client: KubeClient, options: {
  namespace: string; createNamespace: boolean; purpose: string; extra?: AccessCheck[];
}): Promise<void> {
  const { namespace, createNamespace } = options;
  if (createNamespace) {
    const ns = await client.canI({ verb: 'create', resource: 'namespaces' });
    if (!ns.allowed) {
      throw evError('EV_ERR_KUBE_FORBIDDEN', `you cannot create namespaces in context "${client.resolved.context}"${ns.reason ? ` (${ns.reason})` : ''}`, {
        hint: `use -n EXISTING_NAMESPACE to ${options.purpose} in a namespace you can write to.`,
      });
    }
  }
  const checks = [...baseAccess(namespace), ...(options.extra ?? [])];
  const results = await Promise.all(checks.map((c) => client.canI(c)));
  const denied = checks.filter((_, i) => !results[i]!.allowed).map(describeAccess);
  if (denied.length > 0) {
    throw evError('EV_ERR_KUBE_FORBIDDEN', `missing permissions in namespace ${namespace}: ${denied.join(', ')}`, {
      hint: createNamespace ? 'ask for the RBAC rights listed in docs/cluster.md, or use -n with a namespace where you have them.'
        : `ask for these rights in ${namespace} (a RoleBinding to the "edit" ClusterRole is enough), or choose another -n.`,
      details: { namespace, denied },
    });
  }
}
