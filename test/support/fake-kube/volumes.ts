/**
 * What the kubelet materialises for a pod before its containers start:
 * ConfigMap, Secret, projected, downwardAPI and emptyDir volumes as real
 * directories under the pod's temp dir, the container's environment
 * (value, valueFrom secretKeyRef/configMapKeyRef/fieldRef/resourceFieldRef,
 * envFrom), and the mountPath -> host directory map used to rewrite absolute
 * container paths in command, args, env values and workingDir.
 */
import { valueText } from './value-text.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { resolveResource } from './resources.ts';
import type { KubeObject, Store } from './store.ts';

type Obj = Record<string, any>;

/** A volume or env source that is missing: the kubelet retries, the pod waits. */
export class MissingSourceError extends Error {
  readonly reason: 'CreateContainerConfigError' | 'FailedMount';
  constructor(reason: 'CreateContainerConfigError' | 'FailedMount', message: string) {
    super(message);
    this.name = 'MissingSourceError';
    this.reason = reason;
  }
}

function safeRelative(path: string): string {
  const n = normalize(path).replace(/^(\.\.(\/|$))+/, '');
  if (n.startsWith('/') || n.split('/').includes('..'))
    throw new MissingSourceError('FailedMount', `invalid path ${JSON.stringify(path)}`);
  return n;
}

function writeEntry(dir: string, rel: string, content: Buffer, mode?: number): void {
  const file = join(dir, safeRelative(rel));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content, mode !== undefined ? { mode } : undefined);
}

function configMapEntries(cm: Obj): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(String(v), 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    out.set(k, Buffer.from(String(v), 'base64'));
  return out;
}

function secretEntries(s: Obj): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(String(v), 'base64'));
  return out;
}

/** Value of a downward-API fieldPath for a pod. */
export function fieldRefValue(pod: Obj, fieldPath: string): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return pod.metadata?.[m[1]]?.[m[2]];
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name;
    case 'metadata.namespace':
      return pod.metadata?.namespace;
    case 'metadata.uid':
      return pod.metadata?.uid;
    case 'spec.nodeName':
      return pod.spec?.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName;
    case 'status.podIP':
      return pod.status?.podIP;
    case 'status.hostIP':
      return pod.status?.hostIP;
    case 'status.podIPs':
      return pod.status?.podIP;
    case 'metadata.labels':
      return Object.entries(pod.metadata?.labels ?? {})
        .map(([k, v]) => `${k}="${valueText(v)}"`)
        .join('\n');
    case 'metadata.annotations':
      return Object.entries(pod.metadata?.annotations ?? {})
        .map(([k, v]) => `${k}="${valueText(v)}"`)
        .join('\n');
    default:
      return undefined;
  }
}

const QUANTITY = /^([0-9.]+)([a-zA-Z]*)$/;
const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

function resourceFieldValue(container: Obj, ref: Obj): string {
  const [kind, res] = String(ref.resource ?? '').split('.');
  const raw = container.resources?.[kind]?.[res];
  const divisor = ref.divisor ? parseQuantity(String(ref.divisor)) : 1;
  if (raw === undefined) return res === 'cpu' ? '1' : String(8 * 1024 ** 3);
  return String(Math.ceil(parseQuantity(String(raw)) / divisor));
}

function parseQuantity(q: string): number {
  const m = QUANTITY.exec(q);
  if (!m) return 0;
  return Number(m[1]) * (SUFFIX[m[2]] ?? 1);
}

export class PodMaterializer {
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  private configMap(
    ns: string,
    name: string,
    optional: boolean,
    reason: 'CreateContainerConfigError' | 'FailedMount',
  ): Obj | undefined {
    const cm = this.store.get(resolveResource('configmaps'), ns, name);
    if (!cm && !optional) throw new MissingSourceError(reason, `configmap "${name}" not found`);
    return cm;
  }

  private secret(
    ns: string,
    name: string,
    optional: boolean,
    reason: 'CreateContainerConfigError' | 'FailedMount',
  ): Obj | undefined {
    const s = this.store.get(resolveResource('secrets'), ns, name);
    if (!s && !optional) throw new MissingSourceError(reason, `secret "${name}" not found`);
    return s;
  }

