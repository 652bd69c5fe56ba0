import { Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';

export default class Gc extends BaseCommand {
  static override summary = 'Delete every managed sink and in-cluster check whose TTL has passed.';
  static override description =
    'Finds namespaces, sinks and `check --in-cluster` runs (also those placed in existing namespaces with -n) labelled app.kubernetes.io/managed-by=kubectl-email-validate whose recorded TTL (`up --ttl`, `check --in-cluster`) has passed, and deletes them: a namespace the tool created whole, otherwise only its objects. Objects without the label are never touched. Run it from a CronJob or CI to catch what killed jobs left behind.';
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
    const { listChecks } = await import('../lib/check-cluster/list-checks.ts');
    const { removeCheck } = await import('../lib/check-cluster/remove.ts');
    const client = connect(pickKubeFlags(flags));
    const now = new Date();
    const sinks = await listSinks(client, now, flags.namespace);
    // A check's own namespace is listed as a sink (managed namespace); a check placed with -n only here.
    const checks = (await listChecks(client, now, flags.namespace, { progress: false })).filter(
      (c) => !sinks.some((s) => s.namespace === c.namespace && s.managedNamespace),
    );
    const expired = [
      ...sinks
        .filter((s) => s.expired && !s.terminating)
        .map((s) => ({ kind: 'sink' as const, namespace: s.namespace, expiresAt: s.expiresAt })),
      ...checks
        .filter((c) => c.expired)
        .map((c) => ({ kind: 'check' as const, namespace: c.namespace, expiresAt: c.expiresAt })),
    ];
    const deleted: string[] = [];
    for (const x of expired) {
      if (flags['dry-run']) continue;
      this.status(`deleting the ${x.kind} in ${x.namespace} (expired ${x.expiresAt})…`);
      if (x.kind === 'sink') await removeSink(client, x.namespace, { wait: false });
      else await removeCheck(client, x.namespace, { wait: false });
      deleted.push(x.namespace);
    }
    const total = sinks.length + checks.length;
    const result = {
      dryRun: flags['dry-run'],
      expired: expired.map((x) => ({
        kind: x.kind,
        namespace: x.namespace,
        expiresAt: x.expiresAt,
      })),
      deleted,
      kept: total - expired.length,
    };
    this.emit(flags.output, result, () =>
      expired.length === 0
        ? `nothing expired (${total} sink${total === 1 ? '' : 's'} or check${total === 1 ? '' : 's'} still within their TTL)`
        : expired
            .map(
              (x) =>
                `${flags['dry-run'] ? 'would delete' : 'deleted'} ${x.kind === 'check' ? 'the check in ' : ''}${x.namespace} (expired ${x.expiresAt})`,
            )
            .join('\n'),
    );
  }
}
