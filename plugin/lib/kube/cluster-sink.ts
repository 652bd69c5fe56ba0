/**
 * The two entry points the rest of the CLI uses to reach a sink in a cluster:
 * {@link openClusterSink} (find a running sink, open tunnels to it) and
 * {@link createSink} (what `up` does, plus `destroy()`).
 */
import type { KubeFlagsValues } from '../kube-flags.ts';

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
  onStatus?: (line: string) => void;
  signal?: AbortSignal;
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

export async function openClusterSink(kube: KubeFlagsValues, options: OpenClusterSinkOptions = {}): Promise<ClusterSink> {
  void kube; void options;
  throw new Error('openClusterSink: not implemented yet');
}

export async function createSink(kube: KubeFlagsValues, options: CreateSinkOptions = {}): Promise<CreatedSink> {
  void kube; void options;
  throw new Error('createSink: not implemented yet');
}
