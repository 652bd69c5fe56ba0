/**
 * Just enough of the Kubernetes protobuf encoding to read what kubectl's typed
 * clients send (`kubectl create namespace|configmap|secret|serviceaccount`,
 * `kubectl auth can-i`): the `k8s\0` envelope (runtime.Unknown with TypeMeta
 * and raw bytes) and the fields of those few kinds. Field numbers come from
 * the upstream generated.proto files (checked against kubectl 1.32's bytes).
 * Anything else is answered 415 by the router. Responses are always JSON,
 * which kubectl accepts.
 */
import { KubeStatusError } from './status.ts';

type Kind = 'string' | 'bytes' | 'bool' | 'int' | 'strings' | 'map' | 'bytesmap' | Schema;
interface Schema {
  [field: number]: [string, Kind];
}

/** Nesting the decoder follows before giving up (the schemas below are 4 deep). */
export const MAX_PROTO_DEPTH = 16;

const OBJECT_META: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  11: ['labels', 'map'],
  12: ['annotations', 'map'],
  14: ['finalizers', 'strings'],
};

const SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': { 1: ['metadata', OBJECT_META], 2: ['spec', { 1: ['finalizers', 'strings'] }] },
  'v1/ConfigMap': {
    1: ['metadata', OBJECT_META],
    2: ['data', 'map'],
    3: ['binaryData', 'bytesmap'],
    4: ['immutable', 'bool'],
  },
  'v1/Secret': {
    1: ['metadata', OBJECT_META],
    2: ['data', 'bytesmap'],
    3: ['type', 'string'],
    4: ['stringData', 'map'],
    5: ['immutable', 'bool'],
  },
  'v1/ServiceAccount': {
    1: ['metadata', OBJECT_META],
    4: ['automountServiceAccountToken', 'bool'],
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: ['metadata', OBJECT_META],
    2: [
      'spec',
      {
        1: [
          'resourceAttributes',
          {
            1: ['namespace', 'string'],
            2: ['verb', 'string'],
            3: ['group', 'string'],
            4: ['version', 'string'],
            5: ['resource', 'string'],
            6: ['subresource', 'string'],
            7: ['name', 'string'],
          },
        ],
        2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }],
      },
    ],
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['namespace', 'string'] }],
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

function bad(message: string): KubeStatusError {
  return new KubeStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (fake-kube reads protobuf only for Namespace, ConfigMap, Secret, ServiceAccount, SelfSubjectAccessReview and SelfSubjectRulesReview: ${message})`,
  );
}

interface Field {
  num: number;
  wire: number;
  value: bigint | Buffer;
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length || shift > 63n) throw bad('truncated varint');
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return r;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const num = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ num, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw bad('truncated field');
      out.push({ num, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw bad(`wire type ${wire}`);
  }
  return out;
}

function decode(buf: Buffer, schema: Schema, depth: number): Record<string, unknown> {
  if (depth > MAX_PROTO_DEPTH) throw bad('nesting too deep');
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const spec = schema[f.num];
    if (!spec) continue;
    const [name, kind] = spec;
    if (typeof kind === 'object') {
      if (Buffer.isBuffer(f.value)) out[name] = decode(f.value, kind, depth + 1);
      continue;
    }
    switch (kind) {
      case 'string':
        if (Buffer.isBuffer(f.value) && f.value.length > 0) out[name] = f.value.toString('utf8');
        break;
      case 'bytes':
        if (Buffer.isBuffer(f.value)) out[name] = f.value.toString('base64');
        break;
      case 'bool':
        if (typeof f.value === 'bigint') out[name] = f.value !== 0n;
        break;
      case 'int':
        if (typeof f.value === 'bigint' && f.value !== 0n) out[name] = Number(f.value);
        break;
      case 'strings':
        if (Buffer.isBuffer(f.value))
          ((out[name] ??= []) as string[]).push(f.value.toString('utf8'));
        break;
      case 'map':
      case 'bytesmap': {
        if (!Buffer.isBuffer(f.value)) break;
        let key = '';
        let value: Buffer = Buffer.alloc(0);
        for (const e of fields(f.value)) {
          if (e.num === 1 && Buffer.isBuffer(e.value)) key = e.value.toString('utf8');
          if (e.num === 2 && Buffer.isBuffer(e.value)) value = e.value;
        }
        const map = (out[name] ??= {}) as Record<string, string>;
        map[key] = kind === 'map' ? value.toString('utf8') : value.toString('base64');
        break;
      }
    }
  }
  return out;
}

/** Decode a protobuf request body into the JSON object it stands for. */
export function protobufToJson(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw bad('missing k8s envelope');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(body.subarray(4))) {
    if (f.num === 1 && Buffer.isBuffer(f.value)) {
      for (const t of fields(f.value)) {
        if (t.num === 1 && Buffer.isBuffer(t.value)) apiVersion = t.value.toString('utf8');
        if (t.num === 2 && Buffer.isBuffer(t.value)) kind = t.value.toString('utf8');
      }
    }
    if (f.num === 2 && Buffer.isBuffer(f.value)) raw = f.value;
  }
  const schema = SCHEMAS[`${apiVersion}/${kind}`];
  if (!schema || !raw) throw bad(`${apiVersion} ${kind}`);
  return { apiVersion, kind, ...decode(raw, schema, 0) };
}
