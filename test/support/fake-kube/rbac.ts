/**
 * Authentication (bearer token -> user) and RBAC authorization, as a real API
 * server does them for the requests our clients make:
 *
 * - Request attributes: the verb from the HTTP method (GET one = get, GET
 *   many = list, `watch` = watch, POST = create, PUT = update, PATCH = patch,
 *   DELETE one = delete, DELETE many = deletecollection), resource,
 *   subresource (`pods/log`, `pods/portforward`), namespace and name
 *   (k8s.io/apiserver `endpoints/request/requestinfo.go`).
 * - Rules: verbs, apiGroups, resources (`*`, `res/sub`, `*\/sub`) and
 *   resourceNames matched as `rbac/v1/evaluation_helpers.go` does; a
 *   RoleBinding grants its Role or ClusterRole in its own namespace only, a
 *   ClusterRoleBinding everywhere; subjects are Users, Groups and
 *   ServiceAccounts (`system:serviceaccount:NS:NAME`).
 * - Denials read as `responsewriters/errors.go` words them: `User "u" cannot
 *   patch resource "deployments" in API group "apps" in the namespace "ns"`.
 *
 * The fake's own token is an admin in `system:masters` (always allowed, as
 * on a real server). Other users are registered with `addUser` and get only
 * what RBAC objects grant. Non-resource URLs (discovery, /version) are open to
 * every authenticated user, as the bootstrap `system:discovery` and
 * `system:public-info-viewer` roles make them on a real cluster.
 */
import { randomBytes } from 'node:crypto';
import { resolveResource } from './resources.ts';
import type { KubeObject, Store } from './store.ts';

type Obj = Record<string, any>;

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Decision {
  allowed: boolean;
  /** Why (RBAC's wording: `allowed by RoleBinding "b/ns" of Role "r" to User "u"`); empty when denied. */
  reason: string;
}

export const MASTERS_GROUP = 'system:masters';
export const AUTHENTICATED_GROUP = 'system:authenticated';

const MUTATE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ = ['get', 'list', 'watch'];

/**
 * The bootstrap ClusterRoles that matter to our clients, with the rules of
 * kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go
 * (aggregated edit/view rules flattened, limited to the kinds the fake serves
 * plus the usual neighbours).
 */
