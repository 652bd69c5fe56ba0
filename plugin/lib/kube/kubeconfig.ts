/**
 * kubeconfig resolution with kubectl's precedence, which client-node's
 * `loadFromDefault()` does not follow:
 *
 * - file: `--kubeconfig`, else every existing file of `$KUBECONFIG` merged (the
 *   first file that defines a name wins, and the first file's current-context
 *   wins; client-node takes the last and throws on duplicates), else
 *   `~/.kube/config`, else the in-cluster service account;
 * - context: `--context`, else current-context; `--cluster` / `--user` override
 *   the context's entries;
 * - namespace: `-n`, else the context's namespace, else `default`.
 *
 * With no kubeconfig at all client-node silently targets http://localhost:8080;
 * here that is EV_ERR_KUBECONFIG_MISSING instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { evError } from '../../../src/errors.ts';
import { parseDuration } from '../../../src/cluster-meta.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import { errorMessage } from '../../../src/guards.ts';

/** The process-level inputs of resolution, injectable for tests. */
export interface KubeconfigEnvironment {
  KUBECONFIG?: string;
  home: string | null;
  /** In-cluster service account (KUBERNETES_SERVICE_HOST set and a token mounted). */
  inCluster: boolean;
  exists(path: string): boolean;
  read(path: string): string;
}

export function defaultKubeconfigEnvironment(): KubeconfigEnvironment {
  let home: string | null = process.env.HOME || null;
  if (!home) {
    try {
      home = homedir();
    } catch {
      home = null;
    }
  }
  return {
    KUBECONFIG: process.env.KUBECONFIG,
    home,
    inCluster:
      Boolean(process.env.KUBERNETES_SERVICE_HOST) &&
      existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    exists: (p) => existsSync(p),
    read: (p) => readFileSync(p, 'utf8'),
  };
}

export interface ResolvedKubeconfig {
  kc: KubeConfig;
  /** The context in use ('' for in-cluster). */
  context: string;
  cluster: string;
  server: string;
  namespace: string;
  /** True when `-n` was given (so `up` uses it instead of creating one). */
  namespaceFromFlag: boolean;
  /** Files that were read, in precedence order. */
  files: string[];
  /** Per-request timeout in ms; 0 = none. */
  requestTimeoutMs: number;
}

/** The override context built for `--cluster` / `--user`. */
const OVERRIDE_CONTEXT = 'kubectl-email-validate-override';

