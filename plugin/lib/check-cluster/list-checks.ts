/**
 * What `status` shows about in-cluster checks: every namespace holding a
 * check's Redis (managed label), its lifetime, and its progress read from the
 * run in Redis through a short-lived tunnel (best effort: "-" when it cannot
 * be reached).
 */
import {
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  isExpired,
  readLifetime,
} from '../../../src/cluster-meta.ts';
import { isEmailValidateError } from '../../../src/errors.ts';
import {
  CHECK_TOKEN_KEY,
  CHECK_TOKEN_SECRET,
  REDIS_NAME,
  SHARD_SELECTOR,
} from '../../../src/check-cluster/manifests.ts';
import type { KubeClient } from '../kube/adapter.ts';
import { isPodReady } from '../kube/readiness.ts';
import { connectRedis } from './run.ts';

/** How long `status` tries to reach a check's Redis before showing "-". */
export const STATUS_REDIS_DEADLINE_MS = 5_000;

export interface CheckSummaryRow {
  namespace: string;
  /** True when the run created its namespace (removing the run deletes it); false for `-n`. */
  managedNamespace: boolean;
  createdAt: string | null;
  expiresAt: string | null;
  expired: boolean;
  /** Shard pods running. */
  shards: number;
  /** Records written by the CLI (its last checkpoint), queued so far, and in the input (null until it was all read). */
  written: number | null;
  queued: number | null;
  total: number | null;
}

/**
 * Every check run visible, wherever it was placed (its own namespace or one
 * given with -n): the Redis Deployments carrying the managed label, listed
 * cluster-wide, else (without that right) in the context's namespace; with
 * `namespace`, only there. `progress: false` skips the tunnels to Redis.
 */
export async function listChecks(
  client: KubeClient,
  now: Date,
  namespace?: string,
  options: { progress?: boolean } = {},
): Promise<CheckSummaryRow[]> {
  let all;
  try {
    all = await client.listManagedDeployments(namespace);
  } catch (err) {
    if (
      namespace !== undefined ||
      !(isEmailValidateError(err) && err.code === 'EV_ERR_KUBE_FORBIDDEN')
    )
      throw err;
    return listChecks(client, now, client.namespace, options);
  }
  const deployments = all.filter((d) => d.metadata?.name === REDIS_NAME);
  const rows: CheckSummaryRow[] = [];
  for (const d of deployments) {
    const ns = d.metadata?.namespace ?? '';
    const created = d.metadata?.creationTimestamp
      ? new Date(d.metadata.creationTimestamp)
      : undefined;
    const life = readLifetime(d.metadata?.annotations, created);
    const row: CheckSummaryRow = {
      namespace: ns,
      managedNamespace: false,
      createdAt: life.createdAt?.toISOString() ?? null,
      expiresAt: life.expiresAt?.toISOString() ?? null,
      expired: isExpired(d.metadata?.annotations, now, created),
      shards: 0,
      written: null,
      queued: null,
      total: null,
    };
    try {
      const nsObject = await client.getNamespace(ns);
      row.managedNamespace = nsObject?.metadata?.labels?.[MANAGED_BY_LABEL] === FIELD_MANAGER;
    } catch {
      /* best effort: treated as not ours, so only the run's objects would be removed */
    }
    if (options.progress === false) {
      rows.push(row);
      continue;
    }
    try {
      row.shards = (await client.listPods(ns, SHARD_SELECTOR)).filter(isPodReady).length;
      const password = await client.readSecretKey(ns, CHECK_TOKEN_SECRET, CHECK_TOKEN_KEY);
      if (password !== undefined) {
        const conn = await connectRedis(client, ns, password, {
          shards: 1,
          kube: {},
          redisDeadlineMs: STATUS_REDIS_DEADLINE_MS,
          redisReadyMs: STATUS_REDIS_DEADLINE_MS,
        });
        try {
          const meta = await conn.run.meta();
          const cp = await conn.run.lastCheckpoint();
          row.written = cp?.index ?? 0;
          row.queued = meta?.pushed ?? null;
          row.total = meta && meta.total >= 0 ? meta.total : null;
        } finally {
          await conn.close();
        }
      }
    } catch {
      /* best effort */
    }
    rows.push(row);
  }
  return rows.sort(
    (a, b) =>
      (a.createdAt ?? '').localeCompare(b.createdAt ?? '') ||
      a.namespace.localeCompare(b.namespace),
  );
}
