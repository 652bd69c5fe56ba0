import { Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';

export default class Gc extends BaseCommand {
  static override summary = 'Delete every managed sink whose TTL has passed.';
  static override description =
    'Finds namespaces (and sinks in existing namespaces) labelled app.kubernetes.io/managed-by=kubectl-email-validate whose recorded TTL (`up --ttl`) has passed, and deletes them. Objects without the label are never touched. Run it from a CronJob or CI to catch sinks left behind by killed jobs.';
  static override examples = ['<%= config.bin %> gc --dry-run', '<%= config.bin %> gc -o json'];
  static override flags = {
    'dry-run': Flags.boolean({ description: 'Only list what would be deleted.' }),
    output: outputFlag,
    ...kubeFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Gc);
    const { connect } = await import('../lib/kube/adapter.ts');
    const { listSinks, removeSink } = await import('../lib/kube/managed-sinks.ts');
    const client = connect(pickKubeFlags(flags));
    const sinks = await listSinks(client, new Date(), flags.namespace);
    const expired = sinks.filter((s) => s.expired && !s.terminating);
    const deleted: string[] = [];
    for (const s of expired) {
      if (flags['dry-run']) continue;
      this.status(`deleting ${s.namespace} (expired ${s.expiresAt})…`);
      await removeSink(client, s.namespace, { wait: false });
      deleted.push(s.namespace);
    }
    const result = {
      dryRun: flags['dry-run'],
      expired: expired.map((s) => ({ namespace: s.namespace, expiresAt: s.expiresAt })),
      deleted,
      kept: sinks.length - expired.length,
    };
    this.emit(flags.output, result, () =>
      expired.length === 0
        ? `nothing expired (${sinks.length} sink${sinks.length === 1 ? '' : 's'} still within their TTL)`
        : expired
            .map(
              (s) =>
                `${flags['dry-run'] ? 'would delete' : 'deleted'} ${s.namespace} (expired ${s.expiresAt})`,
            )
            .join('\n'),
    );
  }
}
