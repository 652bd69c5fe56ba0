/**
 * The sink's manifest builder: options -> the Kubernetes objects of one sink
 * (Namespace, token Secret, rules ConfigMap, the bundle's ConfigMaps,
 * Deployment, Service, NetworkPolicy, ServiceMonitor). Pure (clock and token
 * are inputs), so `up` applies exactly what `manifests` prints and the
 * rendered default in manifests/sink.yaml is checked by a test.
 *
 * Default runtime: the official Node.js image running the sink's esbuild
 * bundle, shipped in ConfigMaps (bundle-shipping.ts).
 */
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import {
  ANNOTATION_PREFIX,
  COMPONENT_LABEL,
  NAME_LABEL,
  SINK_NAME,
  TOKEN_SECRET_KEY,
  TOKEN_SECRET_NAME,
  lifetimeAnnotations,
  managedLabels,
} from './cluster-meta.ts';
import {
  DEFAULT_NODE_IMAGE,
  NODE_USER_UID,
  bootstrapProgram,
  shipBundle,
  type ShippedBundle,
} from './bundle-shipping.ts';
import { evError } from './errors.ts';
import type { KubeObject } from './kube-object.ts';

export type { KubeObject } from './kube-object.ts';

/** A sink is a test fixture; more replicas than this is a mistake, not a load test. */
export const MAX_REPLICAS = 10;
/** Rules are a short YAML list; 256 KiB is far beyond any hand-written file and well inside a ConfigMap. */
export const MAX_RULES_BYTES = 256 * 1024;

export const SMTP_CONTAINER_PORT = 1025;
export const HTTP_CONTAINER_PORT = 8025;
/** Service ports: 25 for apps that assume the standard port, 1025 like MailHog. */
export const SMTP_SERVICE_PORTS = [25, 1025] as const;
/** Where the bundle parts, rules and the unpacked bundle live in the pod. */
export const BUNDLE_DIR = '/opt/email-sink/bundle';
export const RULES_DIR = '/etc/email-sink';
export const WORK_DIR = '/tmp';
/** Raw mail the in-cluster sink keeps (its memory limit is 512 MiB). */
export const SINK_MAX_BYTES = 128 * 1024 * 1024;
/**
 * V8 flags of the sink process (cluster, sink/Dockerfile and `npm run bench:sink`
 * use the same): a bounded heap and a bounded nursery keep resident memory flat
 * under the store caps; the parse worker has its own limits (sink/parse-worker.ts).
 * The nursery is 8 MB (12 MB was tried: below, but the memory test of five 24 MiB messages peaked at 519 MiB RSS with it, over the pod limit). Scavenges copy the objects of every session in
 * progress, so their number per message is what the nursery size buys: with
 * one message per connection and 4 MB, sessions outlived scavenges and took
 * ~20% more CPU (178 vs 212 µs per message with 8 MB); 8 -> 12 MB took
 * bench:sink scenario 6 from 1.41x to 1.29x a bare smtp-server's CPU per
 * message on persistent sessions and from 1.31x to 1.19x with one message per
 * connection (16 MB: 1.30x and 1.27x, same run). The cost is memory: each MB of
 * semi-space is ~3 MB of young generation at full size; bench:sink-memory's
 * worst case peaked at 428-457 MiB with 12 MB (8 MB: 421-442, 16 MB: 434-464
 * in the same session; the pod's limit is 512 MiB). Node refuses
 * `--heap-growing-percent` and `--initial-old-space-size` in NODE_OPTIONS; the
 * first is set at run time by the sink process itself (sink/heap-growth.ts:
 * under this heap cap V8 lets the old generation grow only 1.3x between full
 * collections).
 */
export const SINK_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=8';
/** glibc malloc arenas of the sink process: the parse worker's thread would otherwise get arenas of its own that fragment (about 15 MB more resident). */
export const SINK_MALLOC_ARENA_MAX = '2';
/**
 * glibc only (the default image is Alpine, whose musl malloc already maps and
 * unmaps large blocks): a fixed mmap threshold, so that freed multi-MiB message
 * buffers go back to the system. glibc's sliding threshold otherwise rises to
 * the size of the last freed 24 MiB message and serves the next ones from a
 * heap that never shrinks: ~100 MB more resident in the memory worst case.
 */
