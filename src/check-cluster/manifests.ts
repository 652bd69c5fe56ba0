/**
 * Objects of one `check --in-cluster` run: Redis (the official image, as its
 * non-root user, append-only file on an emptyDir: Deployment + Service +
 * NetworkPolicy, its password in a Secret) and an Indexed Job of shards
 * running our esbuild bundle on the stock Node.js image, shipped
 * gzip-compressed in ConfigMaps exactly like the sink (same bootstrap, same
 * part size). Nothing but code is stored in ConfigMaps: the addresses stream
 * into Redis through the tunnel, so the list size is not bounded by etcd.
 *
 * Pure: clock, password and bundle are inputs.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  COMPONENT_LABEL,
  NAME_LABEL,
  lifetimeAnnotations,
  managedLabels,
  ANNOTATION_PREFIX,
} from '../cluster-meta.ts';
import { evError } from '../errors.ts';
import {
  BUNDLE_PART_BYTES,
  DEFAULT_NODE_IMAGE,
  NODE_USER_UID as SINK_UID,
  bootstrapProgram,
  bundlePartName,
  splitBytes,
} from '../bundle-shipping.ts';
import type { KubeObject } from '../kube-object.ts';
import {
  REDIS_MAXMEMORY_MB,
  REDIS_PORT,
  type ClusterLimits,
  type ShardOptions,
} from './protocol.ts';
import {
  PROVIDER_DIR,
  PROVIDER_FILE_ENV,
  PROVIDER_SECRET,
  PROVIDER_SECRET_KEY,
} from './provider-secret.ts';

/** The container's program: unpack the checker's bundle (not the sink's) and run it. */
const BOOTSTRAP = bootstrapProgram('checker.bundle.mjs');

/** Name label value of every object of a check run (and the prefix of their names). */
export const CHECK_NAME = 'email-check';
export const REDIS_NAME = `${CHECK_NAME}-redis`;
export const SHARDS_NAME = `${CHECK_NAME}-shards`;
export const CHECK_TOKEN_SECRET = `${CHECK_NAME}-token`;
export const CHECK_TOKEN_KEY = 'token';
/** Key of the Redis configuration (holds the password) in the same Secret. */
export const REDIS_CONF_KEY = 'redis.conf';
/** Selector of the Redis pod. */
export const REDIS_SELECTOR = `${NAME_LABEL}=${CHECK_NAME},${COMPONENT_LABEL}=redis`;
/** The official Redis image (Redis 7: streams with XAUTOCLAIM, multi-part AOF). */
export const DEFAULT_REDIS_IMAGE = 'redis:7-alpine';
/** The `redis` user and group of the official image. */
export const REDIS_UID = 999;
export const REDIS_GID = 1000;
/** Where Redis keeps its append-only file (an emptyDir: survives container restarts, not the pod). */
export const REDIS_DATA_DIR = '/data';
export const REDIS_CONF_DIR = '/etc/email-check-redis';
/** Selector of the shard pods. */
export const SHARD_SELECTOR = `${NAME_LABEL}=${CHECK_NAME},${COMPONENT_LABEL}=shard`;
/** Shards at most: beyond this Redis, not the shards, is the bottleneck. */
export const MAX_SHARDS = 100;
/** Bundle parts at most (a checker bundle is one part today; removal of a reattached run looks for this many). */
export const MAX_BUNDLE_PARTS = 4;
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
  limits: ClusterLimits;
  nodeImage?: string;
  redisImage?: string;
  /** Lease TTL (ms) after which another shard takes over a batch. */
  leaseTtlMs?: number;
  /** Seconds a shard keeps trying an unreachable Redis before it exits (and is restarted). */
  redisUnreachableMs?: number;
  /** `--provider`: the config and its credentials (provider-secret.ts), in a Secret mounted into the shards. */
  provider?: string;
}

/** In-cluster host name of Redis, as shards use it. */
export function redisHost(namespace: string): string {
  return `${REDIS_NAME}.${namespace}.svc.cluster.local`;
}

/**
 * All objects in apply order. The Job is last: the CLI applies it only once
 * Redis is ready and the run is created in it, so shards never start against nothing.
 */
