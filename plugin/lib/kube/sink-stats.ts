/** Best-effort message count of a sink, through a short-lived tunnel to its first ready pod. */
import {
  SINK_POD_SELECTOR,
  TOKEN_SECRET_KEY,
  TOKEN_SECRET_NAME,
} from '../../../src/cluster-meta.ts';
import type { KubeClient } from './adapter.ts';
import { openTunnels } from './cluster-sink.ts';
import { isPodReady } from './readiness.ts';

/** `status` must not hang on one unreachable sink. */
export const STATS_TIMEOUT_MS = 5_000;

export async function sinkMessageCount(
  client: KubeClient,
  namespace: string,
): Promise<number | null> {
  try {
    const token = await client.readSecretKey(namespace, TOKEN_SECRET_NAME, TOKEN_SECRET_KEY);
    const pods = (await client.listPods(namespace, SINK_POD_SELECTOR)).filter(isPodReady);
    if (!pods.length) return null;
    let total = 0;
    const tunnels = await openTunnels(
      client,
      namespace,
      pods.map((p) => p.metadata?.name ?? ''),
    );
    try {
      for (const t of tunnels) {
        const res = await fetch(`${t.http.url}/api/stats`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
          signal: AbortSignal.timeout(STATS_TIMEOUT_MS),
        });
        if (!res.ok) return null;
        total += Number(((await res.json()) as { messages?: number }).messages ?? 0);
      }
    } finally {
      await Promise.all(tunnels.flatMap((t) => [t.http.close(), t.smtp.close()]));
    }
    return total;
  } catch {
    return null;
  }
}