function bootstrapClusterRoles(): Array<{ name: string; rules: PolicyRule[] }> {
  const view: PolicyRule[] = [
    {
      apiGroups: [''],
      resources: [
        'configmaps',
        'endpoints',
        'persistentvolumeclaims',
        'persistentvolumeclaims/status',
        'pods',
        'replicationcontrollers',
        'replicationcontrollers/scale',
        'serviceaccounts',
        'services',
        'services/status',
      ],
      verbs: READ,
    },
    {
      apiGroups: [''],
      resources: [
        'bindings',
        'events',
        'limitranges',
        'namespaces/status',
        'pods/log',
        'pods/status',
        'replicationcontrollers/status',
        'resourcequotas',
        'resourcequotas/status',
      ],
      verbs: READ,
    },
    { apiGroups: [''], resources: ['namespaces'], verbs: READ },
    {
      apiGroups: ['apps'],
      resources: [
        'controllerrevisions',
        'daemonsets',
        'daemonsets/status',
        'deployments',
        'deployments/scale',
        'deployments/status',
        'replicasets',
        'replicasets/scale',
        'replicasets/status',
        'statefulsets',
        'statefulsets/scale',
        'statefulsets/status',
      ],
      verbs: READ,
    },
    {
      apiGroups: ['batch'],
      resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'],
      verbs: READ,
    },
    {
      apiGroups: ['networking.k8s.io'],
      resources: ['ingresses', 'ingresses/status', 'networkpolicies'],
      verbs: READ,
    },
  ];
  const edit: PolicyRule[] = [
    {
      apiGroups: [''],
      resources: [
        'pods/attach',
        'pods/exec',
        'pods/portforward',
        'pods/proxy',
        'secrets',
        'services/proxy',
      ],
      verbs: READ,
    },
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
    {
      apiGroups: [''],
      resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'],
      verbs: MUTATE,
    },
    { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    {
      apiGroups: [''],
      resources: [
        'configmaps',
        'events',
        'persistentvolumeclaims',
        'replicationcontrollers',
        'replicationcontrollers/scale',
        'secrets',
        'serviceaccounts',
        'services',
        'services/proxy',
      ],
      verbs: MUTATE,
    },
    { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
    {
      apiGroups: ['apps'],
      resources: [
        'daemonsets',
        'deployments',
        'deployments/rollback',
        'deployments/scale',
        'replicasets',
        'replicasets/scale',
        'statefulsets',
        'statefulsets/scale',
      ],
      verbs: MUTATE,
    },
    { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: MUTATE },
    {
      apiGroups: ['networking.k8s.io'],
      resources: ['ingresses', 'networkpolicies'],
      verbs: MUTATE,
    },
    ...view,
  ];
  const admin: PolicyRule[] = [
    {
      apiGroups: ['authorization.k8s.io'],
      resources: ['localsubjectaccessreviews'],
      verbs: ['create'],
    },
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['rolebindings', 'roles'],
      verbs: [...MUTATE, ...READ],
    },
    ...edit,
  ];
  return [
    {
      name: 'cluster-admin',
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    },
    { name: 'admin', rules: admin },
    { name: 'edit', rules: edit },
    { name: 'view', rules: view },
    {
      name: 'system:basic-user',
      rules: [
        {
          apiGroups: ['authorization.k8s.io'],
          resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
          verbs: ['create'],
        },
      ],
    },
  ];
}

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

/** Objects a fresh cluster has: the bootstrap ClusterRoles and their bindings. */
export function bootstrapRbacObjects(): KubeObject[] {
  const roles: KubeObject[] = bootstrapClusterRoles().map(({ name, rules }) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABELS },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
    rules,
  }));
  const binding = (name: string, role: string, group: string): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABELS },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  });
  return [
    ...roles,
    binding('cluster-admin', 'cluster-admin', MASTERS_GROUP),
    binding('system:basic-user', 'system:basic-user', AUTHENTICATED_GROUP),
  ];
}

function has(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((x) => x === '*' || x === value);
}

/** ResourceMatches in evaluation_helpers.go: `*`, the combined `res/sub`, or `*\/sub`. */
function resourceMatches(
  rule: PolicyRule,
  resource: string,
  subresource: string | undefined,
): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some(
    (r) => r === '*' || r === combined || (subresource !== undefined && r === `*/${subresource}`),
  );
}

export function ruleAllows(rule: PolicyRule, a: ResourceAttributes): boolean {
  if (
    !has(rule.verbs, a.verb) ||
    !has(rule.apiGroups, a.group) ||
    !resourceMatches(rule, a.resource, a.subresource)
  )
    return false;
  if ((rule.resourceNames ?? []).length === 0) return true;
  return a.name !== undefined && a.name !== '' && rule.resourceNames!.includes(a.name);
}

