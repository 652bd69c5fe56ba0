import { Args, Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../../lib/base-command.ts';
import { formatMessageDetail } from '../../lib/render/messages.ts';
import { getAny, resolveMessageId } from '../../lib/sink-fanout.ts';
import { withSinkTarget } from '../../lib/sink-target.ts';
import { sinkFlags } from '../../lib/sink-flags.ts';

export default class MessagesGet extends BaseCommand {
  static override summary = 'Show one message: envelope, headers, analysis and text body.';
  static override description =
    'The id comes from `messages list`, `tail` or `send`. -o json / yaml print the full message as the sink returns it (headers, text, html, attachments, analysis). Exit 1 when there is no such message.';
  static override examples = [
    '<%= config.bin %> messages get 01JD7X3M2K',
    '<%= config.bin %> messages get 01JD7X3M2K -o json | jq .analysis',
    '<%= config.bin %> messages get latest',
    '<%= config.bin %> messages get 01JD7',
  ];
  static override args = {
    id: Args.string({
      description: 'Message id, a unique prefix of one, or "latest" (the newest message).',
      required: true,
    }),
  };
  static override flags = {
    utc: Flags.boolean({ description: 'Print times in UTC.', helpGroup: 'OUTPUT' }),
    output: outputFlag,
    ...sinkFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(MessagesGet);
    await withSinkTarget(flags, { onStatus: (l) => this.status(l) }, async (target) => {
      const detail = await getAny(target.sinks, await resolveMessageId(target.sinks, args.id));
      this.emit(flags.output, detail, () => formatMessageDetail(detail, { utc: flags.utc }));
    });
  }
}
