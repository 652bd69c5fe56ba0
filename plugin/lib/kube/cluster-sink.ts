/**
 * The two entry points the rest of the CLI uses to reach a sink in a cluster:
 * {@link openClusterSink} (find a running sink, open tunnels to it) and
 * {@link createSink} (what `up` does, plus `destroy()`).
 */
import { randomBytes } from 'node:crypto';
import { API_TOKEN_BYTES, apiTokenFrom } from '../../../src/api-token.ts';
import {
  DEFAULT_TTL,
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  FIELD_MANAGER,
  SINK_NAME,
  SINK_POD_SELECTOR,
  TOKEN_SECRET_KEY,
  TOKEN_SECRET_NAME,
  generateNamespaceName,
  isValidNamespaceName,
  parseDuration,
  parseTtl,
} from '../../../src/cluster-meta.ts';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import {
  HTTP_CONTAINER_PORT,
  SMTP_CONTAINER_PORT,
  SMTP_SERVICE_PORTS,
  buildSinkManifests,
  sinkServiceHost,
  sinkSmtpAddresses,
  type KubeObject,
} from '../../../src/manifests.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import { Tunnel, type TunnelEvent } from '../tunnel/tunnel.ts';
import type { KubeClient } from './adapter.ts';
import { readSinkBundle } from './bundle.ts';
import type { Activity } from '../../../src/required-access.ts';
import { checkPermissions } from './permissions.ts';
import { isPodReady, waitForSinkReady } from './readiness.ts';
import { retryTransient, transientLabel } from './transient.ts';
import { ephemeralDeployment } from './ephemeral-namespace.ts';
import { systemClock } from '../../../src/system-clock.ts';
import { errorMessage } from '../../../src/guards.ts';

export { readSinkBundle };

export interface ClusterSinkEndpoint {
  /** The pod this tunnel reaches. */
  pod: string;
  /** `http://127.0.0.1:PORT` through a port-forward to the pod's HTTP API (8025). */
  apiUrl: string;
  /** Local end of a port-forward to the pod's SMTP port (1025). */
  smtp: { host: string; port: number };
}

export interface OpenClusterSinkOptions {
  /** Namespace of the sink; default: the only managed sink in the context (error when several). */
  namespace?: string;
  /** When no sink is found, create one (like `up`) and destroy it on close(). */
  create?: boolean;
  /** Options for the created sink when `create` is true. */
  createOptions?: Omit<CreateSinkOptions, 'namespace'>;
  /** Progress lines (stderr in the CLI). */
  onStatus?: (line: string) => void;
  /** Aborts discovery / creation (Ctrl-C). */
  signal?: AbortSignal;
  /** More of src/required-access.ts to pre-check with the sink's own rights (`run` with a job step: `job`). */
  alsoNeeds?: Activity[];
}

export interface ClusterSink {
  sinks: ClusterSinkEndpoint[];
  /** The sink's API bearer token, read from its Secret. */
  token: string;
  namespace: string;
  /** True when this call created the sink (close() then destroys it). */
  created: boolean;
  /** Closes the tunnels (and destroys the sink when it was created here). */
  close(): Promise<void>;
}

export interface CreateSinkOptions {
  /** Use this existing namespace instead of creating `email-validation-<time>-<random>`. */
  namespace?: string;
  /** Lifetime recorded on the objects, e.g. `2h` (default). */
  ttl?: string;
  replicas?: number;
  /** YAML rules source (the content of `--rules FILE`). */
  rules?: string;
  /** Sink image built from sink/Dockerfile; default: the Node image with the bundle in a ConfigMap. */
  image?: string;
  /** Node.js image for the default runtime (for mirrored registries). */
  nodeImage?: string;
  /** How long to wait for readiness, e.g. `2m` (default). */
  wait?: string;
  serviceMonitor?: boolean;
  /** The sink's `--release-to` (validated by the caller; the sink checks it again). */
  releaseTo?: string;
  /** The sink's `--cors-origin`. */
  corsOrigin?: string;
  onStatus?: (line: string) => void;
  signal?: AbortSignal;
  /**
   * Where to register the cleanup of what was created while creation is in
   * progress (the CLI passes its interrupt handler). Unregistered on return.
   */
  cleanups?: { register(label: string, run: () => Promise<void>): () => void };
  /** Leave what was created in place when creation fails (`--keep`). */
  keep?: boolean;
  /** More of src/required-access.ts to pre-check with `up`'s rights (`run` with a job step: `job`). */
  alsoNeeds?: Activity[];
  /** Test seams: clock, randomness, bundle bytes. */
  now?: () => Date;
  random?: () => number;
  bundle?: Uint8Array;
}

