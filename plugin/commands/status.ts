import { BaseCommand, tableOutputFlag } from '../lib/base-command.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';
import { renderTable, tableWidth } from '../lib/render/table.ts';
import { formatDuration } from '../../src/duration.ts';
import pLimit from 'p-limit';

/** Sinks asked for their message count at once: each costs a port-forward through the API server. */
export const STATUS_COUNT_CONCURRENCY = 8;

export default class Status extends BaseCommand {
  static override summary =
    'List the managed sinks and running in-cluster checks in the context: age, TTL, readiness, message counts, progress.';
  static override description =
    'Message counts come from each sink\'s API, and the progress of a check (records written / queued / in the input) from its Redis, through short-lived port-forwards; they are best effort (shown as "-" when unreachable). Checks are found wherever they were placed: in their own namespace or, with `check --in-cluster -n`, in an existing one (marked "(existing)"); listed cluster-wide, or in the context\'s namespace (or -n) without that right. `down NAMESPACE`, `down --all` and `gc` remove checks like sinks.';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status -n my-team -o json',
    '<%= config.bin %> status -o wide',
  ];
  static override flags = { output: tableOutputFlag, ...kubeFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const { connect } = await import('../lib/kube/adapter.ts');
    const { listSinks } = await import('../lib/kube/managed-sinks.ts');
    const { sinkMessageCount } = await import('../lib/kube/sink-stats.ts');
    const client = connect(pickKubeFlags(flags));
    const now = new Date();
    const { listChecks } = await import('../lib/check-cluster/list-checks.ts');
    const checks = await listChecks(client, now, flags.namespace).catch(() => []);
    const checkNs = new Set(checks.map((c) => c.namespace));
    // A check's own namespace is managed too: it is listed as a check, not as a sink without pods.
    const sinks = (await listSinks(client, now, flags.namespace)).filter(
      (s) => !(checkNs.has(s.namespace) && s.desired === 0),
    );
    const limit = pLimit(STATUS_COUNT_CONCURRENCY);
    const rows = await Promise.all(
      sinks.map((s) =>
        limit(async () => ({
          ...s,
          messages: s.ready > 0 ? await sinkMessageCount(client, s.namespace) : null,
        })),
      ),
    );
    const n = (v: number | null): string => (v === null ? '-' : String(v));
    // Namespaces are what `down` and `-n` take: never cut; narrow terminals lose the lesser columns first.
    const table = { width: tableWidth(process.stdout, process.env), wide: flags.output === 'wide' };
    const checkTable = (): string =>
      checks.length === 0
        ? ''
        : `\n${renderTable(
            [
              'CHECK NAMESPACE',
              { header: 'AGE', dropOrder: 1 },
              { header: 'EXPIRES IN', dropOrder: 3 },
              { header: 'SHARDS', dropOrder: 2 },
              'WRITTEN',
              { header: 'QUEUED', dropOrder: 4 },
              'TOTAL',
            ],
            checks.map((c) => [
              c.namespace + (c.managedNamespace ? '' : ' (existing)'),
              c.createdAt ? age(now.getTime() - Date.parse(c.createdAt)) : '-',
              c.expired
                ? 'expired'
                : c.expiresAt
                  ? age(Date.parse(c.expiresAt) - now.getTime())
                  : '-',
              String(c.shards),
              n(c.written),
              n(c.queued),
              c.total === null ? 'reading' : String(c.total),
            ]),
            table,
          )}`;
    this.emit(flags.output, [...rows, ...checks.map((c) => ({ kind: 'check', ...c }))], () =>
      rows.length === 0
        ? `no sinks in this context (create one with \`kubectl email-validate up\`)${checkTable()}`
        : renderTable(
            [
              'NAMESPACE',
              { header: 'AGE', dropOrder: 2 },
              { header: 'TTL', dropOrder: 1 },
              { header: 'EXPIRES IN', dropOrder: 3 },
              'READY',
              'MESSAGES',
            ],
            rows.map((r) => [
              r.namespace + (r.managedNamespace ? '' : ' (existing)'),
              r.createdAt ? age(now.getTime() - Date.parse(r.createdAt)) : '-',
              r.ttl ?? '-',
              r.terminating
                ? 'terminating'
                : r.expired
                  ? 'expired'
                  : r.expiresAt
                    ? age(Date.parse(r.expiresAt) - now.getTime())
                    : '-',
              `${r.ready}/${r.desired}`,
              r.messages === null ? '-' : String(r.messages),
            ]),
            table,
          ) + checkTable(),
    );
  }
}

/** Ages and remaining lifetimes in whole seconds, as kubectl shows them (`45s`, `1h59m`). */
function age(ms: number): string {
  return formatDuration(Math.floor(ms / 1000) * 1000);
}
