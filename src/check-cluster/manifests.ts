/**
 * Objects of one `check --in-cluster` run: a coordinator (Deployment +
 * Service) and an Indexed Job of shards, both running the same esbuild bundle
 * on the stock Node.js image, shipped gzip-compressed in ConfigMaps exactly
 * like the sink (same bootstrap, same part size). Nothing but code is stored
 * in ConfigMaps: the addresses stream through the coordinator's HTTP API, so
 * the list size is not bounded by etcd.
 *
 * Pure: clock, token and bundle are inputs.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { COMPONENT_LABEL, NAME_LABEL, lifetimeAnnotations, managedLabels, ANNOTATION_PREFIX } from '../cluster-meta.ts';
import { evError } from '../errors.ts';
import { BUNDLE_PART_BYTES, DEFAULT_NODE_IMAGE, NODE_USER_UID as SINK_UID, bootstrapProgram, bundlePartName, splitBytes } from '../bundle-shipping.ts';
import type { KubeObject } from '../kube-object.ts';

/** The container's program: unpack the checker's bundle (not the sink's) and run it. */
const BOOTSTRAP = bootstrapProgram('check.bundle.mjs');
import { COORDINATOR_PORT, type CoordinatorLimits, type ShardOptions } from './protocol.ts';

/** Name label value of every object of a check run (and the prefix of their names). */
export const CHECK_NAME = 'email-check';
export const COORDINATOR_NAME = `${CHECK_NAME}-coordinator`;
export const SHARDS_NAME = `${CHECK_NAME}-shards`;
export const CHECK_TOKEN_SECRET = `${CHECK_NAME}-token`;
export const CHECK_TOKEN_KEY = 'token';
/** Selector of the coordinator pod. */
export const COORDINATOR_SELECTOR = `${NAME_LABEL}=${CHECK_NAME},${COMPONENT_LABEL}=coordinator`;
/** Selector of the shard pods. */
export const SHARD_SELECTOR = `${NAME_LABEL}=${CHECK_NAME},${COMPONENT_LABEL}=shard`;
/** Shards at most: beyond this the coordinator, not the shards, is the bottleneck. */
export const MAX_SHARDS = 100;
/** Where the bundle parts are mounted and unpacked. */
export const CHECK_BUNDLE_DIR = '/opt/email-check/bundle';
export const CHECK_WORK_DIR = '/tmp';

export interface CheckClusterManifestOptions {
  namespace: string;
  createNamespace: boolean;
  now: Date;
  ttlMs: number;
  token: string;
  bundle: Uint8Array;
  shards: number;
  shard: ShardOptions;
  limits: CoordinatorLimits;
  nodeImage?: string;
  /** Lease TTL (ms) the coordinator applies to shards. */
  leaseTtlMs?: number;
}

/** In-cluster URL of the coordinator, as shards use it. */
export function coordinatorUrl(namespace: string): string {
  return `http://${COORDINATOR_NAME}.${namespace}.svc.cluster.local:${COORDINATOR_PORT}`;
}

/**
 * All objects in apply order. The Job is last: the CLI applies it only once
 * the coordinator is ready, so shards never start against nothing.
 */