export interface CreatedSink {
  namespace: string;
  /** True when the namespace was created (false with `namespace`). */
  createdNamespace: boolean;
  token: string;
  replicas: number;
  /** In-cluster SMTP addresses: `email-sink.<ns>.svc.cluster.local:25` and `:1025`. */
  smtp: { host: string; ports: number[]; addresses: string[] };
  /** In-cluster HTTP API URL (reachable only from inside the namespace). */
  apiUrl: string;
  expiresAt: string;
  pods: string[];
  /** Deletes what was created (namespace, or the objects in an existing namespace). Idempotent. */
  destroy(): Promise<void>;
}

/** How long `down`/`destroy()` waits for a namespace to finish terminating (the ephemeral lifecycle's constant). */
export { NAMESPACE_GONE_WAIT_MS as NAMESPACE_DELETE_WAIT_MS } from './ephemeral-namespace.ts';
/** How long openClusterSink waits for an existing sink to be ready (it should already be). */
export const OPEN_READY_WAIT_MS = 30_000;

/**
 * client-node takes most of a second to import: load it only when a command
 * really talks to a cluster, so `--help` and `--sink` commands start fast.
 */
async function connectLazily(kube: KubeFlagsValues): Promise<KubeClient> {
  const { connect } = await import('./adapter.ts');
  return connect(kube);
}

