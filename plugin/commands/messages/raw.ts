import { Args } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.ts';
import { rawAny, resolveMessageId } from '../../lib/sink-fanout.ts';
import { withSinkTarget } from '../../lib/sink-target.ts';
import { sinkFlags } from '../../lib/sink-flags.ts';

export default class MessagesRaw extends BaseCommand {
  static override summary = "Print a message's raw source (.eml) exactly as received.";
  static override description =
    'Writes the bytes the sink received after DATA, unchanged, to stdout. Exit 1 when there is no such message.';
  static override examples = ['<%= config.bin %> messages raw 01JD7X3M2K > message.eml'];
  static override args = {
    id: Args.string({
      description: 'Message id, a unique prefix of one, or "latest" (the newest message).',
      required: true,
    }),
  };
  static override flags = { ...sinkFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(MessagesRaw);
    await withSinkTarget(flags, { onStatus: (l) => this.status(l) }, async (target) => {
      const raw = await rawAny(target.sinks, await resolveMessageId(target.sinks, args.id));
      await new Promise<void>((resolve, reject) =>
        process.stdout.write(raw, (err) => (err ? reject(err) : resolve())),
      );
    });
  }
}
