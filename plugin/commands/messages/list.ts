import { Flags } from '@oclif/core';
import { BaseCommand, tableOutputFlag } from '../../lib/base-command.ts';
import { tableWidth } from '../../lib/render/table.ts';
import { formatMessageList } from '../../lib/render/messages.ts';
import { listAll } from '../../lib/sink-fanout.ts';
import { withSinkTarget } from '../../lib/sink-target.ts';
import { sinkFlags } from '../../lib/sink-flags.ts';
import { evError } from '../../../src/errors.ts';
import { compileValueMatcher } from '../../lib/tail/event-filter.ts';

/** Largest page: the sink's own cap on one list response. */
export const MAX_LIST_LIMIT = 1000;

export default class MessagesList extends BaseCommand {
  static override summary = 'List the messages the sink holds, newest first.';
  static override description =
    "Filters are done by the sink and combine with AND. --to, --from and --subject are plain text matched as a case-insensitive substring, or /…/ for a regular expression (RE2 syntax), exactly as in `tail` and flows; --containing is text searched in the whole raw message, --tag the +tag of user+tag@domain. Text output is a table that fits the terminal (short ids: unique prefixes `messages get` accepts); -o wide prints full ids and every column untruncated; -o json / yaml print the sink's list response ({total, start, count, items}).";
  static override examples = [
    '<%= config.bin %> messages list',
    '<%= config.bin %> messages list --to alice@example.com --limit 10',
    "<%= config.bin %> messages list --subject '/^(welcome|reset)/'",
    '<%= config.bin %> messages list --containing invoice -o json',
    '<%= config.bin %> messages list -o wide',
  ];
  static override flags = {
    to: Flags.string({
      description: 'Recipient contains this text (case-insensitive); /…/ for a regular expression.',
      helpGroup: 'FILTER',
    }),
    from: Flags.string({
      description: 'Sender contains this text (case-insensitive); /…/ for a regular expression.',
      helpGroup: 'FILTER',
    }),
    subject: Flags.string({
      description: 'Subject contains this text (case-insensitive); /…/ for a regular expression.',
      helpGroup: 'FILTER',
    }),
    containing: Flags.string({
      description: 'The raw message contains this text.',
      helpGroup: 'FILTER',
    }),
    tag: Flags.string({
      description: 'A recipient has this plus-address tag.',
      helpGroup: 'FILTER',
    }),
    start: Flags.integer({ description: 'Skip this many messages.', default: 0 }),
    limit: Flags.integer({
      description: `Show at most this many messages (1-${MAX_LIST_LIMIT}).`,
      default: 50,
    }),
    utc: Flags.boolean({ description: 'Print times in UTC.', helpGroup: 'OUTPUT' }),
    output: tableOutputFlag,
    ...sinkFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(MessagesList);
    if (flags.start < 0)
      throw evError('EV_ERR_INVALID_OPTION', '--start must be 0 or more', {
        hint: 'e.g. --start 50',
      });
    if (flags.limit < 1 || flags.limit > MAX_LIST_LIMIT)
      throw evError('EV_ERR_INVALID_OPTION', `--limit must be from 1 to ${MAX_LIST_LIMIT}`, {
        hint: 'page with --start and --limit',
      });
    // The sink compiles them too; checking here makes a bad expression a usage error (exit 2) before connecting.
    for (const flag of ['to', 'from', 'subject'] as const)
      compileValueMatcher(`--${flag}`, flags[flag]);
    await withSinkTarget(flags, { onStatus: (l) => this.status(l) }, async (target) => {
      const { to, from, subject, containing, tag, start, limit } = flags;
      const list = await listAll(target.sinks, {
        to,
        from,
        subject,
        containing,
        tag,
        start,
        limit,
      });
      this.emit(flags.output, list, () =>
        formatMessageList(list, {
          utc: flags.utc,
          wide: flags.output === 'wide',
          width: tableWidth(process.stdout, process.env),
        }),
      );
    });
  }
}
