/**
 * The cluster-side parts of a flow run: HTTP requests to in-cluster services
 * (`http://svc.ns.svc.cluster.local/...`) and `job` steps.
 *
 * HTTP to a cluster service goes through the API server's service proxy
 * (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`), authenticated with
 * the kubeconfig's credentials, so no tunnel per service is needed.
 */
import { evError } from '../../../src/errors.ts';
import type { JobOutcome, JobRequest } from '../../../src/flow/runner.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import type { HttpRouter } from './flow-driver.ts';

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

export function clusterJobRunner(kube: KubeFlagsValues, namespace: string): (request: JobRequest, signal: AbortSignal) => Promise<JobOutcome> {
  void kube;
  return async (request) => {
    throw evError('EV_ERR_FLOW_STEP', `job steps are not supported by this build yet (job ${request.image} in ${namespace})`, {
      hint: 'send the mail with a send step, or trigger the application with an http step',
    });
  };
}
