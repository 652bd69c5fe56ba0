/**
 * Server-side printing: `kubectl get` asks for a meta.k8s.io/v1 Table
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…`) and prints its
 * columns. The fake renders the familiar columns for the kinds it serves
 * (NAME/READY/STATUS/RESTARTS/AGE for pods, …) and NAME/AGE for the rest.
 */
import type { ResourceType } from './resources.ts';
import type { KubeObject } from './store.ts';

type Obj = Record<string, any>;

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  cell: (o: Obj, now: Date) => string | number;
}

/** True when the client asked for Table output. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '') && /g=meta\.k8s\.io/.test(accept ?? '');
}

/** kubectl's short age format (`45s`, `3m12s`, `5h`, `2d3h`, `400d`). */
export function humanAge(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const s = Math.floor((now.getTime() - Date.parse(from)) / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  cell: (o) => o.metadata?.name ?? '',
};
const age: Column = {
  name: 'Age',
  type: 'string',
  cell: (o, now) => humanAge(o.metadata?.creationTimestamp, now),
};

function podStatus(p: Obj): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  let reason: string = p.status?.phase ?? 'Unknown';
  for (const c of (p.status?.containerStatuses ?? []) as Obj[]) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason && reason !== 'Running')
      reason = c.state.terminated.reason;
  }
  return reason;
}

function ports(svc: Obj): string {
  const list = (svc.spec?.ports ?? []) as Obj[];
  return list.length === 0
    ? '<none>'
    : list
        .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
        .join(',');
}

const COLUMNS: Record<string, Column[]> = {
  namespaces: [name, { name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? '' }, age],
  pods: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) =>
        `${((o.status?.containerStatuses ?? []) as Obj[]).filter((c) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
    },
    { name: 'Status', type: 'string', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String(
          ((o.status?.containerStatuses ?? []) as Obj[]).reduce(
            (n, c) => n + (c.restartCount ?? 0),
            0,
          ),
        ),
    },
    age,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status?.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec?.nodeName ?? '<none>' },
  ],
  deployments: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => o.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', cell: (o) => o.status?.availableReplicas ?? 0 },
    age,
    {
      name: 'Containers',
      type: 'string',
      priority: 1,
      cell: (o) =>
        ((o.spec?.template?.spec?.containers ?? []) as Obj[]).map((c) => c.name).join(','),
    },
    {
      name: 'Images',
      type: 'string',
      priority: 1,
      cell: (o) =>
        ((o.spec?.template?.spec?.containers ?? []) as Obj[]).map((c) => c.image).join(','),
    },
  ],
  replicasets: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => o.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', cell: (o) => o.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', cell: (o) => o.status?.readyReplicas ?? 0 },
    age,
  ],
  jobs: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: (o) =>
        ((o.status?.conditions ?? []) as Obj[]).find(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        )?.type ?? 'Running',
    },
    {
      name: 'Completions',
      type: 'string',
      cell: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`,
    },
    age,
  ],
  services: [
    name,
    { name: 'Type', type: 'string', cell: (o) => o.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => o.spec?.clusterIP ?? '<none>' },
    { name: 'External-IP', type: 'string', cell: () => '<none>' },
    { name: 'Port(s)', type: 'string', cell: ports },
    age,
  ],
  configmaps: [
    name,
    {
      name: 'Data',
      type: 'integer',
      cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
    },
    age,
  ],
  secrets: [
    name,
    { name: 'Type', type: 'string', cell: (o) => o.type ?? 'Opaque' },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(o.data ?? {}).length },
    age,
  ],
  events: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o, now) => humanAge(o.lastTimestamp ?? o.metadata?.creationTimestamp, now),
    },
    { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) =>
        `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
    },
    { name: 'Message', type: 'string', cell: (o) => o.message ?? '' },
  ],
};

/** Render objects as a Table; `includeObject` is None, Metadata (default) or Object. */
export function toTable(
  rt: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  includeObject: string | null,
  now: Date,
  listMeta: Obj = {},
): Obj {
  const columns = COLUMNS[rt.plural] ?? [name, age];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { ...listMeta, resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => {
      const row: Obj = { cells: columns.map((c) => c.cell(o as Obj, now)) };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None')
        row.object = {
          kind: 'PartialObjectMetadata',
          apiVersion: 'meta.k8s.io/v1',
          metadata: o.metadata,
        };
      return row;
    }),
  };
}