export const SINK_MALLOC_MMAP_THRESHOLD = '131072';

export interface SinkManifestOptions {
  namespace: string;
  /** Emit the Namespace object (false with `-n EXISTING`). */
  createNamespace: boolean;
  /** Lifetime recorded on the objects (created-at, TTL, expires-at); null: none, the sink never expires (GitOps). */
  now: Date | null;
  ttlMs: number;
  /** The sink API bearer token (stored in a Secret); null: the Secret exists already and is only referenced. */
  token: string | null;
  /** The sink bundle (dist/sink/sink.bundle.mjs); required unless `image` is set. */
  bundle?: Uint8Array;
  /** Own sink image (sink/Dockerfile); no bundle ConfigMaps then. */
  image?: string;
  nodeImage?: string;
  replicas?: number;
  /** Rules YAML source. */
  rules?: string;
  serviceMonitor?: boolean;
  /** The sink's `--release-to` (EV_RELEASE_TO): servers MailHog/Mailpit "release" may relay to. */
  releaseTo?: string;
  /** The sink's `--cors-origin` (EV_CORS_ORIGIN) for the MailHog/Mailpit-compatible routes. */
  corsOrigin?: string;
}

/** In-cluster DNS name of the sink Service. */
export function sinkServiceHost(namespace: string): string {
  return `${SINK_NAME}.${namespace}.svc.cluster.local`;
}

/** `email-sink.<ns>.svc.cluster.local:25` and `:1025`. */
export function sinkSmtpAddresses(namespace: string): string[] {
  return SMTP_SERVICE_PORTS.map((p) => `${sinkServiceHost(namespace)}:${p}`);
}

/** The sink bundle's file name in the pod's work directory. */
export const SINK_BUNDLE_FILE = 'sink.bundle.mjs';
/** The container's program: unpack the shipped sink bundle and run it. */
export const BOOTSTRAP = bootstrapProgram(SINK_BUNDLE_FILE);

function validate(o: SinkManifestOptions): void {
  const replicas = o.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw evError('EV_ERR_INVALID_OPTION', `--replicas ${o.replicas} is out of range`, {
      hint: `use 1 to ${MAX_REPLICAS}.`,
    });
  }
  if (!o.image && !o.bundle) {
    throw evError('EV_ERR_INTERNAL', 'the sink bundle is missing', {
      hint: 'run `npm run build` (dist/sink/sink.bundle.mjs), or pass --image.',
    });
  }
  if (o.rules !== undefined && Buffer.byteLength(o.rules) > MAX_RULES_BYTES) {
    throw evError('EV_ERR_INVALID_OPTION', `--rules file is larger than ${MAX_RULES_BYTES} bytes`, {
      hint: 'rules are a short YAML list; trim the file.',
    });
  }
}

