/**
 * The one adapter between the CLI and @kubernetes/client-node: typed
 * operations the commands need, every failure mapped by toKubeError, every
 * request bounded by --request-timeout. Nothing else in the project imports
 * client-node (the tunnel takes its WebSocket options from here).
 */
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  HttpMethod,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  VersionApi,
  createConfiguration,
  type Middleware,
  type RequestContext,
  type ResponseContext,
  type KubernetesObject,
  type V1Deployment,
  type V1Namespace,
  type V1Pod,
} from '@kubernetes/client-node';
import type { ClientOptions } from 'ws';
import {
  FIELD_MANAGER,
  MANAGED_SELECTOR,
  SINK_OBJECTS_SELECTOR,
  SINK_NAME,
  TOKEN_SECRET_NAME,
} from '../../../src/cluster-meta.ts';
import { evError } from '../../../src/errors.ts';
import type { AccessCheck } from '../../../src/required-access.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import { isNotFound, statusCode, toKubeError, type KubeTarget } from './errors.ts';
import {
  resolveKubeconfig,
  type KubeconfigEnvironment,
  type ResolvedKubeconfig,
} from './kubeconfig.ts';

export type { KubernetesObject, V1Deployment, V1Namespace, V1Pod };

/** One SelfSubjectAccessReview's question; declared with the list of required rights. */
export type { AccessCheck } from '../../../src/required-access.ts';

export interface AccessResult {
  allowed: boolean;
  reason: string;
}

type Api<T> = new (config: ReturnType<typeof createConfiguration>) => T;

/**
 * Server-side apply that sends the object exactly as built. client-node's own
 * `patch` runs the object through its typed models first, and a key the model
 * spells differently is dropped on the wire: `V1NetworkPolicyIngressRule`
 * calls `from` `_from`, so `{ from: [...] }` left as an open rule. Our objects are plain JSON in the API's own spelling, the same
 * that `manifests` prints, so they go out verbatim and come back as parsed.
 */
class WireObjectApi extends KubernetesObjectApi {
  async applyWire<T extends KubernetesObject>(obj: T, fieldManager: string): Promise<T> {
    const path = await this.specUriPath(obj, 'patch');
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', fieldManager);
    ctx.setQueryParam('force', 'true');
    ctx.setBody(JSON.stringify(obj));
    return this.requestPromise<T>(ctx);
  }

  /** The response as the server sent it (no typed-model renaming). */
  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
  ): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299)
      return JSON.parse(text) as T;
    throw new ApiException(
      response.httpStatusCode,
      'Unsuccessful HTTP Request',
      text,
      response.headers,
    );
  }
}

export class KubeClient {
  readonly resolved: ResolvedKubeconfig;
  readonly target: KubeTarget;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly authz: AuthorizationV1Api;
  readonly objects: KubernetesObjectApi;
  private readonly wire: WireObjectApi;
  readonly version: VersionApi;

  constructor(resolved: ResolvedKubeconfig) {
    this.resolved = resolved;
    this.target = {
      server: resolved.server,
      context: resolved.context,
      requestTimeoutMs: resolved.requestTimeoutMs,
    };
    this.core = this.make(CoreV1Api);
    this.apps = this.make(AppsV1Api);
    this.authz = this.make(AuthorizationV1Api);
    this.objects = this.make(KubernetesObjectApi);
    this.wire = this.make(WireObjectApi);
    this.version = this.make(VersionApi);
  }

  /** The namespace from `-n` or the context. */
  get namespace(): string {
    return this.resolved.namespace;
  }

  private make<T>(api: Api<T>): T {
    const timeout = this.resolved.requestTimeoutMs;
    const promiseMiddleware: Middleware[] =
      timeout > 0
        ? [
            {
              pre: async (ctx: RequestContext) => {
                ctx.setSignal(AbortSignal.timeout(timeout));
                return ctx;
              },
              post: async (rsp: ResponseContext) => rsp,
            },
          ]
        : [];
    const config = createConfiguration({
      baseServer: new ServerConfiguration(this.resolved.server, {}),
      authMethods: { default: this.resolved.kc },
      promiseMiddleware,
    });
    return new api(config);
  }

