import { Flags } from '@oclif/core';
import { kubeFlags, type KubeFlagsValues } from './kube-flags.ts';

/**
 * How a command finds its sink: `--sink URL` (+ token) for a sink reached
 * directly, e.g. one started with `kubectl email-validate sink`; otherwise the
 * kube flags locate the managed sink in the cluster and tunnel to it.
 */
export const sinkFlags = {
  // EV_SINK / EV_TOKEN are applied by applySinkEnv, not by oclif's `env`:
  // an exported variable must never collide with a flag the user typed.
  sink: Flags.string({
    description:
      "URL of a sink's HTTP API to use directly (e.g. http://127.0.0.1:8025), instead of the one in the cluster (default: $EV_SINK, unless a kube flag is given).",
    helpGroup: 'SINK',
  }),
  token: Flags.string({
    description:
      'Bearer token of the --sink API (default: $EV_TOKEN). Not needed for a cluster sink.',
    exclusive: ['token-file'],
    helpGroup: 'SINK',
  }),
  'token-file': Flags.string({
    helpValue: 'FILE',
    description: 'File holding the bearer token of the --sink API.',
    helpGroup: 'SINK',
  }),
  ...kubeFlags,
};

/** The parsed values of {@link sinkFlags}. */
export interface SinkFlagsValues extends KubeFlagsValues {
  sink?: string;
  token?: string;
  'token-file'?: string;
}

/** Flags that choose a sink other than `$EV_SINK`: typing one of them makes the exported variable step aside. */
export const SINK_CHOOSING_FLAGS = [
  'local',
  'kubeconfig',
  'context',
  'cluster',
  'user',
  'namespace',
] as const;

/**
 * Fills `--sink` and `--token` from `$EV_SINK` / `$EV_TOKEN`, as defaults only:
 * a typed `--sink` wins, and a typed flag that chooses another sink (`--local`,
 * `-n`, `--context` …) makes `$EV_SINK` step aside instead of conflicting with it.
 * `$EV_TOKEN` is used only with a sink URL and when no token flag was typed.
 */
export function applySinkEnv<T extends SinkFlagsValues & { local?: boolean }>(
  flags: T,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const out = { ...flags };
  const chosen = SINK_CHOOSING_FLAGS.some((k) => out[k] !== undefined && out[k] !== false);
  if (out.sink === undefined && !chosen && env.EV_SINK) out.sink = env.EV_SINK;
  if (
    out.sink !== undefined &&
    out.token === undefined &&
    out['token-file'] === undefined &&
    env.EV_TOKEN
  )
    out.token = env.EV_TOKEN;
  return out;
}
