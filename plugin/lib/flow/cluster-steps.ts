/**
 * The cluster-side parts of a flow run: HTTP requests to in-cluster services
 * (`http://svc.ns.svc.cluster.local/...`) and `job` steps.
 *
 * HTTP to a cluster service goes through a port-forward tunnel (the same
 * kind the sink uses) to a ready pod behind the Service, so it needs only the
 * `pods/portforward` right the sink's tunnels need anyway.
 */
import { randomBytes } from 'node:crypto';
import { COMPONENT_LABEL, managedLabels } from '../../../src/cluster-meta.ts';
import { evError } from '../../../src/errors.ts';
import type { JobOutcome, JobRequest } from '../../../src/flow/runner.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import type { HttpRouter } from './flow-driver.ts';

/** How often a running job's status is read (a Job watch would need a second long-lived stream per step). */
export const JOB_POLL_MS = 250;
/** Bytes of a job's log fetched for the report (the tail is what explains a failure). */
export const JOB_LOG_LIMIT_BYTES = 64 * 1024;
/** A finished flow job is removed by the cluster after this, should our own delete not happen. */
export const JOB_TTL_AFTER_FINISHED_S = 600;

/** `name.namespace.svc[.cluster.local]` and its port, or null for any other host. */
export function parseServiceHost(
  url: URL,
): { name: string; namespace: string; port: string } | null {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?$/i.exec(url.hostname);
  if (!m) return null;
  return {
    name: m[1],
    namespace: m[2],
    port: url.port || (url.protocol === 'https:' ? '443' : '80'),
  };
}

export interface ClusterRouter {
  route: HttpRouter;
  /** Closes the tunnels opened for services. */
  close(): Promise<void>;
}

/** Most services one run tunnels to: each is a listening socket and a port-forward. */
export const MAX_SERVICE_TUNNELS = 20;

/**
 * Routes `http://NAME.NAMESPACE.svc[.cluster.local][:PORT]/…` through a
 * port-forward tunnel to a ready pod behind that Service (its selector and
 * target port), one tunnel per service port, reused for the whole run and
 * re-resolved when the pod goes away. Other URLs are left alone.
 */
export function clusterRouter(kube: KubeFlagsValues): ClusterRouter {
  const tunnels = new Map<string, Promise<{ url: string; close(): Promise<void> }>>();
  const open = async (svc: {
    name: string;
    namespace: string;
    port: string;
  }): Promise<{ url: string; close(): Promise<void> }> => {
    const [{ connect }, { Tunnel }, { isPodReady }] = await Promise.all([
      import('../kube/adapter.ts'),
      import('../tunnel/tunnel.ts'),
      import('../kube/readiness.ts'),
    ]);
    const client = connect({ ...kube, namespace: svc.namespace });
    const service = await client.call(`read service ${svc.namespace}/${svc.name}`, () =>
      client.core.readNamespacedService({ name: svc.name, namespace: svc.namespace }),
    );
    const ports = service.spec?.ports ?? [];
    const port =
      ports.find((p) => String(p.port) === svc.port) ??
      (ports.length === 1 && svc.port === '80' ? ports[0] : undefined);
    if (!port)
      throw evError(
        'EV_ERR_FLOW_STEP',
        `service ${svc.namespace}/${svc.name} has no port ${svc.port}`,
        { hint: `its ports: ${ports.map((p) => p.port).join(', ') || 'none'}` },
      );
    const selector = Object.entries(service.spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    if (!selector)
      throw evError(
        'EV_ERR_FLOW_STEP',
        `service ${svc.namespace}/${svc.name} has no selector, so no pod to forward to`,
      );
    const readyPods = async (): Promise<Array<import('../kube/adapter.ts').V1Pod>> =>
      (await client.listPods(svc.namespace, selector)).filter(isPodReady);
    const first = (await readyPods())[0];
    if (!first?.metadata?.name)
      throw evError(
        'EV_ERR_FLOW_STEP',
        `no ready pod behind service ${svc.namespace}/${svc.name}`,
        { hint: `check \`kubectl get pods -n ${svc.namespace} -l ${selector}\`` },
      );
    const target = port.targetPort ?? port.port;
    const containerPort =
      typeof target === 'number'
        ? target
        : Number(
            first.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target)
              ?.containerPort ?? target,
          );
    const tunnel = await Tunnel.open({
      pod: first.metadata.name,
      port: containerPort,
      request: (pod) => client.portForwardRequest(svc.namespace, pod, containerPort),
      resolvePod: async (previous) => {
        const names = (await readyPods()).map((p) => p.metadata?.name ?? '');
        return names.includes(previous) ? previous : names[0];
      },
    });
    return { url: tunnel.url, close: () => tunnel.close() };
  };
  return {
    route: async (url) => {
      const svc = parseServiceHost(url);
      if (!svc) return null;
      const key = `${svc.namespace}/${svc.name}:${svc.port}`;
      let pending = tunnels.get(key);
      if (!pending) {
        if (tunnels.size >= MAX_SERVICE_TUNNELS)
          throw evError(
            'EV_ERR_FLOW_STEP',
            `more than ${MAX_SERVICE_TUNNELS} cluster services in one run`,
          );
        pending = open(svc);
        tunnels.set(key, pending);
        pending.catch(() => tunnels.delete(key));
      }
      const local = new URL((await pending).url);
      const routed = new URL(url.href);
      routed.protocol = 'http:';
      routed.hostname = local.hostname;
      routed.port = local.port;
      return { url: routed };
    },
    close: async () => {
      for (const t of tunnels.values()) await t.then((x) => x.close()).catch(() => undefined);
      tunnels.clear();
    },
  };
}

