/**
 * The one list of Kubernetes rights the plugin needs, per activity, with the
 * verbs the API server really authorises (server-side apply is `patch`, plus
 * `create` when the object is new; the WebSocket port-forward is a GET, so
 * `get` on `pods/portforward`, plus `create` from Kubernetes 1.35 behind
 * AuthorizePodWebsocketUpgradeCreatePermission; `delete` for cleanup).
 *
 * From it come: the permission pre-check (plugin/lib/kube/permissions.ts),
 * the RBAC table in docs/cluster.md and the example Role and ClusterRole in
 * manifests/rbac/ (both kept in sync by tests). Pure data and rendering.
 */
import { stringify } from 'yaml';

/** What a command does that needs rights. */
export type Activity =
  /** `up` (and `run` without -n, which creates a sink the same way). */
  | 'up'
  /** Reaching an existing sink: `tail`, `send`, `messages`, `rules`, `run -n`. */
  | 'sink'
  /** A flow's `job` step (`run` with a job step). */
  | 'job'
  /** `down` (and the cleanup of a failed `up` or `run`). */
  | 'down'
  /** `check --in-cluster`. */
  | 'check-in-cluster'
  /** `status`, `gc`, `down --all`: listing the sinks (cluster-wide, falling back to the context's namespace; or -n). */
  | 'list-all'
  /** A flow's `http` step to `http://NAME.NS.svc…` (rights in that service's namespace; not pre-checked). */
  | 'service-http';

/** When an entry applies beyond its activities. */
export type Condition =
  /** Only when the command creates its own namespace (no -n). */
  | 'new-namespace'
  /** Only with -n NAMESPACE (an existing namespace). */
  | 'existing-namespace'
  /** Only from Kubernetes 1.35 (AuthorizePodWebsocketUpgradeCreatePermission). */
  | 'kubernetes-1.35'
  /** Only with `up --service-monitor` (best effort: a warning, not a failure, without it). */
  | 'service-monitor';

export interface AccessEntry {
  group: string;
  resource: string;
  subresource?: string;
  verbs: readonly string[];
  /** `namespace`: inside the sink's namespace (a Role works); `cluster`: cluster-wide (a ClusterRoleBinding). */
  scope: 'namespace' | 'cluster';
  activities: readonly Activity[];
  when?: Condition;
  why: string;
}

const CLEANUP = ['up', 'down', 'check-in-cluster'] as const;

