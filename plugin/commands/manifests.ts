import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { DEFAULT_TTL, generateNamespaceName, isValidNamespaceName, parseTtl } from '../../src/cluster-meta.ts';
import { evError } from '../../src/errors.ts';
import { buildSinkManifests, manifestsToYaml } from '../../src/manifests.ts';
import { parseRules } from '../../src/rules-schema.ts';

export default class Manifests extends BaseCommand {
  static override summary = 'Print the sink\'s Kubernetes objects as YAML (for GitOps), exactly what `up` applies.';
  static override description = 'Without -n the output includes a Namespace named like `up` would name it; with -n it targets that existing namespace. The API token is generated unless --token is given; it is stored in the email-sink-token Secret. Nothing is sent to a cluster.';
  static override examples = [
    '<%= config.bin %> manifests -n email-tests > sink.yaml && kubectl apply --server-side -f sink.yaml',
    '<%= config.bin %> manifests --image registry.example/email-sink:0.1.0 -o json',
  ];
  static override flags = {
    namespace: Flags.string({ char: 'n', description: 'Existing namespace to target (no Namespace object).' }),
    ttl: Flags.string({ description: 'Lifetime recorded on the objects.', default: DEFAULT_TTL }),
    replicas: Flags.integer({ description: 'Number of sink pods.', default: 1, min: 1, max: 10 }),
    rules: Flags.string({ description: 'YAML rules file loaded into the sink.' }),
    image: Flags.string({ description: 'Sink image built from sink/Dockerfile (no bundle ConfigMaps).' }),
    'node-image': Flags.string({ description: 'Node.js image for the default runtime.', default: 'node:24-alpine' }),
    'service-monitor': Flags.boolean({ description: 'Include a Prometheus Operator ServiceMonitor.' }),
    token: Flags.string({ description: 'API token to store in the Secret (default: random).', env: 'EV_TOKEN' }),
    output: Flags.option({ char: 'o', description: 'YAML documents or a JSON list.', options: ['yaml', 'json'] as const, default: 'yaml', helpGroup: 'OUTPUT' })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Manifests);
    const now = new Date();
    if (flags.namespace !== undefined && !isValidNamespaceName(flags.namespace)) {
      throw evError('EV_ERR_INVALID_OPTION', `-n "${flags.namespace}" is not a valid namespace name`, { hint: 'lowercase letters, digits and dashes.' });
    }
    let rules: string | undefined;
    if (flags.rules !== undefined) {
      rules = await readFile(flags.rules, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw evError('EV_ERR_FILE_READ', `cannot read --rules ${flags.rules}: ${err.code ?? String(err)}`, { hint: 'check the path.' });
      });
      parseRules(rules, flags.rules);
    }
    const { readSinkBundle } = await import('../lib/kube/bundle.ts');
    const objects = buildSinkManifests({
      namespace: flags.namespace ?? generateNamespaceName(now, Math.random),
      createNamespace: flags.namespace === undefined,
      now, ttlMs: parseTtl(flags.ttl),
      token: flags.token ?? randomBytes(24).toString('base64url'),
      ...(flags.image ? { image: flags.image } : { bundle: readSinkBundle() }),
      nodeImage: flags['node-image'], replicas: flags.replicas, serviceMonitor: flags['service-monitor'],
      ...(rules !== undefined ? { rules } : {}),
    });
    if (flags.output === 'json') process.stdout.write(`${JSON.stringify(objects, null, 2)}\n`);
    else process.stdout.write(manifestsToYaml(objects));
  }
}
