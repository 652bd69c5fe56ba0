/**
 * `--state FILE` with `--in-cluster`: the CLI's own record of a run that
 * lives in the cluster. It names the namespace (so the same command again
 * reattaches) and keeps the last checkpoint (so even a run whose Redis lost
 * everything while no CLI was attached continues from the input file). One
 * small JSON document, replaced atomically (write, fsync, rename).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { evError } from '../../../src/errors.ts';
import type { ClusterCheckpoint, RunMeta } from '../../../src/check-cluster/protocol.ts';
import { replaceFile } from '../check/replace-file.ts';

export const CLUSTER_STATE_KIND = 'kubectl-email-validate/check-cluster-state';
export const CLUSTER_STATE_VERSION = 1;
/** Largest cluster state file read (it is a few hundred bytes; anything larger is not one). */
export const MAX_CLUSTER_STATE_BYTES = 64 * 1024;

export interface ClusterState {
  kind: typeof CLUSTER_STATE_KIND;
  version: number;
  namespace: string;
  meta: RunMeta;
  checkpoint: ClusterCheckpoint | null;
}

/** The state file's run, null when there is none yet; refuses a file of another kind (e.g. a local run's journal). */
export function loadClusterState(path: string): ClusterState | null {
  if (!existsSync(path) || statSync(path).size === 0) return null;
  const bad = (detail: string): never => {
    throw evError('EV_ERR_STATE_INVALID', `state file ${path} ${detail}`, {
      hint: "pass the --state file of an --in-cluster run, or a new path (a local run's state file cannot continue in the cluster)",
    });
  };
  if (statSync(path).size > MAX_CLUSTER_STATE_BYTES)
    bad('is not the state of an --in-cluster run (too large)');
  let s: ClusterState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as ClusterState;
  } catch {
    return bad('is not the state of an --in-cluster run (not JSON)');
  }
  if (s?.kind !== CLUSTER_STATE_KIND) bad('is not the state of an --in-cluster run');
  if (s.version !== CLUSTER_STATE_VERSION)
    bad(`has version ${s.version}; this version reads ${CLUSTER_STATE_VERSION}`);
  return s;
}

export function saveClusterState(path: string, s: Omit<ClusterState, 'kind' | 'version'>): void {
  replaceFile(
    path,
    `${JSON.stringify({ kind: CLUSTER_STATE_KIND, version: CLUSTER_STATE_VERSION, ...s })}\n`,
  );
}
