/**
 * The three client-side patch formats: JSON Patch (RFC 6902), JSON Merge Patch
 * (RFC 7386) and strategic merge patch (merge patch where some lists merge by
 * a key, plus `$patch` directives). Server-side apply lives in apply.ts.
 */
import { badRequest, KubeStatusError } from './status.ts';
import { clone } from './store.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export const PATCH_TYPES = Object.freeze({
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
});

/** Most operations accepted in one JSON Patch; the real server caps at 10,000. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function unprocessable(message: string): KubeStatusError {
  return new KubeStatusError(422, 'Invalid', message);
}

function parentOf(doc: Json, segs: string[], op: string): { parent: Json; key: string } {
  let cur: Json = doc;
  for (const seg of segs.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = Number(seg);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length)
        throw unprocessable(
          `${op} operation does not apply: doc is missing path: /${segs.join('/')}`,
        );
      cur = cur[i];
    } else if (isObject(cur)) {
      if (!Object.hasOwn(cur, seg))
        throw unprocessable(
          `${op} operation does not apply: doc is missing path: /${segs.join('/')}`,
        );
      cur = cur[seg];
    } else {
      throw unprocessable(
        `${op} operation does not apply: doc is missing path: /${segs.join('/')}`,
      );
    }
  }
  return { parent: cur, key: segs[segs.length - 1] };
}

function getAt(doc: Json, segs: string[], op: string): Json {
  if (segs.length === 0) return doc;
  const { parent, key } = parentOf(doc, segs, op);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length)
      throw unprocessable(
        `${op} operation does not apply: doc is missing path: /${segs.join('/')}`,
      );
    return parent[i];
  }
  if (isObject(parent) && Object.hasOwn(parent, key)) return parent[key];
  throw unprocessable(`${op} operation does not apply: doc is missing path: /${segs.join('/')}`);
}

function removeAt(doc: Json, segs: string[], op: string): Json {
  const value = getAt(doc, segs, op);
  const { parent, key } = parentOf(doc, segs, op);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isObject(parent)) delete parent[key];
  return value;
}

function addAt(doc: Json, segs: string[], value: Json, op: string): Json {
  if (segs.length === 0) return value;
  const { parent, key } = parentOf(doc, segs, op);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length)
      throw unprocessable(`${op} operation does not apply: index out of range: /${segs.join('/')}`);
    parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    parent[key] = value;
  } else {
    throw unprocessable(`${op} operation does not apply: doc is missing path: /${segs.join('/')}`);
  }
  return doc;
}

export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  if (patch.length > MAX_JSON_PATCH_OPERATIONS)
    throw new KubeStatusError(
      413,
      'RequestEntityTooLarge',
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  let doc = clone(target) as Json;
  for (const raw of patch) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
      throw badRequest('invalid JSON patch operation');
    const segs = decodePointer(raw.path);
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, segs, clone(raw.value ?? null), 'add');
        break;
      case 'remove':
        removeAt(doc, segs, 'remove');
        break;
      case 'replace':
        getAt(doc, segs, 'replace');
        if (segs.length === 0) {
          doc = clone(raw.value ?? null);
        } else {
          removeAt(doc, segs, 'replace');
          doc = addAt(doc, segs, clone(raw.value ?? null), 'replace');
        }
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw badRequest('move operation needs from');
        const v = removeAt(doc, decodePointer(raw.from), 'move');
        doc = addAt(doc, segs, v, 'move');
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequest('copy operation needs from');
        const v = clone(getAt(doc, decodePointer(raw.from), 'copy'));
        doc = addAt(doc, segs, v, 'copy');
        break;
      }
      case 'test': {
        const v = getAt(doc, segs, 'test');
        if (JSON.stringify(v) !== JSON.stringify(raw.value))
          throw unprocessable(`testing value /${segs.join('/')} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v) as Json;
  }
  return out;
}

/**
 * patchMergeKey of the lists the fake merges by key (by field name, as the
 * core types use them). `ports` merges by containerPort in containers and by
 * port in Services: decided per item.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  tolerations: 'key',
  ports: 'port',
};

/** Merge key for a list field, or undefined when the list is atomic (replaced). */
export function mergeKeyFor(field: string, items: readonly unknown[]): string | undefined {
  if (field === 'ports') {
    const first = items.find(isObject);
    if (first && Object.hasOwn(first, 'containerPort')) return 'containerPort';
    return 'port';
  }
  if (field === 'tolerations') return undefined;
  return MERGE_KEYS[field];
}

/** Lists of scalars merged as sets by strategic merge patch. */
const SET_LISTS = new Set(['finalizers']);

function mergeKeyedList(field: string, live: Json[], patch: Json[]): Json[] {
  const key = mergeKeyFor(field, [...patch, ...live]);
  if (!key) return clone(patch).filter((x) => !(isObject(x) && x.$patch !== undefined));
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return clone(patch).filter((p) => !(isObject(p) && p.$patch === 'replace'));
  }
  const out = clone(live);
  for (const item of patch) {
    if (!isObject(item)) continue;
    const id = item[key];
    const idx = out.findIndex((x) => isObject(x) && JSON.stringify(x[key]) === JSON.stringify(id));
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item) as Json;
    else out.push(strategicMerge({}, item) as Json);
  }
  return out;
}

/** Strategic merge patch as kubectl sends it (`$patch`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`). */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    void _p;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder/') || k === '$retainKeys') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(v))
        out[field] = current.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      const live = Array.isArray(out[k]) ? out[k] : [];
      if (SET_LISTS.has(k)) {
        const merged = [...live];
        for (const x of v)
          if (!merged.some((y) => JSON.stringify(y) === JSON.stringify(x))) merged.push(clone(x));
        out[k] = merged;
      } else {
        out[k] = mergeKeyedList(k, live, v);
      }
      continue;
    }
    if (isObject(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged as Json;
      continue;
    }
    out[k] = v;
  }
  return out;
}
