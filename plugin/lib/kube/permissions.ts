import { evError } from '../../../src/errors.ts';
import { accessChecks, describeCheck, type Activity } from '../../../src/required-access.ts';
import type { AccessCheck, KubeClient } from './adapter.ts';

/** Kubernetes minor version from which the port-forward upgrade also needs `create pods/portforward`. */
export const WEBSOCKET_CREATE_CHECK_MINOR = 35;

/** True when the server is 1.35 or newer (AuthorizePodWebsocketUpgradeCreatePermission); false when unknown. */
async function needsWebsocketCreate(client: KubeClient): Promise<boolean> {
  const version = await client.serverVersion().catch(() => '');
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m !== null && (Number(m[1]) > 1 || Number(m[2]) >= WEBSOCKET_CREATE_CHECK_MINOR);
}

/**
 * Checks permissions up front (one SelfSubjectAccessReview per right, from
 * the one list in src/required-access.ts), so a missing right is named before
 * anything is created instead of surfacing as a 403 halfway through. A user
 * without namespace-create rights learns about `-n` first. `purpose`
 * completes "use -n EXISTING_NAMESPACE to …".
 */
export async function checkPermissions(
  client: KubeClient,
  options: {
    namespace: string;
    createNamespace: boolean;
    purpose: string;
    /** What the command will do (default: `up`). */
    activities?: readonly Activity[];
    serviceMonitor?: boolean;
    /** Further rights outside the list (tests). */
    extra?: AccessCheck[];
  },
): Promise<void> {
  const { namespace, createNamespace } = options;
  const activities = options.activities ?? ['up'];
  if (createNamespace) {
    const ns = await client.canI({ verb: 'create', resource: 'namespaces' });
    if (!ns.allowed) {
      throw evError(
        'EV_ERR_KUBE_FORBIDDEN',
        `you cannot create namespaces in context "${client.resolved.context}"${ns.reason ? ` (${ns.reason})` : ''}`,
        {
          hint: `use -n EXISTING_NAMESPACE to ${options.purpose} in a namespace you can write to.`,
        },
      );
    }
  }
  const kubernetes135 =
    activities.some((a) => a === 'sink' || a === 'check-in-cluster') &&
    (await needsWebsocketCreate(client));
  const checks = [
    ...accessChecks(activities, {
      namespace,
      newNamespace: createNamespace,
      kubernetes135,
      serviceMonitor: options.serviceMonitor ?? false,
    }).filter((c) => !(createNamespace && c.verb === 'create' && c.resource === 'namespaces')),
    ...(options.extra ?? []),
  ];
  // A fixed, short list (at most ~25 reviews), so all at once.
  const results = await Promise.all(checks.map((c) => client.canI(c)));
  const denied = checks.filter((_, i) => !results[i].allowed).map(describeCheck);
  if (denied.length > 0) {
    throw evError(
      'EV_ERR_KUBE_FORBIDDEN',
      `missing permissions in namespace ${namespace}: ${denied.join(', ')}`,
      {
        hint: createNamespace
          ? 'ask for the rights in docs/cluster.md (RBAC; manifests/rbac/clusterrole.yaml), or use -n with a namespace where you have them.'
          : `ask for these rights in ${namespace} (manifests/rbac/role.yaml bound there, or the built-in "edit" ClusterRole), or choose another -n.`,
        details: { namespace, denied },
      },
    );
  }
}