/** Creates a sink: the namespace (unless given), the objects (server-side apply), then waits until ready. */
export async function createSink(
  kube: KubeFlagsValues,
  options: CreateSinkOptions = {},
): Promise<CreatedSink> {
  const status = options.onStatus ?? (() => {});
  const ttlMs = parseTtl(options.ttl ?? DEFAULT_TTL);
  const waitMs = parseDuration(options.wait ?? '2m', '--wait');
  const client = await connectLazily(kube);
  const now = (options.now ?? (() => new Date()))();
  const existing = options.namespace ?? kube.namespace;
  const createNamespace = existing === undefined;
  const namespace = existing ?? generateNamespaceName(now, options.random ?? Math.random);
  if (!isValidNamespaceName(namespace)) {
    throw evError('EV_ERR_INVALID_OPTION', `"${namespace}" is not a valid namespace name`, {
      hint: 'use lowercase letters, digits and dashes (at most 63).',
    });
  }
  const replicas = options.replicas ?? 1;

  status(`checking permissions in context "${client.resolved.context}"…`);
  await checkPermissions(client, {
    namespace,
    createNamespace,
    purpose: 'deploy the sink',
    activities: ['up', ...(options.alsoNeeds ?? [])],
    serviceMonitor: options.serviceMonitor ?? false,
  });
  if (!createNamespace && !(await client.getNamespace(namespace))) {
    throw evError('EV_ERR_KUBE_NOT_FOUND', `namespace ${namespace} does not exist`, {
      hint: 'omit -n to let `up` create a fresh namespace, or create it first (`kubectl create namespace NAME`).',
    });
  }
  // `up -n NS` again: keep the sink's token, so clients that hold it (a running `tail`) keep working;
  // a failure of this run must then leave the sink that was there.
  const previous = createNamespace ? undefined : await client.getDeployment(namespace, SINK_NAME);
  const previousToken = previous
    ? await client
        .readSecretKey(namespace, TOKEN_SECRET_NAME, TOKEN_SECRET_KEY)
        .catch((err: unknown) => {
          // Without `get secrets` a new token is written instead; the checksum on the pod template rolls the pods onto it.
          if (isEmailValidateError(err) && err.code === 'EV_ERR_KUBE_FORBIDDEN') return undefined;
          throw err;
        })
    : undefined;
  const token = previousToken || apiTokenFrom(randomBytes(API_TOKEN_BYTES));
  const objects = buildSinkManifests({
    namespace,
    createNamespace,
    now,
    ttlMs,
    token,
    ...(options.image ? { image: options.image } : { bundle: options.bundle ?? readSinkBundle() }),
    ...(options.nodeImage ? { nodeImage: options.nodeImage } : {}),
    replicas,
    ...(options.rules !== undefined ? { rules: options.rules } : {}),
    serviceMonitor: options.serviceMonitor ?? false,
    ...(options.releaseTo ? { releaseTo: options.releaseTo } : {}),
    ...(options.corsOrigin ? { corsOrigin: options.corsOrigin } : {}),
  });

  // Cleanup on failure or Ctrl-C removes only what this run brought into being.
  const ownsObjects = previous === undefined;
  const deployment = ephemeralDeployment({
    client,
    namespace,
    createNamespace,
    what: 'the sink objects',
    onStatus: status,
    ...(options.cleanups && !options.keep && ownsObjects ? { cleanups: options.cleanups } : {}),
    removeObjects: () => client.deleteSinkObjects(namespace),
    applyOne: async (obj, signal) => {
      if (obj.kind === 'ServiceMonitor') await applyOptional(client, obj, status);
      // Server-side apply is idempotent: a throttled or failed request is simply sent again.
      else
        await retryTransient(() => client.apply(obj), {
          clock: systemClock,
          signal,
          onRetry: (err) =>
            status(
              `the API server answered ${transientLabel(err)} to the apply of ${obj.kind} ${obj.metadata.name}; trying again…`,
            ),
        });
    },
  });
  const destroy = deployment.destroy;
  const label = deployment.label;
  try {
    if (options.signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
    await deployment.apply(objects, options.signal);
    status(`applied ${objects.length} objects (server-side apply, field manager ${FIELD_MANAGER})`);
    const pods = await waitForSinkReady(client, namespace, {
      replicas,
      timeoutMs: waitMs,
      signal: options.signal,
      onProgress: status,
    });
    deployment.release();
    const expiresAt = objects[0].metadata.annotations?.[EXPIRES_AT_ANNOTATION] ?? '';
    return {
      namespace,
      createdNamespace: createNamespace,
      token,
      replicas,
      smtp: {
        host: sinkServiceHost(namespace),
        ports: [...SMTP_SERVICE_PORTS],
        addresses: sinkSmtpAddresses(namespace),
      },
      apiUrl: `http://${sinkServiceHost(namespace)}:${HTTP_CONTAINER_PORT}`,
      expiresAt,
      pods: pods.map((p) => p.metadata?.name ?? ''),
      destroy,
    };
  } catch (err) {
    deployment.release();
    const interrupted =
      options.signal?.aborted || (isEmailValidateError(err) && err.code === 'EV_ERR_INTERRUPTED');
    // On Ctrl-C the interrupt handler runs the cleanup; on failure we do, unless --keep.
    if (!interrupted && !options.keep && !ownsObjects) {
      status(
        `the sink that was already in namespace ${namespace} is left in place (this run changed it; see \`kubectl rollout status deploy/${SINK_NAME} -n ${namespace}\`).`,
      );
    } else if (!interrupted && !options.keep) {
      status(`removing ${label} after the failure (use --keep to leave it for debugging)…`);
      try {
        await destroy();
      } catch {
        /* reported by gc later */
      }
    }
    throw err;
  }
}

async function applyOptional(
  client: KubeClient,
  obj: KubeObject,
  status: (l: string) => void,
): Promise<void> {
  try {
    await client.apply(obj);
  } catch (err) {
    status(
      `warning: could not create the ${obj.kind} (is the Prometheus Operator installed?): ${errorMessage(err)}`,
    );
  }
}

/** Finds the namespace of the one managed sink visible in the context. */
async function discoverNamespace(client: KubeClient): Promise<string | undefined> {
  let deployments;
  try {
    deployments = await client.listManagedDeployments();
  } catch (err) {
    // No cluster-wide list: fall back to the context's namespace.
    if (isEmailValidateError(err) && err.code === 'EV_ERR_KUBE_FORBIDDEN')
      deployments = await client.listManagedDeployments(client.namespace);
    else throw err;
  }
  const namespaces = [
    ...new Set(
      deployments
        .filter(
          (d) =>
            d.metadata?.name === SINK_NAME &&
            d.metadata?.labels?.[MANAGED_BY_LABEL] === FIELD_MANAGER,
        )
        .map((d) => d.metadata?.namespace ?? ''),
    ),
  ].filter(Boolean);
  if (namespaces.length > 1) {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `several sinks in context "${client.resolved.context}": ${namespaces.sort().join(', ')}`,
      {
        hint: 'choose one with -n NAMESPACE (see `kubectl email-validate status`).',
      },
    );
  }
  return namespaces[0];
}

/**
 * Finds a running sink (in `namespace`, or the only one in the context),
 * reads its token and opens two tunnels per ready pod: HTTP (8025) and SMTP
 * (1025). With `create`, makes one when none exists and destroys it on close.
 */
