/**
 * The cluster-side parts of a flow run: HTTP requests to in-cluster services
 * (`http://svc.ns.svc.cluster.local/...`) and `job` steps.
 *
 * HTTP to a cluster service goes through the API server's service proxy
 * (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`), authenticated with
 * the kubeconfig's credentials, so no tunnel per service is needed.
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
export function parseServiceHost(url: URL): { name: string; namespace: string; port: string } | null {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?$/i.exec(url.hostname);
  if (!m) return null;
  return { name: m[1], namespace: m[2], port: url.port || (url.protocol === 'https:' ? '443' : '80') };
}

/** The API-server path that proxies to `url` (a cluster service URL). */
export function serviceProxyPath(url: URL): string | null {
  const svc = parseServiceHost(url);
  if (!svc) return null;
  const scheme = url.protocol === 'https:' ? 'https:' : '';
  return `/api/v1/namespaces/${svc.namespace}/services/${scheme}${svc.name}:${svc.port}/proxy${url.pathname}${url.search}`;
}

export function clusterRouter(kube: KubeFlagsValues): HttpRouter {
  void kube;
  return async (url) => {
    if (!parseServiceHost(url)) return null;
    throw evError('EV_ERR_FLOW_STEP', `requests to cluster services (${url.hostname}) are not supported by this build yet`, {
      hint: 'expose the service with `kubectl port-forward` and use its local URL (pass it with {{env.NAME}})',
    });
  };
}

/** The Job a `job` step runs: one pod, no retries, bounded by the step's deadline, labelled as ours. */
export function flowJobManifest(request: JobRequest, namespace: string, name: string): Record<string, unknown> {
  const labels = managedLabels({ [COMPONENT_LABEL]: 'flow-job' });
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
          containers: [{
            name: 'job',
            image: request.image,
            ...(request.command.length ? { command: request.command } : {}),
            ...(request.args.length ? { args: request.args } : {}),
            env: Object.entries(request.env).map(([k, v]) => ({ name: k, value: v })),
            // The image is the user's, so no user id is imposed; everything else of the restricted profile is.
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
          }],
        },
      },
    },
  };
}

interface JobStatus { succeeded?: number; failed?: number; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> }

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

/** Runs `job` steps as Kubernetes Jobs in the sink's namespace, waits, collects the log, deletes the Job. */
export function clusterJobRunner(kube: KubeFlagsValues, namespace: string): (request: JobRequest, signal: AbortSignal) => Promise<JobOutcome> {
  return async (request, signal) => {
    const { connect } = await import('../kube/adapter.ts');
    const client = connect({ ...kube, namespace });
    const name = `flow-job-${randomBytes(4).toString('hex')}`;
    const manifest = flowJobManifest(request, namespace, name);
    await client.apply(manifest as never);
    try {
      let status: JobStatus = {};
      for (;;) {
        signal.throwIfAborted();
        const job = await client.call(`read job ${namespace}/${name}`, () => client.objects.read({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace } }));
        status = (job as { status?: JobStatus }).status ?? {};
        const done = (status.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
        if (done || (status.succeeded ?? 0) > 0 || (status.failed ?? 0) > 0) break;
        await delay(JOB_POLL_MS, signal);
      }
      const pods = await client.listPods(namespace, `job-name=${name}`);
      const pod = pods[0];
      const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
      let logs = '';
      if (pod?.metadata?.name) {
        logs = await client.call(`read the log of ${pod.metadata.name}`, () => client.core.readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace, container: 'job', limitBytes: JOB_LOG_LIMIT_BYTES }))
          .then((l) => String(l)).catch(() => '');
      }
      const failed = (status.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
      return {
        succeeded: (status.succeeded ?? 0) > 0,
        exitCode: terminated?.exitCode ?? null,
        reason: failed ? (failed.message ?? failed.reason ?? 'failed') : (terminated?.reason ?? null),
        logs,
      };
    } finally {
      await client.deleteObject(manifest as never).catch(() => undefined);
    }
  };
}