  private writeProjection(
    dir: string,
    entries: Map<string, Buffer>,
    items: Obj[] | undefined,
    mode: number | undefined,
    optional: boolean,
    what: string,
  ): void {
    if (items && items.length > 0) {
      for (const item of items) {
        const content = entries.get(item.key);
        if (!content) {
          if (optional) continue;
          throw new MissingSourceError('FailedMount', `${what}: key "${item.key}" not found`);
        }
        writeEntry(dir, item.path ?? item.key, content, item.mode ?? mode);
      }
      return;
    }
    for (const [k, v] of entries) writeEntry(dir, k, v, mode);
  }

  /** Create each volume's directory under `root`; returns volume name -> dir. */
  materializeVolumes(pod: KubeObject, root: string): Map<string, string> {
    const p = pod as Obj;
    const ns = p.metadata.namespace as string;
    const dirs = new Map<string, string>();
    for (const v of (p.spec?.volumes ?? []) as Obj[]) {
      const dir = join(root, 'volumes', safeRelative(String(v.name)));
      mkdirSync(dir, { recursive: true });
      dirs.set(v.name, dir);
      if (v.configMap) {
        const cm = this.configMap(
          ns,
          v.configMap.name,
          v.configMap.optional === true,
          'FailedMount',
        );
        if (cm)
          this.writeProjection(
            dir,
            configMapEntries(cm),
            v.configMap.items,
            v.configMap.defaultMode,
            v.configMap.optional === true,
            `configmap "${v.configMap.name}"`,
          );
      } else if (v.secret) {
        const s = this.secret(ns, v.secret.secretName, v.secret.optional === true, 'FailedMount');
        if (s)
          this.writeProjection(
            dir,
            secretEntries(s),
            v.secret.items,
            v.secret.defaultMode,
            v.secret.optional === true,
            `secret "${v.secret.secretName}"`,
          );
      } else if (v.projected) {
        for (const src of (v.projected.sources ?? []) as Obj[]) {
          if (src.configMap) {
            const cm = this.configMap(
              ns,
              src.configMap.name,
              src.configMap.optional === true,
              'FailedMount',
            );
            if (cm)
              this.writeProjection(
                dir,
                configMapEntries(cm),
                src.configMap.items,
                v.projected.defaultMode,
                src.configMap.optional === true,
                `configmap "${src.configMap.name}"`,
              );
          } else if (src.secret) {
            const s = this.secret(ns, src.secret.name, src.secret.optional === true, 'FailedMount');
            if (s)
              this.writeProjection(
                dir,
                secretEntries(s),
                src.secret.items,
                v.projected.defaultMode,
                src.secret.optional === true,
                `secret "${src.secret.name}"`,
              );
          } else if (src.downwardAPI) {
            this.writeDownward(dir, p, src.downwardAPI.items ?? []);
          } else if (src.serviceAccountToken) {
            writeEntry(
              dir,
              src.serviceAccountToken.path ?? 'token',
              Buffer.from('fake-kube-projected-token'),
            );
          }
        }
      } else if (v.downwardAPI) {
        this.writeDownward(dir, p, v.downwardAPI.items ?? []);
      }
      // emptyDir and anything else: an empty directory.
    }
    return dirs;
  }

  private writeDownward(dir: string, pod: Obj, items: Obj[]): void {
    for (const item of items) {
      const value = item.fieldRef ? (fieldRefValue(pod, item.fieldRef.fieldPath) ?? '') : '';
      writeEntry(dir, item.path, Buffer.from(value));
    }
  }

