import { BaseCommand, outputFlag } from '../../lib/base-command.ts';
import { clearAll } from '../../lib/sink-fanout.ts';
import { withSinkTarget } from '../../lib/sink-target.ts';
import { sinkFlags } from '../../lib/sink-flags.ts';

export default class MessagesClear extends BaseCommand {
  static override summary = 'Delete every message the sink holds.';
  static override description =
    'Clears every pod of the sink. The event log is kept: a `messages.cleared` event records it.';
  static override examples = [
    '<%= config.bin %> messages clear',
    '<%= config.bin %> messages clear --sink http://127.0.0.1:8025 -o json',
  ];
  static override flags = { output: outputFlag, ...sinkFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(MessagesClear);
    await withSinkTarget(flags, { onStatus: (l) => this.status(l) }, async (target) => {
      const deleted = await clearAll(target.sinks);
      this.emit(flags.output, { deleted }, () => `Deleted ${deleted} message(s).`);
    });
  }
}
