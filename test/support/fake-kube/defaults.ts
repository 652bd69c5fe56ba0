/**
 * Per-kind defaulting and validation, the subset of the real server's that
 * clients observe: default fields that kubectl and client code read back, and
 * 422 Invalid for names, sizes and selectors.
 */
import { createHash } from 'node:crypto';
import type { ResourceType } from './resources.ts';
import { matchesRequirements, requirementsFromObject } from './selectors.ts';
import type { LabelSelectorObject } from './selectors.ts';
import type { KubeObject } from './store.ts';
import { badRequest, invalid } from './status.ts';
import type { FieldCause } from './status.ts';

/** ConfigMap and Secret payload limit, as the real server enforces (1 MiB). */
export const MAX_CONFIG_DATA_BYTES = 1024 * 1024;
/** Object names: DNS-1123 subdomain length limit. */
export const MAX_NAME_LENGTH = 253;
/** Namespace and Service names: DNS-1123 label length limit. */
export const MAX_LABEL_NAME_LENGTH = 63;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

type Obj = Record<string, any>;

/** ConfigMap and Secret keys (IsConfigMapKey): these characters, at most 253, not "." or "..". */
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
/** Standard base64 with padding, as Go's encoding/json decodes a []byte field. */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function configKeyCauses(field: string, data: Obj | undefined): FieldCause[] {
  const causes: FieldCause[] = [];
  for (const k of Object.keys(data ?? {})) {
    if (k.length <= MAX_NAME_LENGTH && CONFIG_KEY.test(k) && k !== '.' && k !== '..') continue;
    causes.push({
      field: `${field}[${k}]`,
      message:
        k === '.' || k === '..'
          ? `Invalid value: "${k}": must not be '${k}'`
          : k.length > MAX_NAME_LENGTH
            ? `Invalid value: "${k}": must be no more than ${MAX_NAME_LENGTH} characters`
            : `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    });
  }
  return causes;
}

/**
 * A Secret's `data` values are []byte in Go: a value that is not standard
 * base64 fails to decode and the whole request is a 400, before validation.
 */
export function decodeSecretData(rt: ResourceType, obj: KubeObject): void {
  if (rt.plural !== 'secrets' && rt.plural !== 'configmaps') return;
  const field = rt.plural === 'secrets' ? 'data' : 'binaryData';
  for (const v of Object.values(((obj as Obj)[field] ?? {}) as Obj)) {
    if (typeof v === 'string' && STD_BASE64.test(v)) continue;
    throw badRequest(
      `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: illegal base64 data at input byte ${firstBadByte(v)}`,
    );
  }
}

function firstBadByte(v: unknown): number {
  if (typeof v !== 'string') return 0;
  for (let i = 0; i < v.length; i++) if (!/[A-Za-z0-9+/=]/.test(v[i])) return i;
  return v.length - (v.length % 4);
}

/**
 * Updates the real server refuses: a ConfigMap's or Secret's data once it
 * is `immutable`, or `immutable` itself turned off.
 */
export function validateUpdate(rt: ResourceType, next: KubeObject, live: KubeObject): void {
  if (rt.plural !== 'secrets' && rt.plural !== 'configmaps') return;
  const l = live as Obj;
  const n = next as Obj;
  if (l.immutable !== true) return;
  const causes: FieldCause[] = [];
  const forbidden = 'Forbidden: field is immutable when `immutable` is set';
  if (n.immutable !== true)
    causes.push({ field: 'immutable', message: forbidden, reason: 'FieldValueForbidden' });
  for (const f of rt.plural === 'secrets' ? ['data'] : ['data', 'binaryData'])
    if (JSON.stringify(n[f] ?? {}) !== JSON.stringify(l[f] ?? {}))
      causes.push({ field: f, message: forbidden, reason: 'FieldValueForbidden' });
  if (causes.length > 0) throw invalid(rt.group, rt.kind, live.metadata.name ?? '', causes);
}

function labelNameKinds(rt: ResourceType): boolean {
  return rt.plural === 'namespaces' || rt.plural === 'services';
}

export function validateName(rt: ResourceType, name: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (labelNameKinds(rt)) {
    if (name.length > MAX_LABEL_NAME_LENGTH)
      causes.push({
        field: 'metadata.name',
        message: `Invalid value: "${name}": must be no more than 63 characters`,
      });
    else if (!DNS1123_LABEL.test(name))
      causes.push({
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      });
  } else if (name.length > MAX_NAME_LENGTH || !DNS1123_SUBDOMAIN.test(name)) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    });
  }
  return causes;
}

/** RBAC objects: any name that is a valid path segment (`system:basic-user` is fine). */
function validatePathSegmentName(name: string): FieldCause[] {
  if (name === '.' || name === '..' || name.includes('/') || name.includes('%'))
    return [
      {
        field: 'metadata.name',
        message: `Invalid value: "${name}": may not contain '/' or '%' and may not be '.' or '..'`,
      },
    ];
  return [];
}

function validateLabels(obj: KubeObject): FieldCause[] {
  const causes: FieldCause[] = [];
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      causes.push({
        field: `metadata.labels`,
        message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${k})`,
      });
  }
  return causes;
}