export function resolveKubeconfig(
  flags: KubeFlagsValues,
  env: KubeconfigEnvironment = defaultKubeconfigEnvironment(),
): ResolvedKubeconfig {
  const requestTimeoutMs = parseDuration(flags['request-timeout'] ?? '30s', '--request-timeout');
  const files = kubeconfigFiles(flags, env);
  const kc = new KubeConfig();

  if (files.length === 0) {
    if (env.inCluster) {
      kc.loadFromCluster();
      const cluster = kc.getCurrentCluster();
      return {
        kc,
        context: kc.getCurrentContext(),
        cluster: cluster?.name ?? '',
        server: cluster?.server ?? '',
        namespace: flags.namespace ?? 'default',
        namespaceFromFlag: flags.namespace !== undefined,
        files,
        requestTimeoutMs,
      };
    }
    throw evError(
      'EV_ERR_KUBECONFIG_MISSING',
      'no kubeconfig found (looked at --kubeconfig, $KUBECONFIG and ~/.kube/config)',
      {
        hint: 'point --kubeconfig or KUBECONFIG at a kubeconfig file, or use --sink URL / --local to run without a cluster.',
      },
    );
  }

  const clusters: Cluster[] = [];
  const users: User[] = [];
  const contexts: Context[] = [];
  let currentContext = '';
  for (const file of files) {
    const one = loadOne(file, env);
    if (!one) continue;
    for (const c of one.clusters) if (!clusters.some((x) => x.name === c.name)) clusters.push(c);
    for (const u of one.users) if (!users.some((x) => x.name === u.name)) users.push(u);
    for (const c of one.contexts) if (!contexts.some((x) => x.name === c.name)) contexts.push(c);
    if (!currentContext && one.currentContext) currentContext = one.currentContext;
  }
  kc.loadFromOptions({ clusters, users, contexts, currentContext });

  const where = files.join(delimiter);
  const contextName = flags.context ?? currentContext;
  if (!contextName && !flags.cluster) {
    throw evError('EV_ERR_KUBECONFIG_INVALID', `the kubeconfig (${where}) has no current-context`, {
      hint: `pass --context NAME (one of: ${names(contexts)}) or run \`kubectl config use-context NAME\`.`,
    });
  }
  const ctx = contextName ? kc.getContextObject(contextName) : null;
  if (contextName && !ctx) {
    throw evError(
      'EV_ERR_KUBECONFIG_INVALID',
      `context "${contextName}" not found in the kubeconfig (${where})`,
      {
        hint: `use one of: ${names(contexts)} (see \`kubectl config get-contexts\`).`,
      },
    );
  }
  const clusterName = flags.cluster ?? ctx?.cluster ?? '';
  const userName = flags.user ?? ctx?.user ?? '';
  const cluster = kc.getCluster(clusterName);
  if (!cluster) {
    throw evError(
      'EV_ERR_KUBECONFIG_INVALID',
      `cluster "${clusterName}"${contextName ? ` of context "${contextName}"` : ''} not found in the kubeconfig (${where})`,
      {
        hint: `use --cluster with one of: ${names(clusters)}.`,
      },
    );
  }
  if (!cluster.server) {
    throw evError(
      'EV_ERR_KUBECONFIG_INVALID',
      `cluster "${clusterName}" has no server address in the kubeconfig (${where})`,
      {
        hint: 'set it with `kubectl config set-cluster NAME --server=https://…`.',
      },
    );
  }
  if (flags.user !== undefined && !kc.getUser(userName)) {
    throw evError(
      'EV_ERR_KUBECONFIG_INVALID',
      `user "${userName}" not found in the kubeconfig (${where})`,
      {
        hint: `use --user with one of: ${names(users)}.`,
      },
    );
  }
  let effective = contextName;
  if (flags.cluster !== undefined || flags.user !== undefined || !ctx) {
    kc.addContext({
      name: OVERRIDE_CONTEXT,
      cluster: clusterName,
      user: userName,
      namespace: ctx?.namespace,
    });
    effective = OVERRIDE_CONTEXT;
  }
  kc.setCurrentContext(effective);
  return {
    kc,
    context: contextName || OVERRIDE_CONTEXT,
    cluster: clusterName,
    server: cluster.server,
    namespace: flags.namespace ?? ctx?.namespace ?? 'default',
    namespaceFromFlag: flags.namespace !== undefined,
    files,
    requestTimeoutMs,
  };
}

/** The kubeconfig files in precedence order (only existing ones, like kubectl). */
export function kubeconfigFiles(flags: KubeFlagsValues, env: KubeconfigEnvironment): string[] {
  if (flags.kubeconfig !== undefined) {
    if (!env.exists(flags.kubeconfig)) {
      throw evError(
        'EV_ERR_KUBECONFIG_MISSING',
        `kubeconfig file ${flags.kubeconfig} does not exist`,
        {
          hint: 'check the --kubeconfig path.',
        },
      );
    }
    return [flags.kubeconfig];
  }
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(delimiter).filter(Boolean);
    return [...new Set(listed)].filter((f) => env.exists(f));
  }
  if (env.home) {
    const file = join(env.home, '.kube', 'config');
    if (env.exists(file)) return [file];
  }
  return [];
}

function loadOne(file: string, env: KubeconfigEnvironment): KubeConfig | null {
  let text: string;
  try {
    text = env.read(file);
  } catch (err) {
    throw evError(
      'EV_ERR_KUBECONFIG_INVALID',
      `cannot read kubeconfig ${file}: ${errorMessage(err)}`,
      { hint: "check the file's permissions.", cause: err },
    );
  }
  if (!text.trim()) return null;
  const one = new KubeConfig();
  try {
    one.loadFromString(text);
    one.makePathsAbsolute(join(file, '..'));
  } catch (err) {
    throw evError(
      'EV_ERR_KUBECONFIG_INVALID',
      `kubeconfig ${file} is not valid: ${firstLine(errorMessage(err))}`,
      {
        hint: 'check it with `kubectl config view --kubeconfig FILE`.',
        cause: err,
      },
    );
  }
  return one;
}

function names(list: Array<{ name: string }>): string {
  return list.length ? list.map((x) => x.name).join(', ') : '(none)';
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}