/** Builds every object of one sink, in apply order. */
export function buildSinkManifests(o: SinkManifestOptions): KubeObject[] {
  validate(o);
  const ns = o.namespace;
  const annotations = o.now === null ? undefined : lifetimeAnnotations(o.now, o.ttlMs);
  const labels = (component: string) =>
    managedLabels({ [NAME_LABEL]: SINK_NAME, [COMPONENT_LABEL]: component });
  const meta = (name: string, component: string) => ({
    name,
    namespace: ns,
    labels: labels(component),
    ...(annotations ? { annotations } : {}),
  });
  const objects: KubeObject[] = [];

  if (o.createNamespace) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ns,
        // The namespace itself enforces the restricted Pod Security Standard.
        labels: managedLabels({
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        }),
        ...(annotations ? { annotations } : {}),
      },
    });
  }

  if (o.token !== null) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(TOKEN_SECRET_NAME, 'api-token'),
      type: 'Opaque',
      data: { [TOKEN_SECRET_KEY]: Buffer.from(o.token, 'utf8').toString('base64') },
    });
  }
  objects.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(`${SINK_NAME}-rules`, 'rules'),
    data: { 'rules.yaml': o.rules ?? '' },
  });

  const shipped =
    !o.image && o.bundle
      ? shipBundle(o.bundle, {
          configMapName: (i) => `${SINK_NAME}-bundle-${i}`,
          metadataOf: (name) => meta(name, 'bundle'),
          volumeName: 'bundle',
        })
      : null;
  if (shipped) objects.push(...shipped.configMaps);

  objects.push(deployment(o, meta(SINK_NAME, 'sink'), labels('sink'), shipped));
  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(SINK_NAME, 'sink'),
    spec: {
      type: 'ClusterIP',
      selector: podSelector(),
      ports: [
        ...SMTP_SERVICE_PORTS.map((port) => ({
          name: port === 25 ? 'smtp' : `smtp-${port}`,
          port,
          targetPort: 'smtp',
          protocol: 'TCP',
        })),
        { name: 'http', port: HTTP_CONTAINER_PORT, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  });
  objects.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(SINK_NAME, 'sink'),
    spec: {
      podSelector: { matchLabels: podSelector() },
      policyTypes: ['Ingress'],
      ingress: [
        // SMTP from anywhere in the cluster: the applications under test live elsewhere.
        { ports: [{ protocol: 'TCP', port: SMTP_CONTAINER_PORT }] },
        // The HTTP API (messages, token-protected) only from inside this namespace;
        // the CLI reaches it through the API server's port-forward.
        { from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: HTTP_CONTAINER_PORT }] },
        // With a ServiceMonitor, Prometheus (any namespace) must reach /metrics too.
        ...(o.serviceMonitor
          ? [
              {
                from: [
                  {
                    namespaceSelector: {},
                    podSelector: { matchLabels: { [NAME_LABEL]: 'prometheus' } },
                  },
                ],
                ports: [{ protocol: 'TCP', port: HTTP_CONTAINER_PORT }],
              },
            ]
          : []),
      ],
    },
  });
  if (o.serviceMonitor) {
    objects.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: meta(SINK_NAME, 'sink'),
      spec: {
        selector: { matchLabels: podSelector() },
        namespaceSelector: { matchNames: [ns] },
        endpoints: [
          {
            port: 'http',
            path: '/metrics',
            interval: '30s',
            bearerTokenSecret: { name: TOKEN_SECRET_NAME, key: TOKEN_SECRET_KEY },
          },
        ],
      },
    });
  }
  return objects;
}

function podSelector(): Record<string, string> {
  return managedLabels({ [NAME_LABEL]: SINK_NAME });
}

function deployment(
  o: SinkManifestOptions,
  metadata: KubeObject['metadata'],
  labels: Record<string, string>,
  shipped: ShippedBundle | null,
): KubeObject {
  const useBundle = shipped !== null;
  const env: Array<Record<string, unknown>> = [
    // `::` is dual-stack: IPv6-only and IPv6-first clusters probe and route to the pod's IPv6 address.
    { name: 'EV_HOST', value: '::' },
    { name: 'EV_SMTP_PORT', value: String(SMTP_CONTAINER_PORT) },
    { name: 'EV_HTTP_PORT', value: String(HTTP_CONTAINER_PORT) },
    {
      name: 'EV_TOKEN',
      valueFrom: { secretKeyRef: { name: TOKEN_SECRET_NAME, key: TOKEN_SECRET_KEY } },
    },
    // Heap and nursery bounded well below the memory limit, leaving room for raw mail (off-heap) and the parse worker.
    { name: 'NODE_OPTIONS', value: SINK_NODE_OPTIONS },
    { name: 'MALLOC_ARENA_MAX', value: SINK_MALLOC_ARENA_MAX },
    { name: 'MALLOC_MMAP_THRESHOLD_', value: SINK_MALLOC_MMAP_THRESHOLD },
    // Stored raw mail capped at a quarter of the memory limit: parsed copies and the event window need the rest.
    { name: 'EV_MAX_BYTES', value: String(SINK_MAX_BYTES) },
  ];
  if (o.rules) env.push({ name: 'EV_RULES_FILE', value: `${RULES_DIR}/rules.yaml` });
  // The sink validates both again at start (sink/config.ts); `up` checks them before applying.
  if (o.releaseTo) env.push({ name: 'EV_RELEASE_TO', value: o.releaseTo });
  if (o.corsOrigin) env.push({ name: 'EV_CORS_ORIGIN', value: o.corsOrigin });
  if (useBundle)
    env.push(
      { name: 'EV_BUNDLE_DIR', value: BUNDLE_DIR },
      { name: 'EV_WORK_DIR', value: WORK_DIR },
    );

  const volumeMounts: Array<Record<string, unknown>> = [
    { name: 'tmp', mountPath: WORK_DIR },
    { name: 'rules', mountPath: RULES_DIR, readOnly: true },
  ];
  const volumes: Array<Record<string, unknown>> = [
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    { name: 'rules', configMap: { name: `${SINK_NAME}-rules` } },
  ];
  if (shipped) {
    volumeMounts.push({ name: 'bundle', mountPath: BUNDLE_DIR, readOnly: true });
    volumes.push(shipped.volume);
  }
  const probe = (path: string, period: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  const container: Record<string, unknown> = {
    name: 'sink',
    image: o.image ?? o.nodeImage ?? DEFAULT_NODE_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    ...(useBundle ? { command: ['node', '-e', BOOTSTRAP] } : {}),
    ports: [
      { name: 'smtp', containerPort: SMTP_CONTAINER_PORT, protocol: 'TCP' },
      { name: 'http', containerPort: HTTP_CONTAINER_PORT, protocol: 'TCP' },
    ],
    env,
    resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    readinessProbe: probe('/readyz', 2),
    livenessProbe: probe('/livez', 10),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: NODE_USER_UID,
      runAsGroup: NODE_USER_UID,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts,
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: podSelector() },
      template: {
        metadata: {
          labels,
          annotations: {
            ...(shipped ? { [`${ANNOTATION_PREFIX}/bundle-sha256`]: shipped.sha256 } : {}),
            // A changed Secret or rules ConfigMap does not restart pods by itself: this checksum
            // changes the template, so a re-run of `up` rolls the pods onto the new token and rules.
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(o.token ?? '', o.rules ?? ''),
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NODE_USER_UID,
            runAsGroup: NODE_USER_UID,
            fsGroup: NODE_USER_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container],
          volumes,
        },
      },
    },
  };
}