/** The list. Order is the order of the docs table and of the Role's rules. */
export const REQUIRED_ACCESS: readonly AccessEntry[] = Object.freeze([
  {
    group: '',
    resource: 'namespaces',
    verbs: ['create'],
    scope: 'cluster',
    activities: ['up', 'check-in-cluster'],
    when: 'new-namespace',
    why: 'create the ephemeral namespace',
  },
  {
    group: '',
    resource: 'namespaces',
    verbs: ['delete'],
    scope: 'cluster',
    activities: ['up', 'down', 'check-in-cluster'],
    when: 'new-namespace',
    why: 'delete the namespace the plugin created (`down`, cleanup)',
  },
  {
    group: '',
    resource: 'namespaces',
    verbs: ['get'],
    scope: 'namespace',
    activities: ['up', 'down', 'check-in-cluster'],
    why: 'check that -n exists; wait until a deleted namespace is gone',
  },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['patch', 'create'],
    scope: 'namespace',
    activities: ['up', 'check-in-cluster'],
    why: 'server-side apply of the bundle and rules',
  },
  {
    group: '',
    resource: 'secrets',
    verbs: ['patch', 'create'],
    scope: 'namespace',
    activities: ['up', 'check-in-cluster'],
    why: "server-side apply of the API token / the check's Redis password and `--provider` credentials",
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['patch', 'create'],
    scope: 'namespace',
    activities: ['up', 'check-in-cluster'],
    why: "server-side apply of the sink / the check's Redis",
  },
  {
    group: '',
    resource: 'services',
    verbs: ['patch', 'create'],
    scope: 'namespace',
    activities: ['up', 'check-in-cluster'],
    why: 'server-side apply of the Service',
  },
  {
    group: 'networking.k8s.io',
    resource: 'networkpolicies',
    verbs: ['patch', 'create'],
    scope: 'namespace',
    activities: ['up', 'check-in-cluster'],
    why: 'server-side apply of the NetworkPolicy',
  },
  {
    group: 'monitoring.coreos.com',
    resource: 'servicemonitors',
    verbs: ['patch', 'create', 'delete'],
    scope: 'namespace',
    activities: ['up'],
    when: 'service-monitor',
    why: '`up --service-monitor` (a warning, not a failure, without it)',
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['get'],
    scope: 'namespace',
    activities: ['up', 'sink'],
    why: 'find the sink, wait for its rollout',
  },
  {
    group: '',
    resource: 'pods',
    verbs: ['list'],
    scope: 'namespace',
    activities: ['up', 'sink', 'job', 'check-in-cluster', 'service-http'],
    why: 'find ready pods',
  },
  {
    group: '',
    resource: 'secrets',
    verbs: ['get'],
    scope: 'namespace',
    activities: ['sink', 'check-in-cluster'],
    why: "read the sink's API token / the check's Redis password (`check --attach`)",
  },
  {
    group: '',
    resource: 'pods',
    subresource: 'portforward',
    verbs: ['get'],
    scope: 'namespace',
    activities: ['sink', 'check-in-cluster', 'service-http'],
    why: 'the WebSocket port-forward (an HTTP GET)',
  },
  {
    group: '',
    resource: 'pods',
    subresource: 'portforward',
    verbs: ['create'],
    scope: 'namespace',
    activities: ['sink', 'check-in-cluster', 'service-http'],
    when: 'kubernetes-1.35',
    why: 'the same upgrade from Kubernetes 1.35 (AuthorizePodWebsocketUpgradeCreatePermission)',
  },
  {
    group: 'batch',
    resource: 'jobs',
    verbs: ['patch', 'create', 'get', 'delete'],
    scope: 'namespace',
    activities: ['job', 'check-in-cluster'],
    why: 'run a job step / the check shards, read their status, remove them',
  },
  {
    group: '',
    resource: 'pods',
    subresource: 'log',
    verbs: ['get'],
    scope: 'namespace',
    activities: ['job'],
    why: "show a job step's log",
  },
  {
    group: '',
    resource: 'events',
    verbs: ['list'],
    scope: 'namespace',
    activities: ['job'],
    why: "say why a job step's pod was not created",
  },
  {
    group: '',
    resource: 'services',
    verbs: ['get'],
    scope: 'namespace',
    activities: ['service-http'],
    why: 'find the pods behind a `http://NAME.NS.svc` URL',
  },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['delete'],
    scope: 'namespace',
    activities: CLEANUP,
    when: 'existing-namespace',
    why: "remove the plugin's objects from a namespace it did not create",
  },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['list'],
    scope: 'namespace',
    activities: ['up', 'down'],
    when: 'existing-namespace',
    why: "find the plugin's ConfigMaps to remove",
  },
  {
    group: '',
    resource: 'secrets',
    verbs: ['delete'],
    scope: 'namespace',
    activities: CLEANUP,
    when: 'existing-namespace',
    why: 'cleanup',
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['delete'],
    scope: 'namespace',
    activities: CLEANUP,
    when: 'existing-namespace',
    why: 'cleanup',
  },
  {
    group: '',
    resource: 'services',
    verbs: ['delete'],
    scope: 'namespace',
    activities: CLEANUP,
    when: 'existing-namespace',
    why: 'cleanup',
  },
  {
    group: 'networking.k8s.io',
    resource: 'networkpolicies',
    verbs: ['delete'],
    scope: 'namespace',
    activities: CLEANUP,
    when: 'existing-namespace',
    why: 'cleanup',
  },
  {
    group: 'batch',
    resource: 'jobs',
    verbs: ['delete'],
    scope: 'namespace',
    activities: ['down'],
    when: 'existing-namespace',
    why: "remove a check's shards from a namespace the plugin did not create (`down`, `gc`)",
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['list'],
    scope: 'namespace',
    activities: ['list-all'],
    why: "`status` (and `down --all`) in one namespace: the context's or -n",
  },
  {
    group: '',
    resource: 'namespaces',
    verbs: ['list'],
    scope: 'cluster',
    activities: ['list-all'],
    why: "list every sink (optional: falls back to the context's namespace)",
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['list'],
    scope: 'cluster',
    activities: ['list-all'],
    why: 'list every sink; find the sink without -n (optional, as above)',
  },
] satisfies AccessEntry[]);

/** One SelfSubjectAccessReview's worth: a verb on a resource. */
export interface AccessCheck {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  subresource?: string;
}

export interface AccessContext {
  namespace: string;
  /** The command creates its namespace (no -n). */
  newNamespace: boolean;
  /** The server is Kubernetes 1.35 or newer. */
  kubernetes135?: boolean;
  serviceMonitor?: boolean;
}

/**
 * The checks the pre-check makes for these activities, in list order. Only
 * what the command cannot do without is included: the optional cluster-wide
 * lists (`list-all`) never are.
 */
