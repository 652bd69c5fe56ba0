/**
 * A fake Kubernetes API server for tests: real HTTPS and WebSocket on
 * loopback (port 0), spoken well enough for kubectl 1.32 and
 * @kubernetes/client-node 2.
 *
 *   const kube = await startFakeKube();
 *   // KUBECONFIG=kube.kubeconfigPath (CA + token inside), or kube.request(...)
 *   kube.faults.denyNamespaceCreate();
 *   await kube.close();
 *
 * HTTPS because kubectl never sends a bearer token over plain HTTP. See README
 * "Testing without a cluster" and the modules here for what each part does.
 * Deviations from a real cluster are listed in README.md here; the main one: pods run on the host network,
 * each with its own 127.x.y.z address as podIP, and a container that declares
 * EV_HOST gets it set to that address.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeApi } from './api.ts';
import { WorkloadControllers } from './controllers.ts';
import { FaultControls } from './faults.ts';
import type { Delays } from './faults.ts';
import { InternalErrors } from './internal-errors.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { Kubelet } from './kubelet.ts';
import type { LogBuffer } from './logs.ts';
import { NamespaceController } from './namespaces.ts';
import { PortForwarder } from './port-forward.ts';
import { Authorizer, bootstrapRbacObjects } from './rbac.ts';
import { resolveResource } from './resources.ts';
import { Router } from './router.ts';
import type { RequestRecord } from './router.ts';
import { Scheduler } from './scheduler.ts';
import { Store } from './store.ts';
import type { KubeObject } from './store.ts';
import { WatchHub } from './watch.ts';

export { FaultControls } from './faults.ts';
export type { Delays, DenyRule, NeverReadyReason, PodFault } from './faults.ts';
export type { KubeObject, StoreEvent } from './store.ts';
export type { RequestRecord } from './router.ts';
export { kubeconfigYaml, writeKubeconfig } from './kubeconfig.ts';
export type { KubeconfigContext, KubeconfigSpec } from './kubeconfig.ts';
export { isNodeImage } from './kubelet.ts';
export { rewritePaths } from './volumes.ts';
export { FAKE_SERVER_VERSION } from './discovery.ts';
export { FAKE_USER } from './api.ts';
export type { UserInfo, PolicyRule } from './rbac.ts';
export {
  enforcedPolicy,
  podSecurityViolation,
  ENFORCE_LABEL,
  ENFORCE_VERSION_LABEL,
} from './pod-security.ts';

export interface FakeKubeOptions {
  /** Bearer token to accept; random by default. */
  token?: string;
  /** Namespace of the kubeconfig's context (default `default`). */
  namespace?: string;
  /** Simulated lifecycle delays (all 0 by default). */
  delays?: Partial<Delays>;
  /** Run every image as if it were a Node.js image. */
  runAnyImage?: boolean;
  /** Report non-Node images Running and Ready without running anything. */
  simulateOtherImages?: boolean;
  /** Readiness probe period before first success (default 25 ms). */
  probeIntervalMs?: number;
  /** Readiness probe period once ready (default 250 ms). */
  probePeriodMs?: number;
  /** Liveness probe period once it passed (default 1000 ms). */
  livenessPeriodMs?: number;
  /** First CrashLoopBackOff delay, doubling per restart (default 50 ms). */
  crashBackoffMs?: number;
  /** CrashLoopBackOff cap (default 1000 ms). */
  crashBackoffMaxMs?: number;
  /** Cap on a pod's grace period before SIGKILL (default 2000 ms). */
  maxGraceMs?: number;
  /** BOOKMARK period for watches that allow them (default 1000 ms; 0 = never). */
  bookmarkIntervalMs?: number;
  /**
   * `IPv6`: an IPv6-only cluster. Every pod's address is `::1`; each pod's
   * fixed listen ports are remapped to free ports and recorded (a stand-in
   * for its network namespace, see netns-hook.mjs); probes, port-forwards and
   * Service host names in env use that address and those ports; EV_HOST is
   * not overridden, so a process listening on `0.0.0.0` is not reachable.
   */
  ipFamily?: 'IPv4' | 'IPv6';
  /**
   * Kubernetes 1.35 mode of the port-forward WebSocket upgrade
   * (AuthorizePodWebsocketUpgradeCreatePermission): `create pods/portforward`
   * is checked in addition to `get`. Default false (1.32).
   */
  websocketUpgradeNeedsCreate?: boolean;
  /**
   * The USER of images the kubelet does not know (`{ 'registry.example/app': '10001' }`,
   * by image name or full reference); known: node:* and redis:* run as root.
   * Decides runAsNonRoot's CreateContainerConfigError.
   */
  imageUsers?: Record<string, string | number>;
}

