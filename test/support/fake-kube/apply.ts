/**
 * Server-side apply, simplified but with the behaviour clients rely on:
 * each field manager owns the field paths of its last applied configuration
 * (kept in metadata.managedFields as FieldsV1), re-applying without a field
 * removes it when no other manager owns it, and applying a value another
 * Apply manager owns is a 409 Conflict unless `force=true`, which transfers
 * ownership. Lists with a merge key (containers, env, ports, volumes, …) are
 * merged per item; other lists are atomic. Non-apply writes (create, PUT,
 * patches) record an `Update` manager for the fields they set or changed, so
 * applying over them conflicts as on a real server. Controllers' status
 * writes are not recorded.
 */
import { mergeKeyFor, strategicMerge } from './patch.ts';
import { valueText } from './value-text.ts';
import { clone } from './store.ts';
import type { KubeObject } from './store.ts';
import { KubeStatusError } from './status.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
type Path = string[];

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Field paths of a configuration, in FieldsV1 segment syntax (`f:spec`, `k:{"name":"x"}`). */
export function fieldPaths(
  value: unknown,
  path: Path = [],
  field = '',
  out: Map<string, Path> = new Map(),
): Map<string, Path> {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && path.length > 0) out.set(JSON.stringify(path), path);
    for (const k of keys) fieldPaths(value[k], [...path, `f:${k}`], k, out);
    return out;
  }
  if (Array.isArray(value)) {
    const key = mergeKeyFor(field, value);
    if (key && value.every((item) => isObject(item) && item[key] !== undefined)) {
      for (const item of value as JsonObject[]) {
        const seg = `k:${JSON.stringify({ [key]: item[key] })}`;
        const itemPath = [...path, seg];
        out.set(JSON.stringify(itemPath), itemPath);
        fieldPaths(item, itemPath, '', out);
      }
      return out;
    }
  }
  out.set(JSON.stringify(path), path);
  return out;
}

/** Paths a manager may not own: identity fields are the server's. */
function ownablePaths(config: KubeObject): Map<string, Path> {
  const c = clone(config) as JsonObject & { metadata?: JsonObject };
  delete c.apiVersion;
  delete c.kind;
  if (isObject(c.metadata)) {
    for (const k of [
      'name',
      'namespace',
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'managedFields',
      'generateName',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'selfLink',
    ])
      delete c.metadata[k];
    if (Object.keys(c.metadata).length === 0) delete c.metadata;
  }
  return fieldPaths(c);
}

export function toFieldsV1(paths: Iterable<Path>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const seg of path) {
      if (!isObject(node[seg])) node[seg] = {};
      node = node[seg];
    }
    if (path.length > 0 && path[path.length - 1].startsWith('k:')) node['.'] = {};
  }
  return root;
}

export function fromFieldsV1(
  fields: unknown,
  prefix: Path = [],
  out: Map<string, Path> = new Map(),
): Map<string, Path> {
  if (!isObject(fields)) return out;
  const keys = Object.keys(fields);
  if (keys.length === 0 && prefix.length > 0) out.set(JSON.stringify(prefix), prefix);
  for (const k of keys) {
    if (k === '.') {
      out.set(JSON.stringify(prefix), prefix);
      continue;
    }
    fromFieldsV1(fields[k], [...prefix, k], out);
  }
  return out;
}

function stepInto(node: unknown, seg: string): unknown {
  if (seg.startsWith('f:')) return isObject(node) ? node[seg.slice(2)] : undefined;
  if (seg.startsWith('k:') && Array.isArray(node)) {
    const want = JSON.parse(seg.slice(2)) as JsonObject;
    return node.find(
      (item) =>
        isObject(item) &&
        Object.entries(want).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v)),
    );
  }
  return undefined;
}

function valueAt(obj: unknown, path: Path): unknown {
  let cur = obj;
  for (const seg of path) cur = stepInto(cur, seg);
  return cur;
}

