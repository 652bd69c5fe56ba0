import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { painterFor } from '../lib/render/color.ts';
import { parseSince } from '../lib/render/since.ts';
import { interrupts } from '../lib/interrupts.ts';
import { feedOf, withSinkTarget } from '../lib/sink-target.ts';
import { sinkFlags } from '../lib/sink-flags.ts';
import { EventFilter, TYPE_ALIASES, buildFilterSpec } from '../lib/tail/event-filter.ts';
import { runTail } from '../lib/tail/run-tail.ts';
import { SINK_EVENT_TYPES } from '../../src/protocol.ts';

export default class Tail extends BaseCommand {
  static override summary =
    "Stream the sink's events live: one line per message, rejection, deferral and bounce.";
  static override description = `Prints one line per event: time, verdict, envelope sender -> recipients and subject (or the SMTP reply for rejections and deferrals). Lines are coloured by type when stdout is a terminal and NO_COLOR is unset.

--to, --from and --subject are plain text matched as a case-insensitive substring (as in "messages list") against envelope and header addresses and the subject; write /…/ for a regular expression (also case-insensitive), e.g. --to '/^bounce[0-9]*@/'. Events about a matching message (analysis, eviction) follow it. --since takes seq:N (events after seq N) or a duration with its unit (5m: events newer than it); a bare number is refused as ambiguous. With several sink pods the feeds are merged and each line names its pod.

Lost events are never silent: if the sink no longer retains what was asked for, a warning says how many were lost (in JSON, the gap event itself is printed).

-o json prints each event as one line of JSON, exactly the sink's event schema ({seq, time, type, data}; plus "pod" when several pods are merged).`;
  static override examples = [
    {
      description: 'Follow everything the sink in the cluster sees',
      command: '<%= config.bin %> tail',
    },
    {
      description: 'Only rejections and bounces for one domain',
      command: '<%= config.bin %> tail --to @example.com --type rejected --type bounced',
    },
    {
      description: 'Print the last 5 minutes as JSON and exit',
      command: '<%= config.bin %> tail --since 5m --no-follow -o json',
    },
    {
      description: 'A sink started with `kubectl email-validate sink`',
      command: '<%= config.bin %> tail --sink http://127.0.0.1:8025 --token "$EV_TOKEN"',
    },
  ];
  static override flags = {
    to: Flags.string({
      description:
        'Only events whose recipient contains this text (case-insensitive); /…/ for a regular expression.',
      helpGroup: 'FILTER',
    }),
    from: Flags.string({
      description:
        'Only events whose sender contains this text (case-insensitive); /…/ for a regular expression.',
      helpGroup: 'FILTER',
    }),
    subject: Flags.string({
      description:
        'Only messages whose subject contains this text (case-insensitive); /…/ for a regular expression.',
      helpGroup: 'FILTER',
    }),
    // Validated by parseTypes (with a hint); the values are offered by `completionValues` below.
    type: Flags.string({
      description:
        'Only these event types (repeatable or comma-separated): received, rejected, deferred, bounced, analyzed, evicted, deleted, cleared, rules, webhook, gap, or full names such as message.received.',
      multiple: true,
      delimiter: ',',
      helpGroup: 'FILTER',
    }),
    since: Flags.string({
      description:
        'Start after a seq (seq:1200) or this far back (5m, 1h, 90s: a unit is required). Default: everything retained.',
      helpGroup: 'FILTER',
    }),
    follow: Flags.boolean({
      char: 'f',
      description: 'Keep streaming live events; --no-follow prints what is retained, then exits.',
      default: true,
      allowNo: true,
    }),
    output: Flags.option({
      char: 'o',
      description: 'Output format: one line of text or of JSON per event.',
      options: ['text', 'json'] as const,
      default: 'text',
      helpGroup: 'OUTPUT',
    })(),
    utc: Flags.boolean({
      description: 'Print times in UTC instead of local time.',
      helpGroup: 'OUTPUT',
    }),
    ...sinkFlags,
  };

  /** Values plugin/bin/complete.js offers for flags that oclif does not restrict itself. */
  static completionValues: Record<string, readonly string[]> = {
    type: [...Object.keys(TYPE_ALIASES), ...SINK_EVENT_TYPES.filter((t) => t !== 'gap')],
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Tail);
    const since = parseSince(flags.since);
    const filter = new EventFilter(buildFilterSpec(flags, since, Date.now()));
    const interrupt = interrupts.install();
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
    });
    await withSinkTarget(flags, { onStatus: (l) => this.status(l), interrupt }, async (target) => {
      await runTail({
        sources: target.sinks.map(feedOf),
        since,
        follow: flags.follow,
        filter,
        output: flags.output,
        paint: painterFor(process.stdout, process.env),
        utc: flags.utc,
        write: (line) => {
          process.stdout.write(`${line}\n`);
        },
        warn: (line) => this.status(line),
        signal: interrupt.signal,
      });
    });
  }
}
