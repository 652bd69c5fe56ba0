/**
 * Just enough of JSON Schema 2020-12 to check schema/email-flow.schema.json in
 * tests: $ref (local), type, const, enum, properties, required,
 * additionalProperties, items, min/maxItems, minimum, maximum,
 * exclusiveMinimum, pattern, oneOf, anyOf, allOf, not, if/then/else. A keyword
 * it does not know makes it throw, so the schema cannot silently outgrow it.
 */

type Schema = boolean | Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$id',
  '$ref',
  '$defs',
  'title',
  'description',
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'pattern',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Returns the list of problems (`path: keyword`); empty means valid. */
export function validate(root: Record<string, unknown>, value: unknown): string[] {
  const errors: string[] = [];
  const resolve = (ref: string): Schema => {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let node: unknown = root;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part];
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
    return node as Schema;
  };
  const check = (schema: Schema, v: unknown, path: string, out: string[]): void => {
    if (schema === true) return;
    if (schema === false) {
      out.push(`${path}: false`);
      return;
    }
    for (const key of Object.keys(schema))
      if (!KNOWN.has(key)) throw new Error(`json-schema-lite does not support "${key}"`);
    const s = schema;
    if (typeof s.$ref === 'string') check(resolve(s.$ref), v, path, out);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const t = typeOf(v);
      if (!types.some((x) => x === t || (x === 'number' && t === 'integer')))
        out.push(`${path}: type`);
    }
    if ('const' in s && !deepEqual(s.const, v)) out.push(`${path}: const`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) out.push(`${path}: enum`);
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${path}: minimum`);
      if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${path}: maximum`);
      if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum)
        out.push(`${path}: exclusiveMinimum`);
    }
    if (
      typeof v === 'string' &&
      typeof s.pattern === 'string' &&
      !new RegExp(s.pattern, 'u').test(v)
    )
      out.push(`${path}: pattern`);
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(`${path}: minItems`);
      if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(`${path}: maxItems`);
      if (s.items !== undefined)
        v.forEach((item, i) => check(s.items as Schema, item, `${path}[${i}]`, out));
    }
    if (typeOf(v) === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[])
        if (!(r in obj)) out.push(`${path}: required ${r}`);
      for (const [k, item] of Object.entries(obj)) {
        if (k in props) check(props[k], item, `${path}.${k}`, out);
        else if (s.additionalProperties !== undefined)
          check(s.additionalProperties as Schema, item, `${path}.${k}`, out);
      }
    }
    const passes = (sub: Schema): boolean => {
      const local: string[] = [];
      check(sub, v, path, local);
      return local.length === 0;
    };
    if (Array.isArray(s.oneOf) && (s.oneOf as Schema[]).filter(passes).length !== 1)
      out.push(`${path}: oneOf`);
    if (Array.isArray(s.anyOf) && !(s.anyOf as Schema[]).some(passes)) out.push(`${path}: anyOf`);
    if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) check(sub, v, path, out);
    if (s.not !== undefined && passes(s.not as Schema)) out.push(`${path}: not`);
    if (s.if !== undefined) {
      if (passes(s.if as Schema)) {
        if (s.then !== undefined) check(s.then as Schema, v, path, out);
      } else if (s.else !== undefined) check(s.else as Schema, v, path, out);
    }
  };
  check(root, value, '$', errors);
  return errors;
}