function removePath(obj: unknown, path: Path): void {
  if (path.length === 0) return;
  const parent = valueAt(obj, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last.startsWith('f:') && isObject(parent)) {
    delete parent[last.slice(2)];
  } else if (last.startsWith('k:') && Array.isArray(parent)) {
    const item = stepInto(parent, last);
    const idx = parent.indexOf(item);
    if (idx >= 0) parent.splice(idx, 1);
  }
}

interface ManagerEntry {
  manager: string;
  operation: string;
  apiVersion?: string;
  time?: string;
  subresource?: string;
  paths: Map<string, Path>;
}

function readManagers(obj: KubeObject): ManagerEntry[] {
  const out: ManagerEntry[] = [];
  for (const raw of obj.metadata.managedFields ?? []) {
    if (!isObject(raw)) continue;
    out.push({
      manager: valueText(raw.manager ?? ''),
      operation: valueText(raw.operation ?? 'Update'),
      apiVersion: typeof raw.apiVersion === 'string' ? raw.apiVersion : undefined,
      time: typeof raw.time === 'string' ? raw.time : undefined,
      subresource: typeof raw.subresource === 'string' ? raw.subresource : undefined,
      paths: fromFieldsV1(raw.fieldsV1),
    });
  }
  return out;
}

function writeManagers(entries: ManagerEntry[]): unknown[] {
  return entries
    .filter((e) => e.paths.size > 0)
    .map((e) => {
      const out: JsonObject = { manager: e.manager, operation: e.operation };
      if (e.apiVersion) out.apiVersion = e.apiVersion;
      if (e.time) out.time = e.time;
      out.fieldsType = 'FieldsV1';
      out.fieldsV1 = toFieldsV1(e.paths.values());
      if (e.subresource) out.subresource = e.subresource;
      return out;
    });
}

function describePath(path: Path): string {
  return path
    .map((seg) => (seg.startsWith('f:') ? `.${seg.slice(2)}` : `[${seg.slice(2)}]`))
    .join('');
}

export interface ApplyOptions {
  manager: string;
  force: boolean;
  apiVersion: string;
  time: string;
  subresource?: string;
}

/** managedFields for an object created by apply. */
export function initialManagedFields(config: KubeObject, opts: ApplyOptions): unknown[] {
  return writeManagers([
    {
      manager: opts.manager,
      operation: 'Apply',
      apiVersion: opts.apiVersion,
      time: opts.time,
      subresource: opts.subresource,
      paths: ownablePaths(config),
    },
  ]);
}

/**
 * Merge an applied configuration into the live object. Returns the new object
 * (managedFields updated) or throws 409 Conflict.
 */