export function accessChecks(activities: readonly Activity[], ctx: AccessContext): AccessCheck[] {
  const out: AccessCheck[] = [];
  const seen = new Set<string>();
  for (const e of REQUIRED_ACCESS) {
    if (
      !e.activities.some((a) => activities.includes(a) && a !== 'list-all' && a !== 'service-http')
    )
      continue;
    if (e.when === 'new-namespace' && !ctx.newNamespace) continue;
    if (e.when === 'existing-namespace' && ctx.newNamespace) continue;
    if (e.when === 'kubernetes-1.35' && !ctx.kubernetes135) continue;
    if (e.when === 'service-monitor' && !ctx.serviceMonitor) continue;
    for (const verb of e.verbs) {
      const check: AccessCheck = {
        verb,
        resource: e.resource,
        ...(e.group ? { group: e.group } : {}),
        ...(e.subresource ? { subresource: e.subresource } : {}),
      };
      // Cluster-scoped rights are asked without a namespace; a namespace's own `get` is asked in it (a RoleBinding there grants it).
      if (e.scope === 'namespace') check.namespace = ctx.namespace;
      const key = JSON.stringify(check);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(check);
      }
    }
  }
  return out;
}

/** `patch deployments.apps`, `get pods/portforward`: how a missing right is named. */
export function describeCheck(c: AccessCheck): string {
  return `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.group ? `.${c.group}` : ''}`;
}

const ACTIVITY_NAMES: Record<Activity, string> = {
  up: '`up`',
  sink: '`tail` `send` `messages` `rules` `run`',
  job: '`run` (job step)',
  down: '`down`',
  'check-in-cluster': '`check --in-cluster`',
  'list-all': '`status` `gc` `down --all`',
  'service-http': '`run` (http step to a Service)',
};
const CONDITION_NAMES: Record<Condition, string> = {
  'new-namespace': 'without -n',
  'existing-namespace': 'with -n',
  'kubernetes-1.35': 'Kubernetes >= 1.35',
  'service-monitor': 'with --service-monitor',
};

/** The Markdown table in docs/cluster.md (between the rbac-table markers). */
export function renderAccessTable(): string {
  const rows = REQUIRED_ACCESS.map((e) => {
    const res = `\`${e.resource}${e.subresource ? `/${e.subresource}` : ''}\`${e.group ? ` (${e.group})` : ''}`;
    const scope = e.scope === 'cluster' ? 'cluster' : 'namespace';
    const when = e.when ? CONDITION_NAMES[e.when] : '';
    return `| ${res} | ${e.verbs.map((v) => `\`${v}\``).join(' ')} | ${scope} | ${e.activities.map((a) => ACTIVITY_NAMES[a]).join(', ')} | ${when} | ${e.why} |`;
  });
  return (
    [
      '| resource | verbs | scope | needed by | only | why |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n') + '\n'
  );
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function rules(entries: readonly AccessEntry[]): Rule[] {
  const byResource = new Map<string, Rule>();
  for (const e of entries) {
    const res = e.subresource ? `${e.resource}/${e.subresource}` : e.resource;
    const key = `${e.group}\u0000${res}`;
    const rule = byResource.get(key) ?? { apiGroups: [e.group], resources: [res], verbs: [] };
    for (const v of e.verbs) if (!rule.verbs.includes(v)) rule.verbs.push(v);
    byResource.set(key, rule);
  }
  return [...byResource.values()];
}

export const RBAC_ROLE_NAME = 'email-validate';

/**
 * manifests/rbac/role.yaml: everything for working in an existing namespace
 * (`-n NAMESPACE` on every command), bound with a RoleBinding there.
 */
export function renderRoleYaml(namespace = 'NAMESPACE'): string {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: RBAC_ROLE_NAME, namespace },
    rules: rules(
      REQUIRED_ACCESS.filter((e) => e.scope === 'namespace' && e.when !== 'new-namespace'),
    ),
  };
  return (
    `# What kubectl email-validate needs in an existing namespace (every command with -n ${namespace}).\n` +
    '# Generated from src/required-access.ts (regenerate: npm run generate).\n' +
    '# Bind it: kubectl create rolebinding email-validate --role=email-validate --user=YOU -n NAMESPACE\n' +
    stringify(role)
  );
}

/** manifests/rbac/clusterrole.yaml: the same plus creating, listing and deleting its own namespaces, bound cluster-wide. */
export function renderClusterRoleYaml(): string {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: RBAC_ROLE_NAME },
    rules: rules(REQUIRED_ACCESS),
  };
  return (
    '# What kubectl email-validate needs to create its own namespaces (commands without -n) and list every sink.\n' +
    '# Generated from src/required-access.ts (regenerate: npm run generate).\n' +
    '# Bind it: kubectl create clusterrolebinding email-validate --clusterrole=email-validate --user=YOU\n' +
    stringify(role)
  );
}