/** Something a non-admin user is granted: a Role (binding in `namespace`) or a ClusterRole (cluster-wide unless `namespace`). */
export interface Grant {
  kind: 'Role' | 'ClusterRole';
  name: string;
  namespace?: string;
}

/** A non-admin user of the fake (see `addUser`). */
export interface FakeUser {
  name: string;
  token: string;
  /** A kubeconfig for this user alone (same cluster and CA as the admin's). */
  kubeconfigPath: string;
  /** KUBECONFIG and a private HOME/cache for kubectl as this user. */
  kubectlEnv(): { KUBECONFIG: string; HOME: string; KUBECACHEDIR: string };
}

export interface FakeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeKube {
  /** `https://127.0.0.1:PORT` (certificate: FAKE_KUBE_CA_PEM) */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** A kubeconfig (context `fake`) in a temp dir removed by close(). */
  readonly kubeconfigPath: string;
  /** Temp dir owned by this fake (kubeconfig, HOME for kubectl, pod dirs). */
  readonly dir: string;
  readonly faults: FaultControls;
  /** Every request handled (bounded), for assertions. */
  readonly requests: readonly RequestRecord[];
  /** Errors thrown inside the fake's controllers/kubelet (should stay empty; a test may assert it). */
  readonly internalErrors: readonly string[];
  /** Direct store access: no auth, no faults. `resource` is a plural, kind or short name (`pods`, `Deployment`, `deploy`). */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(resource: string, namespace?: string): KubeObject[];
  /** Create through the API's rules (defaults, validation) but without auth or faults. */
  create(obj: KubeObject): KubeObject;
  /** Delete through the API's rules (grace periods, finalizers, garbage collection) without auth or faults. */
  delete(
    resource: string,
    namespace: string | undefined,
    name: string,
    opts?: { gracePeriodSeconds?: number },
  ): void;
  /**
   * One authenticated HTTPS request to the fake (its CA trusted, its token
   * sent), for wire-level checks: `await kube.request('DELETE', '/api/v1/namespaces/a/pods/p?gracePeriodSeconds=0')`.
   */
  request(
    method: string,
    path: string,
    opts?: { body?: string | Buffer; contentType?: string; token?: string },
  ): Promise<FakeResponse>;
  /** Captured output of a pod's container (current run, or previous). */
  podLogs(
    namespace: string,
    pod: string,
    container?: string,
    previous?: boolean,
  ): string | undefined;
  /** Resolves when `predicate` holds for some object of `resource`, re-checked on every change. */
  waitFor(
    resource: string,
    predicate: (obj: KubeObject) => boolean,
    timeoutMs?: number,
  ): Promise<KubeObject>;
  /** Open watches and port-forwards right now. */
  readonly activeWatches: number;
  readonly activePortForwards: number;
  /** Port-forwards opened since start. */
  readonly portForwardsOpened: number;
  /** Environment for running kubectl against this fake: KUBECONFIG and a private HOME. */
  kubectlEnv(): { KUBECONFIG: string; HOME: string; KUBECACHEDIR: string };
  /**
   * Registers a non-admin user (RBAC applies to it; the fake's own token is
   * an admin) with a kubeconfig of its own, and binds it to `grants`
   * (RoleBinding/ClusterRoleBinding named `<user>-<role>` created here).
   */
  addUser(
    name: string,
    options?: { groups?: string[]; namespace?: string; grants?: Grant[] },
  ): FakeUser;
  /**
   * Admission other than Pod Security refusing pods (a ResourceQuota, a
   * validating webhook): pod creates matching `namespace`/`labelSelector`
   * are refused with `pods "x" is forbidden: MESSAGE`, also for controllers.
   */
  refusePods(rule: { namespace?: string; labelSelector?: string; message: string }): void;
  /** The 1.35 port-forward mode (see FakeKubeOptions.websocketUpgradeNeedsCreate); settable at any time. */
  websocketUpgradeNeedsCreate: boolean;
  close(): Promise<void>;
}

