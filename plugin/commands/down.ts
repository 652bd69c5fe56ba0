import { Args, Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';
import { evError } from '../../src/errors.ts';

const OUTCOME_TEXT: Record<string, string> = {
  'deleted-namespace': 'namespace deleted',
  'deleted-objects':
    'sink objects deleted (the namespace was not created by the plugin and is kept)',
  'deleted-check':
    'check run objects deleted (the namespace was not created by the plugin and is kept)',
  'deleted-sink-and-check':
    'sink and check run objects deleted (the namespace was not created by the plugin and is kept)',
  absent: 'already gone',
  'no-sink': 'no sink or check there (nothing to do)',
};

export default class Down extends BaseCommand {
  static override summary =
    'Remove a sink or an in-cluster check (or all of them) from the cluster. Idempotent.';
  static override description = `Deletes the namespace that \`up\` or \`check --in-cluster\` created, or, for a sink deployed with \`up -n EXISTING\` or a check run with \`check --in-cluster -n EXISTING\`, only their objects in that namespace (a namespace the tool did not create is never deleted). Something already gone counts as success.

Without NAME: the sink or check in -n, or the only one in the context. --all removes every sink and every check run, wherever they were placed (listed cluster-wide, or in the context's namespace without that right).`;
  static override examples = [
    '<%= config.bin %> down email-validation-20260101-120000-abcde',
    '<%= config.bin %> down -n my-team',
    '<%= config.bin %> down --all',
  ];
  static override args = {
    name: Args.string({ description: 'Namespace of the sink or check run.' }),
  };
  static override flags = {
    all: Flags.boolean({
      description: 'Remove every managed sink and in-cluster check in the context.',
    }),
    wait: Flags.boolean({
      description: 'Wait until deleted namespaces are gone.',
      default: true,
      allowNo: true,
    }),
    output: outputFlag,
    ...kubeFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Down);
    if (flags.all && args.name)
      throw evError('EV_ERR_CONFLICTING_OPTIONS', 'NAME and --all cannot be used together', {
        hint: "give one sink's or check's namespace, or --all.",
      });
    const { connect } = await import('../lib/kube/adapter.ts');
    const { listSinks, removeSink } = await import('../lib/kube/managed-sinks.ts');
    const { listChecks } = await import('../lib/check-cluster/list-checks.ts');
    const { removeCheck } = await import('../lib/check-cluster/remove.ts');
    const client = connect(pickKubeFlags(flags));
    /** Namespaces holding a sink or a check run, in listing order, each once. */
    const everything = async (namespace?: string): Promise<string[]> => {
      const now = new Date();
      const sinks = await listSinks(client, now, namespace);
      const checks = await listChecks(client, now, namespace, { progress: false });
      return [...new Set([...sinks, ...checks].map((x) => x.namespace))];
    };
    let targets: string[];
    if (flags.all) targets = await everything(flags.namespace);
    else if (args.name !== undefined || flags.namespace !== undefined)
      targets = [args.name ?? flags.namespace ?? ''];
    else {
      targets = await everything();
      if (targets.length > 1) {
        throw evError(
          'EV_ERR_INVALID_OPTION',
          `several sinks or checks in this context: ${targets.join(', ')}`,
          { hint: 'name one (`down NAME`) or use --all.' },
        );
      }
    }
    const results: Array<{ namespace: string; outcome: keyof typeof OUTCOME_TEXT }> = [];
    for (const ns of targets) {
      this.status(`removing the sink or check in ${ns}…`);
      // The check run first: its own namespace goes whole; in one the plugin did not create (-n), its objects
      // go by name, then the sink's (besides or instead of a check).
      const check = await removeCheck(client, ns, { wait: flags.wait });
      if (check === 'absent' || check === 'deleted-namespace') {
        results.push({ namespace: ns, outcome: check });
        continue;
      }
      const sink = await removeSink(client, ns, { wait: flags.wait });
      results.push({
        namespace: ns,
        outcome:
          check === 'no-check'
            ? sink
            : sink === 'deleted-objects'
              ? 'deleted-sink-and-check'
              : 'deleted-check',
      });
    }
    this.emit(flags.output, results, () =>
      results.length === 0
        ? 'nothing to remove: no sinks or checks found'
        : results.map((r) => `${r.namespace}: ${OUTCOME_TEXT[r.outcome]}`).join('\n'),
    );
  }
}
