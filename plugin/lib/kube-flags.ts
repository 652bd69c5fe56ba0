import { Flags } from '@oclif/core';

/**
 * kubectl's connection flags. kubectl refuses flags placed before a plugin's
 * name and passes everything after it through, so the plugin parses these
 * itself, with kubectl's precedence (see plugin/lib/kube/kubeconfig.ts).
 */
export const kubeFlags = {
  kubeconfig: Flags.string({
    description: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).',
    helpGroup: 'KUBERNETES',
  }),
  context: Flags.string({ description: 'The kubeconfig context to use.', helpGroup: 'KUBERNETES' }),
  cluster: Flags.string({ description: 'The kubeconfig cluster to use.', helpGroup: 'KUBERNETES' }),
  user: Flags.string({ description: 'The kubeconfig user to use.', helpGroup: 'KUBERNETES' }),
  namespace: Flags.string({
    char: 'n',
    description:
      "Namespace to use (default: the context's namespace; `up` creates a new one unless given).",
    helpGroup: 'KUBERNETES',
  }),
  'request-timeout': Flags.string({
    description: 'Timeout of each request to the API server, e.g. 30s (0 = none).',
    default: '30s',
    helpGroup: 'KUBERNETES',
  }),
};

/** The parsed values of {@link kubeFlags}, as oclif returns them. */
export interface KubeFlagsValues {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  'request-timeout'?: string;
}

/** Picks the kube flags out of a command's parsed flags. */
export function pickKubeFlags(flags: KubeFlagsValues): KubeFlagsValues {
  const { kubeconfig, context, cluster, user, namespace } = flags;
  return {
    kubeconfig,
    context,
    cluster,
    user,
    namespace,
    'request-timeout': flags['request-timeout'],
  };
}