function dataSize(obj: Obj): number {
  let total = 0;
  for (const v of Object.values(obj.data ?? {}))
    total += typeof v === 'string' ? Buffer.byteLength(v) : 0;
  for (const v of Object.values(obj.binaryData ?? {}))
    total += typeof v === 'string' ? Buffer.from(v, 'base64').length : 0;
  return total;
}

function secretSize(obj: Obj): number {
  let total = 0;
  for (const v of Object.values(obj.data ?? {}))
    total += typeof v === 'string' ? Buffer.from(v, 'base64').length : 0;
  return total;
}

/** Stable short hash in the server's "safe" alphabet (no vowels, no 0/1/3). */
export function safeHash(value: unknown, length = 10): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(JSON.stringify(value)).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[digest[i] % alphabet.length];
  return out;
}

export function randomSuffix(length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

let clusterIpCounter = 10;

function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    c.imagePullPolicy ??=
      String(c.image ?? '').endsWith(':latest') || !String(c.image ?? '').includes(':')
        ? 'Always'
        : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      if (!probe) continue;
      probe.timeoutSeconds ??= 1;
      probe.periodSeconds ??= 10;
      probe.successThreshold ??= 1;
      probe.failureThreshold ??= 3;
      if (probe.httpGet) probe.httpGet.scheme ??= 'HTTP';
    }
    for (const e of c.env ?? [])
      if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap) v.configMap.defaultMode ??= 420;
    if (v.secret) v.secret.defaultMode ??= 420;
    if (v.projected) v.projected.defaultMode ??= 420;
  }
}

