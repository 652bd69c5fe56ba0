/**
 * Unknown fields, as a real API server treats them: the object is decoded
 * against the kind's schema and a field the schema does not declare is not
 * stored. `?fieldValidation=` decides what the client hears
 * (staging/src/k8s.io/apiserver/pkg/endpoints/handlers: Ignore drops
 * silently, Warn (the default) drops with a `Warning: 299` header per field,
 * Strict refuses the request with 400 BadRequest).
 *
 * The schema is the one the generated client models carry
 * (@kubernetes/client-node's `attributeTypeMap`: wire names and types of
 * every field of every built-in kind), so the fake knows exactly the fields a
 * 1.3x server knows, without a copy of the OpenAPI document. Custom resources
 * (ServiceMonitor) have no schema here and are stored as sent.
 */
import * as models from '@kubernetes/client-node';
import type { ResourceType } from './resources.ts';

interface Attribute {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap?: () => Attribute[] };

/** Longest path followed into an object (a crafted body must not recurse without bound). */
export const MAX_SCHEMA_DEPTH = 64;

function attributes(type: string): Attribute[] | undefined {
  const cls = (models as unknown as Record<string, ModelClass | undefined>)[type];
  return typeof cls?.getAttributeTypeMap === 'function' ? cls.getAttributeTypeMap() : undefined;
}

/** The model of a built-in kind (`V1Deployment`), or undefined for a custom resource. */
export function modelFor(rt: ResourceType, kind = rt.kind): string | undefined {
  const builtIn = rt.group === '' || !rt.group.includes('.') || rt.group.endsWith('.k8s.io');
  if (!builtIn) return undefined;
  const name = `${rt.version.charAt(0).toUpperCase()}${rt.version.slice(1)}${kind}`;
  return attributes(name) ? name : undefined;
}

/**
 * Removes, in place, every field of `value` that the model `type` does not
 * declare; returns their paths (`spec.template.spec.containers[0].foo`).
 * `patch`: keys of strategic-merge directives (`$patch`, `$setElementOrder/…`)
 * are kept, and `null` (delete this field) is fine anywhere.
 */
export function pruneUnknownFields(
  value: unknown,
  type: string,
  patch = false,
  path = '',
  depth = 0,
): string[] {
  if (value === null || typeof value !== 'object' || depth > MAX_SCHEMA_DEPTH) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) =>
      pruneUnknownFields(item, array[1], patch, `${path}[${i}]`, depth + 1),
    );
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (Array.isArray(value)) return [];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      pruneUnknownFields(v, map[1], patch, `${path}[${k}]`, depth + 1),
    );
  }
  const attrs = attributes(type);
  if (!attrs || Array.isArray(value)) return [];
  const removed: string[] = [];
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const here = path ? `${path}.${key}` : key;
    if (patch && key.startsWith('$')) continue;
    const attr = attrs.find((a) => a.baseName === key);
    if (!attr) {
      delete obj[key];
      removed.push(here);
      continue;
    }
    removed.push(...pruneUnknownFields(obj[key], attr.type, patch, here, depth + 1));
  }
  return removed;
}

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** `?fieldValidation=` as the server reads it; anything else is a 400 (the caller words it). */
export function fieldValidationOf(query: URLSearchParams): FieldValidation | undefined {
  const v = query.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  return v === 'Ignore' || v === 'Warn' || v === 'Strict' ? v : undefined;
}