export function buildCheckClusterManifests(o: CheckClusterManifestOptions): KubeObject[] {
  if (!Number.isInteger(o.shards) || o.shards < 1 || o.shards > MAX_SHARDS) {
    throw evError('EV_ERR_INVALID_OPTION', `--shards ${o.shards} is out of range`, { hint: `use 1 to ${MAX_SHARDS}.` });
  }
  const ns = o.namespace;
  const annotations = lifetimeAnnotations(o.now, o.ttlMs);
  const labels = (component: string): Record<string, string> => managedLabels({ [NAME_LABEL]: CHECK_NAME, [COMPONENT_LABEL]: component });
  const meta = (name: string, component: string): KubeObject['metadata'] => ({ name, namespace: ns, labels: labels(component), annotations });
  const objects: KubeObject[] = [];
  if (o.createNamespace) {
    objects.push({
      apiVersion: 'v1', kind: 'Namespace',
      metadata: { name: ns, labels: managedLabels({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' }), annotations },
    });
  }
  objects.push({
    apiVersion: 'v1', kind: 'Secret', metadata: meta(CHECK_TOKEN_SECRET, 'api-token'), type: 'Opaque',
    data: { [CHECK_TOKEN_KEY]: Buffer.from(o.token, 'utf8').toString('base64') },
  });
  const gz = gzipSync(o.bundle, { level: 9 });
  const bundleHash = createHash('sha256').update(o.bundle).digest('hex');
  const parts = splitBytes(gz, BUNDLE_PART_BYTES);
  parts.forEach((part, i) => objects.push({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${CHECK_NAME}-bundle-${i}`, 'bundle'),
    binaryData: { [bundlePartName(i)]: Buffer.from(part).toString('base64') },
  }));
  const bundleVolume = { name: 'bundle', projected: { sources: parts.map((_, i) => ({ configMap: { name: `${CHECK_NAME}-bundle-${i}` } })) } };
  const baseEnv = [
    { name: 'EV_BUNDLE_DIR', value: CHECK_BUNDLE_DIR },
    { name: 'EV_WORK_DIR', value: CHECK_WORK_DIR },
    { name: 'EV_TOKEN', valueFrom: { secretKeyRef: { name: CHECK_TOKEN_SECRET, key: CHECK_TOKEN_KEY } } },
  ];
  const podSpec = (role: 'coordinator' | 'shard', env: Array<Record<string, unknown>>, extra: Record<string, unknown>): Record<string, unknown> => ({
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { runAsNonRoot: true, runAsUser: SINK_UID, runAsGroup: SINK_UID, fsGroup: SINK_UID, seccompProfile: { type: 'RuntimeDefault' } },
    ...extra,
    containers: [{
      name: role,
      image: o.nodeImage ?? DEFAULT_NODE_IMAGE,
      imagePullPolicy: 'IfNotPresent',
      command: ['node', '-e', BOOTSTRAP],
      env: [...baseEnv, { name: 'EV_CHECK_ROLE', value: role }, ...env],
      ...(role === 'coordinator' ? {
        ports: [{ name: 'http', containerPort: COORDINATOR_PORT, protocol: 'TCP' }],
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 3 },
        livenessProbe: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
        // Holds at most MAX_LIVE_ITEMS items and results.
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      } : {
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '384Mi' } },
      }),
      securityContext: {
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: SINK_UID, runAsGroup: SINK_UID,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [{ name: 'tmp', mountPath: CHECK_WORK_DIR }, { name: 'bundle', mountPath: CHECK_BUNDLE_DIR, readOnly: true }],
    }],
    volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, bundleVolume],
  });
  const podAnnotations = { [`${ANNOTATION_PREFIX}/bundle-sha256`]: bundleHash };

  objects.push({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(COORDINATOR_NAME, 'coordinator'),
    spec: {
      replicas: 1,
      selector: { matchLabels: labels('coordinator') },
      template: {
        metadata: { labels: labels('coordinator'), annotations: podAnnotations },
        spec: podSpec('coordinator', [
          { name: 'EV_HOST', value: '::' },
          { name: 'EV_PORT', value: String(COORDINATOR_PORT) },
          { name: 'EV_CHECK_LIMITS', value: JSON.stringify(o.limits) },
          ...(o.leaseTtlMs ? [{ name: 'EV_LEASE_TTL_MS', value: String(o.leaseTtlMs) }] : []),
          { name: 'NODE_OPTIONS', value: '--max-old-space-size=384' },
        ], {}),
      },
    },
  });
  objects.push({
    apiVersion: 'v1', kind: 'Service', metadata: meta(COORDINATOR_NAME, 'coordinator'),
    spec: { type: 'ClusterIP', selector: labels('coordinator'), ports: [{ name: 'http', port: COORDINATOR_PORT, targetPort: 'http', protocol: 'TCP' }] },
  });
  objects.push({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(COORDINATOR_NAME, 'coordinator'),
    spec: {
      podSelector: { matchLabels: labels('coordinator') },
      policyTypes: ['Ingress'],
      // Shards in this namespace only; the CLI comes through the API server's port-forward.
      ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: COORDINATOR_PORT }] }],
    },
  });
  objects.push({
    apiVersion: 'batch/v1', kind: 'Job', metadata: meta(SHARDS_NAME, 'shard'),
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.shards,
      // A shard that crashes is restarted; its leases expire meanwhile and other shards redo them.
      backoffLimit: Math.max(6, o.shards * 2),
      template: {
        metadata: { labels: labels('shard'), annotations: podAnnotations },
        spec: podSpec('shard', [
          { name: 'EV_COORDINATOR_URL', value: coordinatorUrl(ns) },
          { name: 'EV_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'EV_CHECK_OPTIONS', value: JSON.stringify(o.shard) },
          { name: 'NODE_OPTIONS', value: '--max-old-space-size=320' },
        ], { restartPolicy: 'OnFailure' }),
      },
    },
  });
  return objects;
}