  /** mountPath -> host path, longest mountPath first. */
  mountMap(container: Obj, volumeDirs: Map<string, string>): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const m of (container.volumeMounts ?? []) as Obj[]) {
      const dir = volumeDirs.get(m.name);
      if (!dir)
        throw new MissingSourceError(
          'CreateContainerConfigError',
          `volume "${m.name}" not found in pod spec`,
        );
      const host = m.subPath ? join(dir, safeRelative(String(m.subPath))) : dir;
      if (m.subPath) mkdirSync(dirname(host), { recursive: true });
      out.push([String(m.mountPath).replace(/\/+$/, '') || '/', host]);
    }
    out.sort((a, b) => b[0].length - a[0].length);
    return out;
  }

  /** The container's declared environment, resolved. */
  resolveEnv(pod: KubeObject, container: Obj): Record<string, string> {
    const p = pod as Obj;
    const ns = p.metadata.namespace as string;
    const env: Record<string, string> = {};
    for (const src of (container.envFrom ?? []) as Obj[]) {
      const prefix = src.prefix ?? '';
      if (src.configMapRef) {
        const cm = this.configMap(
          ns,
          src.configMapRef.name,
          src.configMapRef.optional === true,
          'CreateContainerConfigError',
        );
        for (const [k, v] of Object.entries(cm?.data ?? {})) env[prefix + k] = String(v);
      } else if (src.secretRef) {
        const s = this.secret(
          ns,
          src.secretRef.name,
          src.secretRef.optional === true,
          'CreateContainerConfigError',
        );
        for (const [k, v] of secretEntries(s ?? {})) env[prefix + k] = v.toString('utf8');
      }
    }
    for (const e of (container.env ?? []) as Obj[]) {
      if (e.valueFrom === undefined) {
        env[e.name] = expandRefs(String(e.value ?? ''), env);
        continue;
      }
      const vf = e.valueFrom as Obj;
      if (vf.secretKeyRef) {
        const s = this.secret(
          ns,
          vf.secretKeyRef.name,
          vf.secretKeyRef.optional === true,
          'CreateContainerConfigError',
        );
        const v = s ? secretEntries(s).get(vf.secretKeyRef.key) : undefined;
        if (v === undefined && s && vf.secretKeyRef.optional !== true)
          throw new MissingSourceError(
            'CreateContainerConfigError',
            `couldn't find key ${vf.secretKeyRef.key} in Secret ${ns}/${vf.secretKeyRef.name}`,
          );
        if (v !== undefined) env[e.name] = v.toString('utf8');
      } else if (vf.configMapKeyRef) {
        const cm = this.configMap(
          ns,
          vf.configMapKeyRef.name,
          vf.configMapKeyRef.optional === true,
          'CreateContainerConfigError',
        );
        const v = cm ? configMapEntries(cm).get(vf.configMapKeyRef.key) : undefined;
        if (v === undefined && cm && vf.configMapKeyRef.optional !== true)
          throw new MissingSourceError(
            'CreateContainerConfigError',
            `couldn't find key ${vf.configMapKeyRef.key} in ConfigMap ${ns}/${vf.configMapKeyRef.name}`,
          );
        if (v !== undefined) env[e.name] = v.toString('utf8');
      } else if (vf.fieldRef) {
        env[e.name] = fieldRefValue(p, String(vf.fieldRef.fieldPath)) ?? '';
      } else if (vf.resourceFieldRef) {
        env[e.name] = resourceFieldValue(container, vf.resourceFieldRef);
      }
    }
    return env;
  }
}

/** `$(VAR)` expansion as the kubelet does for env values, command and args. */
export function expandRefs(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
    (whole, name: string | undefined) => {
      if (whole === '$$') return '$';
      return name !== undefined && Object.hasOwn(env, name) ? env[name] : whole;
    },
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Rewrite absolute container paths that start with a mountPath to the host
 * directory holding that volume. A mountPath matches at the start of the
 * string or after a character that cannot be part of a path (space, `=`, `:`,
 * `,`, quotes), and must be followed by `/` or the end of the path.
 */
export function rewritePaths(
  text: string,
  mounts: ReadonlyArray<readonly [string, string]>,
): string {
  const usable = mounts.filter(([m]) => m !== '/');
  if (usable.length === 0) return text;
  // One pass, longest mountPath first, so a replacement is never rewritten again.
  const sorted = [...usable].sort((a, b) => b[0].length - a[0].length);
  const hostOf = new Map(sorted.map(([m, h]) => [m, h]));
  const re = new RegExp(
    `(^|[\\s=:,'"])(${sorted.map(([m]) => escapeRegExp(m)).join('|')})(?=$|[/\\s'",:;])`,
    'g',
  );
  return text.replace(
    re,
    (_m, pre: string, mountPath: string) => `${pre}${hostOf.get(mountPath) ?? mountPath}`,
  );
}