  /** Runs one API call, mapping failures to our catalog. */
  async call<T>(action: string, fn: () => Promise<T>, forbiddenHint?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toKubeError(err, this.target, action, forbiddenHint);
    }
  }

  /** Like {@link call} but a 404 is `undefined` (idempotent reads and deletes). */
  async callOptional<T>(action: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeError(err, this.target, action);
    }
  }

  /** Reachability and credentials in one cheap call. */
  async serverVersion(): Promise<string> {
    const v = await this.call('read the server version', () => this.version.getCode());
    return v.gitVersion;
  }

  /** SelfSubjectAccessReview: may the current user do this? */
  async canI(check: AccessCheck): Promise<AccessResult> {
    const review = await this.call(`check permission to ${check.verb} ${check.resource}`, () =>
      this.authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: check.verb,
              resource: check.resource,
              group: check.group ?? '',
              namespace: check.namespace,
              subresource: check.subresource,
            },
          },
        },
      }),
    );
    return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? '' };
  }

  async createNamespace(ns: V1Namespace): Promise<V1Namespace> {
    const name = ns.metadata?.name ?? '';
    return this.call(
      `create namespace ${name}`,
      () => this.core.createNamespace({ body: ns }),
      'you cannot create namespaces here: use -n EXISTING_NAMESPACE to deploy into a namespace you can write to.',
    );
  }

  async getNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.callOptional(`read namespace ${name}`, () => this.core.readNamespace({ name }));
  }

  async listManagedNamespaces(): Promise<V1Namespace[]> {
    const list = await this.call(
      'list namespaces',
      () => this.core.listNamespace({ labelSelector: MANAGED_SELECTOR }),
      'listing namespaces needs cluster-wide `list namespaces`; pass -n NAMESPACE to work in one namespace.',
    );
    return list.items;
  }

  /** Deletes a namespace; true when it existed. 404 is success. */
  async deleteNamespace(name: string): Promise<boolean> {
    const r = await this.callOptional(`delete namespace ${name}`, () =>
      this.core.deleteNamespace({ name }),
    );
    return r !== undefined;
  }

  /** Server-side apply with our field manager, forcing ownership of our fields. */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    if (!obj.metadata?.namespace && obj.kind !== 'Namespace') {
      // KubernetesObjectApi would fill in the context's namespace silently.
      throw evError(
        'EV_ERR_INTERNAL',
        `refusing to apply ${obj.kind} ${obj.metadata?.name} without metadata.namespace`,
      );
    }
    return this.call(
      `apply ${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`,
      () => this.wire.applyWire(obj, FIELD_MANAGER),
    );
  }

  /** Deletes any object; true when it existed. */
  async deleteObject(obj: KubernetesObject): Promise<boolean> {
    const r = await this.callOptional(
      `delete ${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`,
      () => this.objects.delete(obj, undefined, undefined, undefined, undefined, 'Background'),
    );
    return r !== undefined;
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await this.call(`list pods in ${namespace}`, () =>
      this.core.listNamespacedPod({ namespace, labelSelector }),
    );
    return list.items;
  }

  async getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.callOptional(`read pod ${namespace}/${name}`, () =>
      this.core.readNamespacedPod({ namespace, name }),
    );
  }

  async getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return this.callOptional(`read deployment ${namespace}/${name}`, () =>
      this.apps.readNamespacedDeployment({ namespace, name }),
    );
  }

  /** Managed deployments in every namespace, or only in `namespace`. */
  async listManagedDeployments(namespace?: string): Promise<V1Deployment[]> {
    const list = namespace
      ? await this.call(`list deployments in ${namespace}`, () =>
          this.apps.listNamespacedDeployment({ namespace, labelSelector: MANAGED_SELECTOR }),
        )
      : await this.call(
          'list deployments in all namespaces',
          () => this.apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
          'listing sinks in every namespace needs cluster-wide `list deployments`; pass -n NAMESPACE.',
        );
    return list.items;
  }

  async readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    const secret = await this.callOptional(`read secret ${namespace}/${name}`, () =>
      this.core.readNamespacedSecret({ namespace, name }),
    );
    const data = secret?.data?.[key];
    if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
    return secret?.stringData?.[key];
  }

  /** Waits until a deleted namespace is gone (404); false on timeout. */
  async waitNamespaceGone(name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let interval = 50;
    for (;;) {
      if (!(await this.getNamespace(name))) return true;
      if (Date.now() >= deadline || signal?.aborted) return false;
      await new Promise((r) =>
        setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))),
      );
      interval = Math.min(interval * 2, 1000);
    }
  }

  /**
   * Deletes the sink's objects from a namespace we did not create (`up -n`):
   * fixed names plus the ConfigMaps labelled as the sink's. Not every managed
   * ConfigMap: a check run in the same namespace has its own (its shards'
   * bundle), which must outlive the sink. Returns how many existed.
   */
  async deleteSinkObjects(namespace: string): Promise<number> {
    const cms = await this.call(`list config maps in ${namespace}`, () =>
      this.core.listNamespacedConfigMap({ namespace, labelSelector: SINK_OBJECTS_SELECTOR }),
    );
    const refs: KubernetesObject[] = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: SINK_NAME, namespace } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: SINK_NAME, namespace } },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: SINK_NAME, namespace },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: TOKEN_SECRET_NAME, namespace } },
      ...cms.items.map((cm) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: cm.metadata?.name ?? '', namespace },
      })),
    ];
    let deleted = 0;
    for (const ref of refs) if (await this.deleteObject(ref)) deleted++;
    // The ServiceMonitor CRD may not be installed at all: best effort.
    try {
      await this.objects.delete({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: SINK_NAME, namespace },
      });
      deleted++;
    } catch {
      /* absent or no CRD */
    }
    return deleted;
  }

  /** URL and `ws` options (auth, TLS) for a pod port-forward WebSocket. */
  async portForwardRequest(
    namespace: string,
    pod: string,
    port: number,
  ): Promise<{ url: string; options: ClientOptions }> {
    const base = this.resolved.server.replace(/\/+$/, '').replace(/^http/, 'ws');
    const url = `${base}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`;
    const options: ClientOptions = {};
    try {
      await this.resolved.kc.applyToHTTPSOptions(options);
    } catch (err) {
      throw toKubeError(err, this.target, `authenticate the port-forward to ${pod}`);
    }
    return { url, options };
  }
}

/** Resolves the kubeconfig (kubectl precedence) and returns a client. */
export function connect(flags: KubeFlagsValues, env?: KubeconfigEnvironment): KubeClient {
  return new KubeClient(resolveKubeconfig(flags, env));
}

export { statusCode };