/** Fill defaults on create (and on update for fields that must stay set). */
export function applyDefaults(rt: ResourceType, obj: KubeObject): void {
  const o = obj as Obj;
  switch (rt.plural) {
    case 'namespaces':
      o.spec = { finalizers: ['kubernetes'], ...(o.spec ?? {}) };
      o.status = { phase: 'Active', ...(o.status ?? {}) };
      o.metadata.labels = {
        ...(o.metadata.labels ?? {}),
        'kubernetes.io/metadata.name': o.metadata.name,
      };
      break;
    case 'pods':
      o.spec ??= {};
      defaultPodSpec(o.spec);
      o.status ??= { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    case 'deployments':
      o.spec ??= {};
      o.spec.replicas ??= 1;
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.progressDeadlineSeconds ??= 600;
      o.spec.strategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      };
      defaultPodSpec(o.spec.template?.spec);
      o.status ??= {};
      break;
    case 'replicasets':
      o.spec ??= {};
      o.spec.replicas ??= 1;
      defaultPodSpec(o.spec.template?.spec);
      o.status ??= { replicas: 0 };
      break;
    case 'jobs': {
      o.spec ??= {};
      o.spec.parallelism ??= 1;
      o.spec.completions ??= o.spec.completionMode === 'Indexed' ? 1 : (o.spec.completions ?? 1);
      o.spec.completionMode ??= 'NonIndexed';
      o.spec.backoffLimit ??= 6;
      o.spec.suspend ??= false;
      o.spec.template ??= {};
      o.spec.template.spec ??= {};
      defaultPodSpec(o.spec.template.spec);
      o.status ??= {};
      break;
    }
    case 'services':
      o.spec ??= {};
      o.spec.type ??= 'ClusterIP';
      o.spec.sessionAffinity ??= 'None';
      if (o.spec.clusterIP === undefined && o.spec.type !== 'ExternalName') {
        clusterIpCounter++;
        o.spec.clusterIP = `10.96.${Math.floor(clusterIpCounter / 250) % 250}.${(clusterIpCounter % 250) + 1}`;
        o.spec.clusterIPs = [o.spec.clusterIP];
      }
      for (const p of o.spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      o.status ??= { loadBalancer: {} };
      break;
    case 'secrets':
      o.type ??= 'Opaque';
      if (o.stringData) {
        o.data = { ...(o.data ?? {}) };
        for (const [k, v] of Object.entries(o.stringData as Record<string, string>))
          o.data[k] = Buffer.from(String(v)).toString('base64');
        delete o.stringData;
      }
      break;
    default:
      break;
  }
}

/** 422 causes for an object about to be stored. */
export function validateObject(rt: ResourceType, obj: KubeObject): void {
  const o = obj as Obj;
  const name = obj.metadata.name ?? '';
  const causes: FieldCause[] = [
    ...(rt.group === 'rbac.authorization.k8s.io'
      ? validatePathSegmentName(name)
      : validateName(rt, name)),
    ...validateLabels(obj),
  ];
  switch (rt.plural) {
    case 'roles':
    case 'clusterroles':
      (o.rules ?? []).forEach((r: Obj, i: number) => {
        if (!Array.isArray(r.verbs) || r.verbs.length === 0)
          causes.push({
            field: `rules[${i}].verbs`,
            message: 'Required value: verbs must contain at least one value',
            reason: 'FieldValueRequired',
          });
        if (!r.nonResourceURLs && !Array.isArray(r.apiGroups))
          causes.push({
            field: `rules[${i}].apiGroups`,
            message: 'Required value: resource rules must supply at least one api group',
            reason: 'FieldValueRequired',
          });
        if (!r.nonResourceURLs && !(Array.isArray(r.resources) && r.resources.length > 0))
          causes.push({
            field: `rules[${i}].resources`,
            message: 'Required value: resource rules must supply at least one resource',
            reason: 'FieldValueRequired',
          });
      });
      break;
    case 'rolebindings':
    case 'clusterrolebindings': {
      const ref = o.roleRef as Obj | undefined;
      const kinds = rt.plural === 'rolebindings' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
      if (!ref?.name)
        causes.push({
          field: 'roleRef.name',
          message: 'Required value',
          reason: 'FieldValueRequired',
        });
      if (!kinds.includes(String(ref?.kind)))
        causes.push({
          field: 'roleRef.kind',
          message: `Unsupported value: ${JSON.stringify(ref?.kind ?? '')}: supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`,
          reason: 'FieldValueNotSupported',
        });
      break;
    }
    case 'configmaps':
      causes.push(
        ...configKeyCauses('data', o.data),
        ...configKeyCauses('binaryData', o.binaryData),
      );
      if (dataSize(o) > MAX_CONFIG_DATA_BYTES)
        causes.push({
          field: '[]',
          message: `Too long: may not be more than ${MAX_CONFIG_DATA_BYTES} bytes`,
          reason: 'FieldValueTooLong',
        });
      for (const k of Object.keys(o.binaryData ?? {}))
        if (Object.hasOwn(o.data ?? {}, k))
          causes.push({
            field: `data[${k}]`,
            message: `Invalid value: "${k}": duplicate of key present in binaryData`,
          });
      break;
    case 'secrets':
      causes.push(...configKeyCauses('data', o.data));
      if (secretSize(o) > MAX_CONFIG_DATA_BYTES)
        causes.push({
          field: 'data',
          message: `Too long: may not be more than ${MAX_CONFIG_DATA_BYTES} bytes`,
          reason: 'FieldValueTooLong',
        });
      break;
    case 'pods':
      causes.push(...validatePodSpec(o.spec, 'spec'));
      break;
    case 'deployments':
    case 'replicasets': {
      const sel = o.spec?.selector as LabelSelectorObject | undefined;
      if (
        !sel ||
        (Object.keys(sel.matchLabels ?? {}).length === 0 &&
          (sel.matchExpressions ?? []).length === 0)
      ) {
        causes.push({
          field: 'spec.selector',
          message: 'Required value',
          reason: 'FieldValueRequired',
        });
      } else if (
        !matchesRequirements(requirementsFromObject(sel), o.spec?.template?.metadata?.labels)
      ) {
        causes.push({
          field: 'spec.template.metadata.labels',
          message: `Invalid value: ${JSON.stringify(o.spec?.template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``,
        });
      }
      if (typeof o.spec?.replicas === 'number' && o.spec.replicas < 0)
        causes.push({
          field: 'spec.replicas',
          message: `Invalid value: ${o.spec.replicas}: must be greater than or equal to 0`,
        });
      causes.push(...validatePodSpec(o.spec?.template?.spec, 'spec.template.spec'));
      break;
    }
    case 'jobs':
      causes.push(...validatePodSpec(o.spec?.template?.spec, 'spec.template.spec'));
      if (o.spec?.template?.spec?.restartPolicy === 'Always')
        causes.push({
          field: 'spec.template.spec.restartPolicy',
          message: 'Unsupported value: "Always": supported values: "OnFailure", "Never"',
          reason: 'FieldValueNotSupported',
        });
      if (
        o.spec?.completionMode === 'Indexed' &&
        !(typeof o.spec?.completions === 'number' && o.spec.completions > 0)
      )
        causes.push({
          field: 'spec.completions',
          message: 'Required value: when completion mode is Indexed',
          reason: 'FieldValueRequired',
        });
      break;
    case 'services':
      for (const [i, p] of ((o.spec?.ports ?? []) as Obj[]).entries()) {
        if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535)
          causes.push({
            field: `spec.ports[${i}].port`,
            message: `Invalid value: ${JSON.stringify(p.port)}: must be between 1 and 65535, inclusive`,
          });
      }
      break;
    default:
      break;
  }
  if (causes.length > 0) throw invalid(rt.group, rt.kind, name, causes);
}

function validatePodSpec(spec: Obj | undefined, at: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const containers = (spec?.containers ?? []) as Obj[];
  if (containers.length === 0)
    causes.push({
      field: `${at}.containers`,
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  for (const [i, c] of containers.entries()) {
    if (!c.name)
      causes.push({
        field: `${at}.containers[${i}].name`,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
    if (!c.image)
      causes.push({
        field: `${at}.containers[${i}].image`,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
  }
  return causes;
}

/**
 * Jobs: the server labels the template with the job's uid and name and sets
 * the selector to the uid (unless manualSelector), before the object is stored.
 */
export function defaultJobSelector(job: KubeObject): void {
  const o = job as Obj;
  o.spec ??= {};
  if (o.spec.manualSelector === true && o.spec.selector) return;
  const uid = String(o.metadata.uid);
  const name = String(o.metadata.name);
  o.spec.template ??= {};
  o.spec.template.metadata ??= {};
  o.spec.template.metadata.labels = {
    ...(o.spec.template.metadata.labels ?? {}),
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
  o.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
}