/** `User "u" cannot VERB resource "R[/S]" in API group "G" in the namespace "NS"` (or `at the cluster scope`). */
export function forbiddenReason(user: UserInfo, a: ResourceAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`;
}

export class Authorizer {
  private readonly store: Store;
  private readonly tokens = new Map<string, UserInfo>();

  constructor(store: Store) {
    this.store = store;
  }

  /** Registers a bearer token for a user; the token is random unless given. */
  addUser(name: string, options: { groups?: string[]; token?: string } = {}): string {
    const token = options.token ?? randomBytes(24).toString('hex');
    this.tokens.set(token, { name, groups: [...(options.groups ?? []), AUTHENTICATED_GROUP] });
    return token;
  }

  /** The user a bearer token belongs to, or undefined (401). */
  authenticate(token: string): UserInfo | undefined {
    return this.tokens.get(token);
  }

  private subjectMatches(
    subject: Obj,
    user: UserInfo,
    bindingNamespace: string | undefined,
  ): boolean {
    switch (subject.kind) {
      case 'User':
        return subject.name === user.name;
      case 'Group':
        return user.groups.includes(String(subject.name));
      case 'ServiceAccount':
        return (
          user.name ===
          `system:serviceaccount:${subject.namespace ?? bindingNamespace ?? ''}:${subject.name}`
        );
      default:
        return false;
    }
  }

  private roleRules(
    roleRef: Obj,
    namespace: string | undefined,
  ): { rules: PolicyRule[]; describe: string } | undefined {
    if (roleRef.kind === 'ClusterRole') {
      const r = this.store.get(resolveResource('clusterroles'), undefined, String(roleRef.name)) as
        Obj | undefined;
      return r ? { rules: r.rules ?? [], describe: `ClusterRole "${roleRef.name}"` } : undefined;
    }
    if (roleRef.kind === 'Role' && namespace) {
      const r = this.store.get(resolveResource('roles'), namespace, String(roleRef.name)) as
        Obj | undefined;
      return r ? { rules: r.rules ?? [], describe: `Role "${roleRef.name}"` } : undefined;
    }
    return undefined;
  }

  /** Every (rules, why) that applies to the user in a namespace (cluster-wide bindings included). */
  private grants(
    user: UserInfo,
    namespace: string | undefined,
  ): Array<{ rules: PolicyRule[]; why: string }> {
    const out: Array<{ rules: PolicyRule[]; why: string }> = [];
    for (const b of this.store.list(resolveResource('clusterrolebindings')) as Obj[]) {
      const subject = (b.subjects ?? []).find((s: Obj) => this.subjectMatches(s, user, undefined));
      if (!subject) continue;
      const role = this.roleRules(b.roleRef ?? {}, undefined);
      if (role)
        out.push({
          rules: role.rules,
          why: `ClusterRoleBinding "${b.metadata.name}" of ${role.describe} to ${subject.kind} "${subject.name}"`,
        });
    }
    if (namespace) {
      for (const b of this.store.list(resolveResource('rolebindings'), namespace) as Obj[]) {
        const subject = (b.subjects ?? []).find((s: Obj) =>
          this.subjectMatches(s, user, namespace),
        );
        if (!subject) continue;
        const role = this.roleRules(b.roleRef ?? {}, namespace);
        if (role)
          out.push({
            rules: role.rules,
            why: `RoleBinding "${b.metadata.name}/${namespace}" of ${role.describe} to ${subject.kind} "${subject.name}"`,
          });
      }
    }
    return out;
  }

  authorize(user: UserInfo, a: ResourceAttributes): Decision {
    if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: '' };
    for (const g of this.grants(user, a.namespace)) {
      if (g.rules.some((r) => ruleAllows(r, a)))
        return { allowed: true, reason: `RBAC: allowed by ${g.why}` };
    }
    return { allowed: false, reason: '' };
  }

  /** SelfSubjectRulesReview: the resource rules that apply in `namespace` (what `kubectl auth can-i --list` prints). */
  rulesFor(
    user: UserInfo,
    namespace: string | undefined,
  ): { resourceRules: PolicyRule[]; nonResourceRules: PolicyRule[] } {
    if (user.groups.includes(MASTERS_GROUP)) {
      return {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      };
    }
    const resourceRules: PolicyRule[] = [];
    const nonResourceRules: PolicyRule[] = [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ];
    for (const g of this.grants(user, namespace)) {
      for (const r of g.rules) {
        if (r.nonResourceURLs)
          nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
        else
          resourceRules.push({
            verbs: r.verbs,
            apiGroups: r.apiGroups ?? [],
            resources: r.resources ?? [],
            ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
          });
      }
    }
    return { resourceRules, nonResourceRules };
  }
}
