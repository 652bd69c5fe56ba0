import { randomBytes } from 'node:crypto';
import { API_TOKEN_BYTES, apiTokenFrom } from '../../src/api-token.ts';
import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { isValidNamespaceName, parseTtl } from '../../src/cluster-meta.ts';
import { evError } from '../../src/errors.ts';
import { buildSinkManifests, manifestsToYaml } from '../../src/manifests.ts';
import { parseRules } from '../../src/rules-schema.ts';

/** The namespace `manifests` targets without -n: fixed, so the output is the same on every run. */
export const DEFAULT_MANIFESTS_NAMESPACE = 'email-validation';

export default class Manifests extends BaseCommand {
  static override summary =
    "Print the sink's Kubernetes objects (for GitOps): deterministic, the same bytes on every run.";
  static override description = `Nothing is sent to a cluster, and the output depends only on the flags and this version: no timestamps, no random names, no random token.

The namespace: -n NAME targets an existing namespace (no Namespace object); without -n a Namespace named ${DEFAULT_MANIFESTS_NAMESPACE} is included.
The API token, chosen explicitly: --token VALUE stores it in the email-sink-token Secret; --token-from-secret emits no Secret and references an email-sink-token Secret (key "token") that you create yourself (SealedSecret, External Secrets …); --generate-token stores a random one (the output then differs on each run).
--ttl records a lifetime (created-at, expires-at: a timestamp) so that \`gc\` deletes the sink after it; without it the sink never expires.
-o json prints one v1 List that kubectl apply -f - accepts.`;
  static override examples = [
    '<%= config.bin %> manifests -n email-tests --token-from-secret > sink.yaml && kubectl apply --server-side -f sink.yaml',
    '<%= config.bin %> manifests --token "$(openssl rand -hex 24)" -o json | kubectl apply -f -',
    '<%= config.bin %> manifests --generate-token --ttl 2h --image registry.example/email-sink:0.1.0',
  ];
  static override flags = {
    namespace: Flags.string({
      char: 'n',
      description: `Existing namespace to target (no Namespace object); default: a Namespace ${DEFAULT_MANIFESTS_NAMESPACE} is included.`,
    }),
    token: Flags.string({
      description: 'API token to store in the email-sink-token Secret.',
      exclusive: ['token-from-secret', 'generate-token'],
      helpGroup: 'TOKEN',
    }),
    'token-from-secret': Flags.boolean({
      description:
        'Emit no Secret: the pods read an email-sink-token Secret (key "token") you create.',
      exclusive: ['generate-token'],
      helpGroup: 'TOKEN',
    }),
    'generate-token': Flags.boolean({
      description: 'Store a random token (not deterministic: the output differs on every run).',
      helpGroup: 'TOKEN',
    }),
    ttl: Flags.string({
      description:
        'Record a lifetime (with the current time) so `gc` deletes the sink after it; default: none, the sink never expires.',
    }),
    replicas: Flags.integer({ description: 'Number of sink pods.', default: 1, min: 1, max: 10 }),
    rules: Flags.string({
      helpValue: 'FILE',
      description: 'YAML rules file loaded into the sink.',
    }),
    image: Flags.string({
      description: 'Sink image built from sink/Dockerfile (no bundle ConfigMaps).',
    }),
    'node-image': Flags.string({
      description: 'Node.js image for the default runtime.',
      default: 'node:24-alpine',
    }),
    'service-monitor': Flags.boolean({
      description: 'Include a Prometheus Operator ServiceMonitor.',
    }),
    output: Flags.option({
      char: 'o',
      description: 'YAML documents, or one JSON v1 List.',
      options: ['yaml', 'json'] as const,
      default: 'yaml',
      helpGroup: 'OUTPUT',
    })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Manifests);
    if (flags.namespace !== undefined && !isValidNamespaceName(flags.namespace)) {
      throw evError(
        'EV_ERR_INVALID_OPTION',
        `-n "${flags.namespace}" is not a valid namespace name`,
        { hint: 'lowercase letters, digits and dashes.' },
      );
    }
    if (flags.token === undefined && !flags['token-from-secret'] && !flags['generate-token']) {
      throw evError('EV_ERR_INVALID_OPTION', 'manifests needs the API token chosen explicitly', {
        hint: 'pass --token VALUE, --token-from-secret (a Secret email-sink-token you create) or --generate-token (random, not reproducible)',
      });
    }
    let rules: string | undefined;
    if (flags.rules !== undefined) {
      rules = await readFile(flags.rules, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw evError(
          'EV_ERR_FILE_READ',
          `cannot read --rules ${flags.rules}: ${err.code ?? String(err)}`,
          { hint: 'check the path.' },
        );
      });
      parseRules(rules, flags.rules);
    }
    const { readSinkBundle } = await import('../lib/kube/bundle.ts');
    const objects = buildSinkManifests({
      namespace: flags.namespace ?? DEFAULT_MANIFESTS_NAMESPACE,
      createNamespace: flags.namespace === undefined,
      now: flags.ttl === undefined ? null : new Date(),
      ttlMs: flags.ttl === undefined ? 0 : parseTtl(flags.ttl),
      token: flags['token-from-secret']
        ? null
        : (flags.token ?? apiTokenFrom(randomBytes(API_TOKEN_BYTES))),
      ...(flags.image ? { image: flags.image } : { bundle: readSinkBundle() }),
      nodeImage: flags['node-image'],
      replicas: flags.replicas,
      serviceMonitor: flags['service-monitor'],
      ...(rules !== undefined ? { rules } : {}),
    });
    if (flags.output === 'json')
      process.stdout.write(
        `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`,
      );
    else process.stdout.write(manifestsToYaml(objects));
  }
}