export async function openClusterSink(
  kube: KubeFlagsValues,
  options: OpenClusterSinkOptions = {},
): Promise<ClusterSink> {
  const status = options.onStatus ?? (() => {});
  const client = await connectLazily(kube);
  const named = options.namespace ?? kube.namespace;
  // With a known namespace, the rights are checked before the first read (a 403 there would hide which right is missing).
  if (named && !options.create)
    await checkPermissions(client, {
      namespace: named,
      createNamespace: false,
      purpose: 'reach the sink',
      activities: ['sink', ...(options.alsoNeeds ?? [])],
    });
  let namespace = named ?? (await discoverNamespace(client));
  let created: CreatedSink | undefined;
  if (!namespace || !(await client.getDeployment(namespace, SINK_NAME))) {
    if (!options.create) {
      throw evError(
        'EV_ERR_KUBE_NOT_FOUND',
        namespace
          ? `no sink in namespace ${namespace}`
          : `no sink found in context "${client.resolved.context}"`,
        {
          hint: 'start one with `kubectl email-validate up`, or pass -n NAMESPACE of an existing one.',
        },
      );
    }
    created = await createSink(kube, {
      ...options.createOptions,
      ...(namespace ? { namespace } : {}),
      onStatus: status,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    namespace = created.namespace;
  }
  const ns = namespace;
  if (!created && !(named && !options.create))
    await checkPermissions(client, {
      namespace: ns,
      createNamespace: false,
      purpose: 'reach the sink',
      activities: ['sink', ...(options.alsoNeeds ?? [])],
    });
  try {
    const token =
      created?.token ?? (await client.readSecretKey(ns, TOKEN_SECRET_NAME, TOKEN_SECRET_KEY));
    if (!token) {
      throw evError(
        'EV_ERR_KUBE_NOT_FOUND',
        `the sink's token Secret ${ns}/${TOKEN_SECRET_NAME} is missing`,
        {
          hint: `recreate the sink: \`kubectl email-validate down ${ns}\` then \`up\`.`,
        },
      );
    }
    const pods = await waitForSinkReady(client, ns, {
      replicas: 1,
      timeoutMs: OPEN_READY_WAIT_MS,
      signal: options.signal,
      onProgress: status,
    });
    const tunnels = await openTunnels(
      client,
      ns,
      pods.map((p) => p.metadata?.name ?? ''),
      status,
    );
    let closed = false;
    return {
      namespace: ns,
      token,
      created: created !== undefined,
      sinks: tunnels.map(({ http, smtp }) => ({
        pod: http.pod,
        apiUrl: http.url,
        smtp: { host: smtp.host, port: smtp.port },
      })),
      close: async () => {
        if (closed) return;
        closed = true;
        await Promise.all(tunnels.flatMap((t) => [t.http.close(), t.smtp.close()]));
        if (created) await created.destroy();
      },
    };
  } catch (err) {
    if (created) await created.destroy().catch(() => {});
    throw err;
  }
}

/** One HTTP and one SMTP tunnel per pod; a replaced pod is swapped for a ready one not already used. */
export async function openTunnels(
  client: KubeClient,
  namespace: string,
  pods: string[],
  status: (line: string) => void = () => {},
): Promise<Array<{ http: Tunnel; smtp: Tunnel }>> {
  const assigned = new Map<number, string>();
  const resolver =
    (slot: number) =>
    async (previous: string): Promise<string | undefined> => {
      const ready = (await client.listPods(namespace, SINK_POD_SELECTOR))
        .filter(isPodReady)
        .map((p) => p.metadata?.name ?? '');
      if (ready.includes(previous)) return previous;
      const taken = new Set([...assigned].filter(([s]) => s !== slot).map(([, p]) => p));
      const next = ready.find((p) => !taken.has(p)) ?? ready[0];
      if (next) assigned.set(slot, next);
      return next;
    };
  const onEvent = (e: TunnelEvent) => {
    if (e.type === 'pod-replaced') status(`tunnel: pod ${e.from} replaced by ${e.to}`);
    else if (e.type === 'gave-up') status(`tunnel: cannot reach pod ${e.pod}: ${e.error}`);
  };
  const request = (port: number) => (pod: string) =>
    client.portForwardRequest(namespace, pod, port);
  const result: Array<{ http: Tunnel; smtp: Tunnel }> = [];
  try {
    for (const [slot, pod] of pods.entries()) {
      assigned.set(slot, pod);
      const http = await Tunnel.open({
        pod,
        port: HTTP_CONTAINER_PORT,
        request: request(HTTP_CONTAINER_PORT),
        resolvePod: resolver(slot),
        onEvent,
      });
      const smtp = await Tunnel.open({
        pod,
        port: SMTP_CONTAINER_PORT,
        request: request(SMTP_CONTAINER_PORT),
        resolvePod: resolver(slot),
        onEvent,
      });
      result.push({ http, smtp });
    }
  } catch (err) {
    await Promise.all(result.flatMap((t) => [t.http.close(), t.smtp.close()]));
    throw err;
  }
  return result;
}