export function serverSideApply(
  live: KubeObject,
  config: KubeObject,
  opts: ApplyOptions,
): KubeObject {
  const managers = readManagers(live);
  const newPaths = ownablePaths(config);
  const mine = managers.find(
    (m) =>
      m.manager === opts.manager &&
      m.operation === 'Apply' &&
      (m.subresource ?? '') === (opts.subresource ?? ''),
  );
  const others = managers.filter((m) => m !== mine);

  const conflicts: Array<{ manager: ManagerEntry; path: Path }> = [];
  for (const [key, path] of newPaths) {
    if (path[path.length - 1]?.startsWith('k:')) continue;
    const applied = JSON.stringify(valueAt(config, path));
    const current = valueAt(live, path);
    if (current === undefined || JSON.stringify(current) === applied) continue;
    for (const m of others) {
      if ((m.subresource ?? '') === (opts.subresource ?? '') && m.paths.has(key))
        conflicts.push({ manager: m, path });
    }
  }
  if (conflicts.length > 0 && !opts.force) {
    const who = (m: ManagerEntry): string =>
      m.operation === 'Apply'
        ? `"${m.manager}"`
        : `"${m.manager}" using ${m.apiVersion ?? opts.apiVersion}`;
    const lines = conflicts.map((c) => `conflict with ${who(c.manager)}: ${describePath(c.path)}`);
    const message =
      conflicts.length === 1
        ? `Apply failed with 1 conflict: ${lines[0]}`
        : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n- ')}`;
    throw new KubeStatusError(409, 'Conflict', message, {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${who(c.manager)}`,
        field: describePath(c.path),
      })),
    });
  }
  // Forced: the values this manager now sets are its alone (identical values stay shared).
  if (opts.force) {
    for (const c of conflicts) c.manager.paths.delete(JSON.stringify(c.path));
  }

  let result = clone(live);
  if (mine) {
    const removed = [...mine.paths].filter(
      ([key]) => !newPaths.has(key) && !others.some((m) => m.paths.has(key)),
    );
    // Shallowest first: a removed list item goes whole (its fields can no longer be found by key).
    removed.sort((a, b) => a[1].length - b[1].length);
    for (const [, path] of removed) removePath(result, path);
  }
  const { metadata: cfgMeta, ...cfgRest } = clone(config);
  const mergedMeta = strategicMerge(result.metadata, {
    labels: cfgMeta.labels ?? null,
    annotations: cfgMeta.annotations ?? null,
    ...pickMeta(cfgMeta),
  }) as KubeObject['metadata'];
  // labels/annotations: merge, not replace.
  mergedMeta.labels = { ...(result.metadata.labels ?? {}), ...(cfgMeta.labels ?? {}) };
  mergedMeta.annotations = {
    ...(result.metadata.annotations ?? {}),
    ...(cfgMeta.annotations ?? {}),
  };
  if (Object.keys(mergedMeta.labels).length === 0) delete mergedMeta.labels;
  if (Object.keys(mergedMeta.annotations).length === 0) delete mergedMeta.annotations;
  result = strategicMerge(result, cfgRest) as KubeObject;
  result.metadata = mergedMeta;

  const entry: ManagerEntry = {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: opts.apiVersion,
    time: opts.time,
    subresource: opts.subresource,
    paths: newPaths,
  };
  const next = others.concat(entry);
  result.metadata.managedFields = writeManagers(next);
  return result;
}

function pickMeta(meta: KubeObject['metadata']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (meta.finalizers) out.finalizers = meta.finalizers;
  if (meta.ownerReferences) out.ownerReferences = meta.ownerReferences;
  return out;
}

export interface UpdateOptions {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string;
}

function scoped(obj: KubeObject, subresource: string | undefined): KubeObject {
  const c = clone(obj) as KubeObject & { status?: unknown };
  if (subresource === 'status') return { metadata: {}, status: c.status };
  delete c.status;
  return c;
}

/**
 * managedFields after a non-apply write from `live` to `next`: the fields the
 * write set or changed now belong to `manager` (operation Update) and to no
 * one else; fields it removed belong to no one.
 */
export function recordUpdate(
  live: KubeObject | undefined,
  next: KubeObject,
  opts: UpdateOptions,
): unknown[] {
  const managers = live ? readManagers(live) : [];
  const before = live ? ownablePaths(scoped(live, opts.subresource)) : new Map<string, Path>();
  const after = ownablePaths(scoped(next, opts.subresource));
  const changed = new Map<string, Path>();
  for (const [key, path] of after) {
    if (
      !before.has(key) ||
      JSON.stringify(valueAt(live, path)) !== JSON.stringify(valueAt(next, path))
    )
      changed.set(key, path);
  }
  const sub = opts.subresource ?? '';
  for (const m of managers) {
    if ((m.subresource ?? '') !== sub) continue;
    for (const key of [...m.paths.keys()])
      if (changed.has(key) || !after.has(key)) m.paths.delete(key);
  }
  if (changed.size > 0) {
    let mine = managers.find(
      (m) =>
        m.manager === opts.manager && m.operation === 'Update' && (m.subresource ?? '') === sub,
    );
    if (!mine) {
      mine = {
        manager: opts.manager,
        operation: 'Update',
        apiVersion: opts.apiVersion,
        time: opts.time,
        subresource: opts.subresource,
        paths: new Map(),
      };
      managers.push(mine);
    }
    mine.time = opts.time;
    for (const [key, path] of changed) mine.paths.set(key, path);
  }
  return writeManagers(managers);
}