const TLS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'tls');
/** The fake's self-signed certificate (also its own CA), PEM. Valid for 127.0.0.1 and localhost until 2126. */
export const FAKE_KUBE_CA_PEM = readFileSync(join(TLS_DIR, 'cert.pem'), 'utf8');
const FAKE_KUBE_KEY_PEM = readFileSync(join(TLS_DIR, 'key.pem'), 'utf8');
/** `certificate-authority-data` for kubeconfigs pointing at a fake. */
export const FAKE_KUBE_CA_DATA = Buffer.from(FAKE_KUBE_CA_PEM).toString('base64');

/** Deadline of `waitFor` when none is given. */
export const DEFAULT_WAIT_MS = 10_000;

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  const token = options.token ?? randomBytes(24).toString('hex');
  const faults = new FaultControls();
  faults.setDelays(options.delays ?? {});
  faults.runAnyImage = options.runAnyImage ?? false;
  faults.simulateOtherImages = options.simulateOtherImages ?? false;
  const store = new Store();
  const authorizer = new Authorizer(store);
  const api = new KubeApi(store, faults, authorizer);
  for (const obj of bootstrapRbacObjects())
    api.createObject(resolveResource(String(obj.kind)), obj);
  let websocketUpgradeNeedsCreate = options.websocketUpgradeNeedsCreate ?? false;
  const errors = new InternalErrors();

  const server: Server = createServer({
    key: FAKE_KUBE_KEY_PEM,
    cert: FAKE_KUBE_CA_PEM,
    keepAliveTimeout: 5000,
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake-kube: no TCP address');
  const host = '127.0.0.1';
  const port = address.port;
  const url = `https://${host}:${port}`;

  const kubelet = new Kubelet(
    api,
    store,
    faults,
    {
      rootDir: join(dir, 'pods'),
      apiHost: host,
      apiPort: port,
      probeIntervalMs: options.probeIntervalMs ?? 25,
      probePeriodMs: options.probePeriodMs ?? 250,
      livenessPeriodMs: options.livenessPeriodMs ?? 1000,
      crashBackoffMs: options.crashBackoffMs ?? 50,
      crashBackoffMaxMs: options.crashBackoffMaxMs ?? 1000,
      maxGraceMs: options.maxGraceMs ?? 2000,
      imageUsers: options.imageUsers ?? {},
      ipFamily: options.ipFamily ?? 'IPv4',
    },
    errors,
  );
  api.podTerminator = kubelet;
  const watches = new WatchHub(store, api, faults, options.bookmarkIntervalMs ?? 1000);
  const forwarder = new PortForwarder(faults);
  faults.attach({
    dropPortForwards: () => forwarder.dropAll(),
    expireWatches: () => watches.expireAll(),
    releaseTerminatingPods: () => kubelet.releaseHeld(),
  });
  const namespaces = new NamespaceController(api, store, faults, errors);
  const controllers = new WorkloadControllers(api, store, errors);
  const scheduler = new Scheduler(store, faults, errors);
  namespaces.start();
  controllers.start();
  scheduler.start();
  kubelet.start();

  const router = new Router({
    api,
    watches,
    kubelet,
    forwarder,
    faults,
    token: () => token,
    serverAddress: () => `${host}:${port}`,
    websocketUpgradeNeedsCreate: () => websocketUpgradeNeedsCreate,
  });
  server.on('request', (req, res: ServerResponse) => {
    void router.handle(req, res);
  });
  server.on('upgrade', (req, socket, head) => router.upgrade(req, socket, head));

  const kubeconfigPath = writeKubeconfig(join(dir, 'kubeconfig'), {
    server: url,
    token,
    caData: FAKE_KUBE_CA_DATA,
    namespace: options.namespace ?? 'default',
  });
  let closed = false;

  const fake: FakeKube = {
    url,
    host,
    port,
    token,
    kubeconfigPath,
    dir,
    faults,
    get requests() {
      return router.requests;
    },
    get internalErrors() {
      return errors.list;
    },
    get(resource, namespace, name) {
      return store.get(resolveResource(resource), namespace, name);
    },
    list(resource, namespace) {
      return store.list(resolveResource(resource), namespace);
    },
    create(obj) {
      const rt = resolveResource(`${obj.kind ?? ''}`);
      return api.createObject(rt, obj);
    },
    delete(resource, namespace, name, opts = {}) {
      const rt = resolveResource(resource);
      const live = store.get(rt, namespace, name);
      if (live) api.deleteObject(rt, live, { grace: opts.gracePeriodSeconds });
    },
    request(method, path, opts = {}) {
      return new Promise<FakeResponse>((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? token}` };
        if (opts.contentType) headers['content-type'] = opts.contentType;
        const req = httpsRequest(
          { host, port, path, method, headers, ca: FAKE_KUBE_CA_PEM, agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(opts.body);
      });
    },
    podLogs(namespace, pod, container, previous = false) {
      const p = store.get(resolveResource('pods'), namespace, pod);
      if (!p) return undefined;
      const buf: LogBuffer | undefined = kubelet.logs(p.metadata.uid ?? '', container, previous);
      return buf?.contents().toString('utf8');
    },
    waitFor(resource, predicate, timeoutMs = DEFAULT_WAIT_MS) {
      const rt = resolveResource(resource);
      return new Promise((resolve, reject) => {
        const check = (): KubeObject | undefined => store.list(rt).find(predicate);
        const first = check();
        if (first) {
          resolve(first);
          return;
        }
        const timer = setTimeout(() => {
          unsubscribe();
          reject(new Error(`fake-kube: timed out after ${timeoutMs} ms waiting for ${resource}`));
        }, timeoutMs);
        const unsubscribe = store.subscribe((ev) => {
          if (ev.rt !== rt || ev.type === 'DELETED' || !predicate(ev.object)) return;
          clearTimeout(timer);
          unsubscribe();
          resolve(ev.object);
        });
      });
    },
    get activeWatches() {
      return watches.count;
    },
    get activePortForwards() {
      return forwarder.count;
    },
    get portForwardsOpened() {
      return forwarder.opened;
    },
    kubectlEnv() {
      return {
        KUBECONFIG: kubeconfigPath,
        HOME: join(dir, 'home'),
        KUBECACHEDIR: join(dir, 'kube-cache'),
      };
    },
    addUser(name, opts = {}) {
      const userToken = authorizer.addUser(name, { groups: opts.groups ?? [] });
      const safe = name.replace(/[^a-z0-9-]/gi, '-').toLowerCase();
      const userDir = mkdtempSync(join(dir, `user-${safe.slice(0, 30)}-`));
      const path = writeKubeconfig(join(userDir, 'kubeconfig'), {
        server: url,
        token: userToken,
        caData: FAKE_KUBE_CA_DATA,
        namespace: opts.namespace ?? options.namespace ?? 'default',
        userName: safe,
      });
      for (const g of opts.grants ?? []) {
        const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }];
        const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: g.kind, name: g.name };
        if (g.namespace !== undefined) {
          api.createObject(resolveResource('rolebindings'), {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: `${safe}-${g.name}`, namespace: g.namespace },
            roleRef,
            subjects,
          });
        } else {
          if (g.kind === 'Role') throw new Error('fake-kube: a Role grant needs a namespace');
          api.createObject(resolveResource('clusterrolebindings'), {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: `${safe}-${g.name}` },
            roleRef,
            subjects,
          });
        }
      }
      return {
        name,
        token: userToken,
        kubeconfigPath: path,
        kubectlEnv: () => ({
          KUBECONFIG: path,
          HOME: join(userDir, 'home'),
          KUBECACHEDIR: join(userDir, 'kube-cache'),
        }),
      };
    },
    refusePods(rule) {
      api.podRefusals.push({ ...rule });
    },
    get websocketUpgradeNeedsCreate() {
      return websocketUpgradeNeedsCreate;
    },
    set websocketUpgradeNeedsCreate(on: boolean) {
      websocketUpgradeNeedsCreate = on;
    },
    async close() {
      if (closed) return;
      closed = true;
      scheduler.close();
      controllers.close();
      namespaces.close();
      watches.closeAll();
      forwarder.close();
      await kubelet.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fake;
}