export function buildCheckClusterManifests(o: CheckClusterManifestOptions): KubeObject[] {
  if (!Number.isInteger(o.shards) || o.shards < 1 || o.shards > MAX_SHARDS) {
    throw evError('EV_ERR_INVALID_OPTION', `--shards ${o.shards} is out of range`, {
      hint: `use 1 to ${MAX_SHARDS}.`,
    });
  }
  const ns = o.namespace;
  const annotations = lifetimeAnnotations(o.now, o.ttlMs);
  const labels = (component: string): Record<string, string> =>
    managedLabels({ [NAME_LABEL]: CHECK_NAME, [COMPONENT_LABEL]: component });
  const meta = (name: string, component: string): KubeObject['metadata'] => ({
    name,
    namespace: ns,
    labels: labels(component),
    annotations,
  });
  const objects: KubeObject[] = [];
  if (o.createNamespace) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ns,
        labels: managedLabels({
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        }),
        annotations,
      },
    });
  }
  objects.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(CHECK_TOKEN_SECRET, 'api-token'),
    type: 'Opaque',
    data: {
      [CHECK_TOKEN_KEY]: Buffer.from(o.token, 'utf8').toString('base64'),
      // The password reaches Redis in its config file, never in argv (visible in `ps`) or a ConfigMap.
      [REDIS_CONF_KEY]: Buffer.from(`requirepass ${o.token}\n`, 'utf8').toString('base64'),
    },
  });
  if (o.provider !== undefined)
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(PROVIDER_SECRET, 'provider'),
      type: 'Opaque',
      // Immutable: nothing rewrites the credentials of a running run.
      immutable: true,
      data: { [PROVIDER_SECRET_KEY]: Buffer.from(o.provider, 'utf8').toString('base64') },
    });
  const gz = gzipSync(o.bundle, { level: 9 });
  const bundleHash = createHash('sha256').update(o.bundle).digest('hex');
  const parts = splitBytes(gz, BUNDLE_PART_BYTES);
  parts.forEach((part, i) =>
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(`${CHECK_NAME}-bundle-${i}`, 'bundle'),
      binaryData: { [bundlePartName(i)]: Buffer.from(part).toString('base64') },
    }),
  );
  const bundleVolume = {
    name: 'bundle',
    projected: {
      sources: parts.map((_, i) => ({ configMap: { name: `${CHECK_NAME}-bundle-${i}` } })),
    },
  };
  const baseEnv = [
    { name: 'EV_BUNDLE_DIR', value: CHECK_BUNDLE_DIR },
    { name: 'EV_WORK_DIR', value: CHECK_WORK_DIR },
    {
      name: 'EV_TOKEN',
      valueFrom: { secretKeyRef: { name: CHECK_TOKEN_SECRET, key: CHECK_TOKEN_KEY } },
    },
  ];
  const shardPod: Record<string, unknown> = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    restartPolicy: 'OnFailure',
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SINK_UID,
      runAsGroup: SINK_UID,
      fsGroup: SINK_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'shard',
        image: o.nodeImage ?? DEFAULT_NODE_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        command: ['node', '-e', BOOTSTRAP],
        env: [
          ...baseEnv,
          { name: 'EV_REDIS_ADDRESS', value: `${redisHost(ns)}:${REDIS_PORT}` },
          { name: 'EV_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'EV_CHECK_OPTIONS', value: JSON.stringify(o.shard) },
          { name: 'EV_CHECK_LIMITS', value: JSON.stringify(o.limits) },
          ...(o.provider !== undefined
            ? [{ name: PROVIDER_FILE_ENV, value: `${PROVIDER_DIR}/${PROVIDER_SECRET_KEY}` }]
            : []),
          ...(o.leaseTtlMs ? [{ name: 'EV_LEASE_TTL_MS', value: String(o.leaseTtlMs) }] : []),
          ...(o.redisUnreachableMs
            ? [{ name: 'EV_REDIS_UNREACHABLE_MS', value: String(o.redisUnreachableMs) }]
            : []),
          { name: 'NODE_OPTIONS', value: '--max-old-space-size=320' },
        ],
        resources: {
          requests: { cpu: '100m', memory: '128Mi' },
          limits: { cpu: '1', memory: '384Mi' },
        },
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsUser: SINK_UID,
          runAsGroup: SINK_UID,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        volumeMounts: [
          { name: 'tmp', mountPath: CHECK_WORK_DIR },
          { name: 'bundle', mountPath: CHECK_BUNDLE_DIR, readOnly: true },
          ...(o.provider !== undefined
            ? [{ name: 'provider', mountPath: PROVIDER_DIR, readOnly: true }]
            : []),
        ],
      },
    ],
    volumes: [
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      bundleVolume,
      ...(o.provider !== undefined
        ? [
            {
              name: 'provider',
              // Readable by the shard's group (fsGroup) only.
              secret: {
                secretName: PROVIDER_SECRET,
                items: [{ key: PROVIDER_SECRET_KEY, path: PROVIDER_SECRET_KEY }],
                defaultMode: 0o440,
              },
            },
          ]
        : []),
    ],
  };
  const redisPod: Record<string, unknown> = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: REDIS_UID,
      runAsGroup: REDIS_GID,
      fsGroup: REDIS_GID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'redis',
        image: o.redisImage ?? DEFAULT_REDIS_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        command: [
          'redis-server',
          `${REDIS_CONF_DIR}/${REDIS_CONF_KEY}`,
          '--port',
          String(REDIS_PORT),
          '--bind',
          '*',
          '-::*',
          // Every write goes to the append-only file before it is answered, so a restarted
          // container loses nothing acknowledged; no RDB snapshots besides.
          '--dir',
          REDIS_DATA_DIR,
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--save',
          '',
          '--maxmemory',
          `${REDIS_MAXMEMORY_MB}mb`,
          '--maxmemory-policy',
          'noeviction',
        ],
        ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
        readinessProbe: {
          tcpSocket: { port: 'redis' },
          periodSeconds: 2,
          timeoutSeconds: 2,
          failureThreshold: 3,
        },
        livenessProbe: {
          tcpSocket: { port: 'redis' },
          periodSeconds: 10,
          timeoutSeconds: 2,
          failureThreshold: 3,
        },
        resources: {
          requests: { cpu: '100m', memory: '128Mi' },
          limits: { cpu: '1', memory: `${REDIS_MAXMEMORY_MB + 128}Mi` },
        },
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsUser: REDIS_UID,
          runAsGroup: REDIS_GID,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        volumeMounts: [
          { name: 'data', mountPath: REDIS_DATA_DIR },
          { name: 'conf', mountPath: REDIS_CONF_DIR, readOnly: true },
        ],
      },
    ],
    volumes: [
      { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
      {
        name: 'conf',
        secret: {
          secretName: CHECK_TOKEN_SECRET,
          items: [{ key: REDIS_CONF_KEY, path: REDIS_CONF_KEY }],
        },
      },
    ],
  };
  const podAnnotations = { [`${ANNOTATION_PREFIX}/bundle-sha256`]: bundleHash };

  objects.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(REDIS_NAME, 'redis'),
    spec: {
      replicas: 1,
      // One Redis at a time: two would split the run.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: labels('redis') },
      template: { metadata: { labels: labels('redis') }, spec: redisPod },
    },
  });
  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(REDIS_NAME, 'redis'),
    spec: {
      type: 'ClusterIP',
      selector: labels('redis'),
      ports: [{ name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' }],
    },
  });
  objects.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(REDIS_NAME, 'redis'),
    spec: {
      podSelector: { matchLabels: labels('redis') },
      policyTypes: ['Ingress'],
      // Shards in this namespace only; the CLI comes through the API server's port-forward.
      ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: REDIS_PORT }] }],
    },
  });
  objects.push({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(SHARDS_NAME, 'shard'),
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.shards,
      // A shard that crashes is restarted; meanwhile its leases expire and other shards take them over.
      backoffLimit: Math.max(6, o.shards * 2),
      template: {
        metadata: { labels: labels('shard'), annotations: podAnnotations },
        spec: shardPod,
      },
    },
  });
  return objects;
}

/**
 * Every object a check run may hold in its namespace, in removal order (the
 * shards first, the password last): what removes a run from a namespace it
 * did not create (`-n`), whatever its options were.
 */
export function checkRunObjectRefs(namespace: string): KubeObject[] {
  const ref = (apiVersion: string, kind: string, name: string): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name, namespace },
  });
  return [
    ref('batch/v1', 'Job', SHARDS_NAME),
    ref('networking.k8s.io/v1', 'NetworkPolicy', REDIS_NAME),
    ref('v1', 'Service', REDIS_NAME),
    ref('apps/v1', 'Deployment', REDIS_NAME),
    ...Array.from({ length: MAX_BUNDLE_PARTS }, (_, i) =>
      ref('v1', 'ConfigMap', `${CHECK_NAME}-bundle-${i}`),
    ),
    ref('v1', 'Secret', PROVIDER_SECRET),
    ref('v1', 'Secret', CHECK_TOKEN_SECRET),
  ];
}
