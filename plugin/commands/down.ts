import { Args, Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';
import { evError } from '../../src/errors.ts';

const OUTCOME_TEXT: Record<string, string> = {
  'deleted-namespace': 'namespace deleted',
  'deleted-objects': 'sink objects deleted (the namespace was not created by up and is kept)',
  absent: 'already gone',
  'no-sink': 'no sink there (nothing to do)',
};

export default class Down extends BaseCommand {
  static override summary = 'Remove a sink (or all of them) from the cluster. Idempotent.';
  static override description = `Deletes the namespace that \`up\` created, or, for a sink deployed with \`up -n EXISTING\`, only the sink's objects in that namespace (a namespace the tool did not create is never deleted). Something already gone counts as success.

Without NAME: the sink in -n, or the only sink in the context.`;
  static override examples = [
    '<%= config.bin %> down email-validation-20260101-120000-abcde',
    '<%= config.bin %> down -n my-team',
    '<%= config.bin %> down --all',
  ];
  static override args = { name: Args.string({ description: 'Namespace of the sink.' }) };
  static override flags = {
    all: Flags.boolean({ description: 'Remove every managed sink in the context.' }),
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
        hint: "give one sink's namespace, or --all.",
      });
    const { connect } = await import('../lib/kube/adapter.ts');
    const { listSinks, removeSink } = await import('../lib/kube/managed-sinks.ts');
    const client = connect(pickKubeFlags(flags));
    let targets: string[];
    if (flags.all)
      targets = (await listSinks(client, new Date(), flags.namespace)).map((s) => s.namespace);
    else if (args.name ?? flags.namespace) targets = [(args.name ?? flags.namespace) as string];
    else {
      const sinks = await listSinks(client, new Date());
      if (sinks.length > 1) {
        throw evError(
          'EV_ERR_INVALID_OPTION',
          `several sinks in this context: ${sinks.map((s) => s.namespace).join(', ')}`,
          { hint: 'name one (`down NAME`) or use --all.' },
        );
      }
      targets = sinks.map((s) => s.namespace);
    }
    const results: Array<{ namespace: string; outcome: keyof typeof OUTCOME_TEXT }> = [];
    for (const ns of targets) {
      this.status(`removing the sink in ${ns}…`);
      results.push({ namespace: ns, outcome: await removeSink(client, ns, { wait: flags.wait }) });
    }
    this.emit(flags.output, results, () =>
      results.length === 0
        ? 'nothing to remove: no sinks found'
        : results.map((r) => `${r.namespace}: ${OUTCOME_TEXT[r.outcome]}`).join('\n'),
    );
  }
}
