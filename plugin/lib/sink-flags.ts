import { Flags } from '@oclif/core';
import { kubeFlags, type KubeFlagsValues } from './kube-flags.ts';

/**
 * How a command finds its sink: `--sink URL` (+ token) for a sink reached
 * directly, e.g. one started with `kubectl email-validate sink`; otherwise the
 * kube flags locate the managed sink in the cluster and tunnel to it.
 */
export const sinkFlags = {
  sink: Flags.string({
    description: 'URL of a sink\'s HTTP API to use directly (e.g. http://127.0.0.1:8025), instead of the one in the cluster.',
    env: 'EV_SINK',
    helpGroup: 'SINK',
  }),
  token: Flags.string({
    description: 'Bearer token of the --sink API (default: $EV_TOKEN). Not needed for a cluster sink.',
    env: 'EV_TOKEN',
    exclusive: ['token-file'],
    helpGroup: 'SINK',
  }),
  'token-file': Flags.string({
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
