import { parse as parseYaml } from 'yaml';
import { BaseCommand, outputFlag } from '../../lib/base-command.ts';
import { withSinkTarget } from '../../lib/sink-target.ts';
import { sinkFlags } from '../../lib/sink-flags.ts';

export default class RulesGet extends BaseCommand {
  static override summary = "Print the sink's active rules (bounces, deferrals, delays).";
  static override description =
    "Text and YAML print the rules file as the sink holds it; -o json prints it parsed. With several pods, the first pod's rules are printed (`rules set` sets them all).";
  static override examples = [
    '<%= config.bin %> rules get > rules.yaml',
    '<%= config.bin %> rules get -o json',
  ];
  static override flags = { output: outputFlag, ...sinkFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(RulesGet);
    await withSinkTarget(flags, { onStatus: (l) => this.status(l) }, async (target) => {
      const source = await target.sinks[0].api.rules();
      if (source.trim() === '')
        this.status(
          'No rules set: only the built-in conventions (bounce*, defer*, asyncbounce* recipients) apply.',
        );
      if (flags.output === 'json') this.emit('json', parseYaml(source) ?? null, () => '');
      else process.stdout.write(source === '' || source.endsWith('\n') ? source : `${source}\n`);
    });
  }
}
