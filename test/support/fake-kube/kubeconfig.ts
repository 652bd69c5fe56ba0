/**
 * kubeconfig files for the fake (and for precedence tests that need several
 * files, contexts and namespaces). The fake serves HTTPS with a fixed
 * self-signed certificate (tls/cert.pem) which the kubeconfig carries as
 * `certificate-authority-data`: kubectl never sends a bearer token over plain
 * HTTP, so HTTP would not do for kubectl.
 */
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';

export interface KubeconfigContext {
  name: string;
  cluster?: string;
  user?: string;
  namespace?: string;
}

export interface KubeconfigSpec {
  server: string;
  token: string;
  /** base64 of the CA PEM; without it the cluster says insecure-skip-tls-verify. */
  caData?: string;
  /** Default: `fake`. */
  contextName?: string;
  clusterName?: string;
  userName?: string;
  namespace?: string;
  /** More contexts (same cluster and user unless they say otherwise). */
  extraContexts?: KubeconfigContext[];
  /** Default: contextName; null writes no current-context. */
  currentContext?: string | null;
}

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const context = spec.contextName ?? 'fake';
  const cluster = spec.clusterName ?? 'fake-cluster';
  const user = spec.userName ?? 'fake-user';
  const contexts = [
    { name: context, cluster, user, namespace: spec.namespace },
    ...(spec.extraContexts ?? []),
  ].map((c) => {
    const ctx: Record<string, string> = { cluster: c.cluster ?? cluster, user: c.user ?? user };
    if (c.namespace) ctx.namespace = c.namespace;
    return { name: c.name, context: ctx };
  });
  const doc: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: spec.caData
          ? { server: spec.server, 'certificate-authority-data': spec.caData }
          : { server: spec.server, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name: user, user: { token: spec.token } }],
    contexts,
    preferences: {},
  };
  if (spec.currentContext !== null) doc['current-context'] = spec.currentContext ?? context;
  return YAML.stringify(doc);
}

export function writeKubeconfig(path: string, spec: KubeconfigSpec): string {
  writeFileSync(path, kubeconfigYaml(spec), { mode: 0o600 });
  return path;
}