/** Pod-template annotation: checksum of what the pod reads only at start (token, rules). */
export const CONFIG_CHECKSUM_ANNOTATION = `${ANNOTATION_PREFIX}/config-sha256`;

/** sha256 over the token and the rules, length-prefixed so no two pairs collide. */
export function configChecksum(token: string, rules: string): string {
  return createHash('sha256')
    .update(`${Buffer.byteLength(token)}:${token}\n${Buffer.byteLength(rules)}:${rules}`)
    .digest('hex');
}

/** Multi-document YAML, in apply order, with an optional `#` comment header. */
export function manifestsToYaml(objects: KubeObject[], header?: string): string {
  const docs = objects.map((o) => YAML.stringify(o, { lineWidth: 0 }));
  const head = header
    ? `${header
        .split('\n')
        .map((l) => `# ${l}`.trimEnd())
        .join('\n')}\n`
    : '';
  return `${head}${docs.map((d) => `---\n${d}`).join('')}`;
}

/** Stand-ins used for the rendered default in manifests/sink.yaml (deterministic, reviewable). */
export const PLACEHOLDER_TOKEN = 'REPLACE-WITH-A-RANDOM-TOKEN-32-CHARS';
export const PLACEHOLDER_BUNDLE =
  "console.error('placeholder bundle: render the real one with `kubectl email-validate manifests`');process.exit(1);\n";
export const RENDERED_DEFAULT_HEADER = [
  'Rendered default of the manifest builder for a namespace named email-validation (kept in sync by a test).',
  'It shows every object `up` applies. Two stand-ins keep it stable and reviewable:',
  '- the Secret holds a placeholder token: replace it with a random string of 32+ characters;',
  '- the email-sink-bundle-0 ConfigMap holds a placeholder program, not the sink.',
  'For a deployable file run: kubectl email-validate manifests -n NAMESPACE > sink.yaml',
].join('\n');

/** The objects of manifests/sink.yaml. */
export function renderedDefault(): string {
  const objects = buildSinkManifests({
    namespace: 'email-validation',
    createNamespace: true,
    now: new Date('2026-01-01T00:00:00Z'),
    ttlMs: 2 * 3600_000,
    token: PLACEHOLDER_TOKEN,
    bundle: Buffer.from(PLACEHOLDER_BUNDLE),
  });
  return manifestsToYaml(objects, RENDERED_DEFAULT_HEADER);
}