/**
 * The Job a `job` step runs: one pod, no retries, bounded by the step's
 * deadline, labelled as ours. It runs in the sink's namespace, which enforces
 * restricted Pod Security, so the pod passes it (pod-security-admission's
 * restricted checks): non-root, RuntimeDefault seccomp, no privilege
 * escalation, every capability dropped. The image's USER decides the uid
 * unless the step sets `runAsUser`; an image that runs as root then fails at
 * once (kubelet's CreateContainerConfigError), see clusterJobRunner.
 */
export function flowJobManifest(
  request: JobRequest,
  namespace: string,
  name: string,
): Record<string, unknown> {
  const labels = managedLabels({ [COMPONENT_LABEL]: 'flow-job' });
  const uid = request.runAsUser ?? null;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(1, Math.ceil(request.timeoutMs / 1000)),
      ttlSecondsAfterFinished: JOB_TTL_AFTER_FINISHED_S,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            ...(uid !== null ? { runAsUser: uid, runAsGroup: uid } : {}),
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'job',
              image: request.image,
              ...(request.command.length ? { command: request.command } : {}),
              ...(request.args.length ? { args: request.args } : {}),
              env: Object.entries(request.env).map(([k, v]) => ({ name: k, value: v })),
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
        },
      },
    },
  };
}

interface JobStatus {
  succeeded?: number;
  failed?: number;
  active?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/**
 * Container waiting reasons that no wait will cure for a job step's pod (its
 * spec has no Secret or ConfigMap references that could appear later).
 */
const HOPELESS_WAITING = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
]);

/**
 * Why a job step cannot run, from what the cluster says right now, or null:
 * the pod is stuck (kubelet refused to start it: an image that runs as root,
 * a bad image name), or the Job controller could not create it (a FailedCreate
 * Event: Pod Security, quota, an admission webhook). Waiting for the step's
 * deadline would only hide the reason.
 */
export function hopelessJobReason(
  pods: ReadonlyArray<{
    status?: {
      containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }>;
    };
  }>,
  failedCreate: string | undefined,
): string | null {
  for (const p of pods) {
    const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
    if (!waiting?.reason || !HOPELESS_WAITING.has(waiting.reason)) continue;
    const text = `${waiting.reason}: ${waiting.message ?? ''}`.trim();
    if (/runAsNonRoot/.test(waiting.message ?? '')) {
      return `the pod cannot start (${text}); the image runs as root, which the namespace's restricted Pod Security forbids: set runAsUser in the job step (e.g. 1000 for node images) or use an image whose USER is a non-root uid`;
    }
    return `the pod cannot start (${text})`;
  }
  if (pods.length === 0 && failedCreate)
    return `the Job could not create its pod: ${failedCreate.replace(/^Error creating: /, '')}`;
  return null;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Runs `job` steps as Kubernetes Jobs in the sink's namespace, waits, collects the log, deletes the Job. */
export function clusterJobRunner(
  kube: KubeFlagsValues,
  namespace: string,
): (request: JobRequest, signal: AbortSignal) => Promise<JobOutcome> {
  return async (request, signal) => {
    const { connect } = await import('../kube/adapter.ts');
    const client = connect({ ...kube, namespace });
    const name = `flow-job-${randomBytes(4).toString('hex')}`;
    const manifest = flowJobManifest(request, namespace, name);
    await client.apply(manifest);
    try {
      let status: JobStatus = {};
      for (;;) {
        signal.throwIfAborted();
        const job = await client.call(`read job ${namespace}/${name}`, () =>
          client.objects.read({
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: { name, namespace },
          }),
        );
        status = (job as { status?: JobStatus }).status ?? {};
        const done = (status.conditions ?? []).find(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        );
        if (done || (status.succeeded ?? 0) > 0 || (status.failed ?? 0) > 0) break;
        const pods = await client.listPods(namespace, `job-name=${name}`);
        const failedCreate =
          pods.length === 0
            ? // Best effort: the reason only makes the failure faster and clearer; the deadline still ends the step.
              (
                await client.core
                  .listNamespacedEvent({
                    namespace,
                    fieldSelector: `involvedObject.kind=Job,involvedObject.name=${name},reason=FailedCreate`,
                  })
                  .catch(() => ({ items: [] as Array<{ message?: string }> }))
              ).items[0]?.message
            : undefined;
        const hopeless = hopelessJobReason(pods, failedCreate);
        if (hopeless) return { succeeded: false, exitCode: null, reason: hopeless, logs: '' };
        await delay(JOB_POLL_MS, signal);
      }
      const pods = await client.listPods(namespace, `job-name=${name}`);
      const pod = pods[0];
      const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
      let logs = '';
      if (pod?.metadata?.name) {
        logs = await client
          .call(`read the log of ${pod.metadata.name}`, () =>
            client.core.readNamespacedPodLog({
              name: pod.metadata?.name ?? '',
              namespace,
              container: 'job',
              limitBytes: JOB_LOG_LIMIT_BYTES,
            }),
          )
          .then((l) => String(l))
          .catch(() => '');
      }
      const failed = (status.conditions ?? []).find(
        (c) => c.type === 'Failed' && c.status === 'True',
      );
      return {
        succeeded: (status.succeeded ?? 0) > 0,
        exitCode: terminated?.exitCode ?? null,
        reason: failed
          ? (failed.message ?? failed.reason ?? 'failed')
          : (terminated?.reason ?? null),
        logs,
      };
    } finally {
      await client.deleteObject(manifest).catch(() => undefined);
    }
  };
}
