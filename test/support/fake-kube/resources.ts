/**
 * The resource types the fake serves: one table drives discovery, routing,
 * Status messages and the store's keys.
 */

export interface Subresource {
  name: string;
  kind: string;
  verbs: string[];
  /** Group/version of the subresource's kind when it differs (Scale). */
  group?: string;
  version?: string;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: Subresource[];
  /** True when spec and status are written through different endpoints. */
  hasStatus?: boolean;
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCE_TYPES: readonly ResourceType[] = Object.freeze([
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['ns'],
    hasStatus: true,
    subresources: [
      { name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] },
      { name: 'finalize', kind: 'Namespace', verbs: ['update'] },
    ],
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['po'],
    categories: ['all'],
    hasStatus: true,
    subresources: [
      { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
    ],
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['svc'],
    categories: ['all'],
    hasStatus: true,
    subresources: [{ name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['cm'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    namespaced: true,
    verbs: CRUD,
  },
  {
    group: '',
    version: 'v1',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    kind: 'ServiceAccount',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['sa'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['ev'],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['deploy'],
    categories: ['all'],
    hasStatus: true,
    subresources: [
      { name: 'status', kind: 'Deployment', verbs: ['get', 'patch', 'update'] },
      {
        name: 'scale',
        kind: 'Scale',
        group: 'autoscaling',
        version: 'v1',
        verbs: ['get', 'patch', 'update'],
      },
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    singular: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['rs'],
    categories: ['all'],
    hasStatus: true,
    subresources: [{ name: 'status', kind: 'ReplicaSet', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: 'batch',
    version: 'v1',
    plural: 'jobs',
    singular: 'job',
    kind: 'Job',
    namespaced: true,
    verbs: CRUD,
    categories: ['all'],
    hasStatus: true,
    subresources: [{ name: 'status', kind: 'Job', verbs: ['get', 'patch', 'update'] }],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    kind: 'NetworkPolicy',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['netpol'],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    plural: 'selfsubjectaccessreviews',
    singular: 'selfsubjectaccessreview',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    plural: 'selfsubjectrulesreviews',
    singular: 'selfsubjectrulesreview',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'clusterrolebindings',
    singular: 'clusterrolebinding',
    kind: 'ClusterRoleBinding',
    namespaced: false,
    verbs: CRUD,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'clusterroles',
    singular: 'clusterrole',
    kind: 'ClusterRole',
    namespaced: false,
    verbs: CRUD,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'rolebindings',
    singular: 'rolebinding',
    kind: 'RoleBinding',
    namespaced: true,
    verbs: CRUD,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'roles',
    singular: 'role',
    kind: 'Role',
    namespaced: true,
    verbs: CRUD,
  },
  {
    group: 'monitoring.coreos.com',
    version: 'v1',
    plural: 'servicemonitors',
    singular: 'servicemonitor',
    kind: 'ServiceMonitor',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['smon'],
    categories: ['all', 'prometheus-operator'],
  },
] satisfies ResourceType[]);

export function apiVersionOf(rt: ResourceType): string {
  return rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
}

export function findResource(
  group: string,
  version: string,
  plural: string,
): ResourceType | undefined {
  return RESOURCE_TYPES.find(
    (r) => r.group === group && r.version === version && r.plural === plural,
  );
}

export function findByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/**
 * Resolve a short handle used by tests: `pods`, `pod`, `Pod`, `deploy`,
 * `deployments.apps`.
 */
export function resolveResource(handle: string): ResourceType {
  const [name, ...groupParts] = handle.split('.');
  const group = groupParts.join('.');
  const found = RESOURCE_TYPES.find(
    (r) =>
      (groupParts.length === 0 || r.group === group) &&
      (r.plural === name ||
        r.singular === name ||
        r.kind === name ||
        (r.shortNames ?? []).includes(name)),
  );
  if (!found) throw new Error(`fake-kube: unknown resource ${JSON.stringify(handle)}`);
  return found;
}

export function groupsInOrder(): Array<{ group: string; version: string }> {
  const seen = new Map<string, string>();
  for (const r of RESOURCE_TYPES)
    if (r.group !== '' && !seen.has(r.group)) seen.set(r.group, r.version);
  return [...seen].map(([group, version]) => ({ group, version }));
}
