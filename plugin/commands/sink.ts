import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { painterFor } from '../lib/render/color.ts';
import { SinkActivity } from '../lib/render/sink-activity.ts';
import { tableWidth } from '../lib/render/table.ts';
import { systemClock } from '../../src/system-clock.ts';
import { sinkOptionEnvNames, sinkOptionFlags } from '../lib/sink-option-flags.ts';
import {
  createJsonLogger,
  describeEndpoints,
  optionsFromEnv,
  optionsFromFlagValues,
  SINK_OPTIONS,
  startSink,
} from '../../sink/index.ts';
import type { RawFlagValues } from '../../sink/index.ts';

export default class Sink extends BaseCommand {
  static override summary =
    'Run the SMTP sink in the foreground (the same sink `up` deploys to the cluster).';
  static override description = `Accepts mail for any address over SMTP (never relays), keeps it in memory within --max-messages and --max-bytes, simulates bounces and deferrals (recipients starting with "bounce", "defer", "asyncbounce", or a --rules file), and serves the HTTP API, the MailHog-compatible API and the WebSocket event feed.

Endpoints (and a generated token) are printed to stderr; JSON logs go to stdout. On a terminal, stdout also shows one line per message received, rejected, deferred or bounced (as \`tail\` prints it, cut to the terminal's width), or under load a summary every 5 seconds; --no-activity turns that off, --activity turns it on when stdout is not a terminal. Every flag can also be set with an environment variable (${sinkOptionEnvNames.join(', ')}); flags win. Ctrl-C or SIGTERM stops accepting, lets messages in flight finish, and exits 0.`;
  static override examples = [
    { description: 'A local sink on the usual MailHog ports', command: '<%= config.bin %> sink' },
    {
      description: 'Free ports, no API token, STARTTLS with a generated certificate',
      command: '<%= config.bin %> sink --smtp-port 0 --http-port 0 --no-auth --tls-self-signed',
    },
    {
      description: 'Simulate bounces from a rules file, keep at most 1,000 messages',
      command: '<%= config.bin %> sink --rules rules.yaml --max-messages 1000',
    },
    {
      description: 'Require SMTP AUTH',
      command: '<%= config.bin %> sink --auth-required --auth-user app:secret',
    },
    {
      description:
        'Let MailHog clients release messages to a staging relay, and a browser app read the API',
      command:
        '<%= config.bin %> sink --release-to smtp.staging.internal:25 --cors-origin https://app.example',
    },
  ];
  static override flags = {
    ...sinkOptionFlags,
    activity: Flags.boolean({
      description:
        'One line per message (a summary every 5 s under load) on stdout. Default: on when stdout is a terminal.',
      allowNo: true,
      helpGroup: 'OUTPUT',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Sink);
    const options = {
      ...optionsFromEnv(process.env),
      ...optionsFromFlagValues(flags as RawFlagValues),
    };
    const level = options.logLevel ?? SINK_OPTIONS.logLevel.default;
    // Listening for the stop signals before the sink starts: a Ctrl-C that comes as soon as the
    // endpoints are printed still stops it gracefully.
    const stopRequested = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const sink = await startSink({
      ...options,
      logLevel: level,
      logger: createJsonLogger({ level }),
    });
    this.status(describeEndpoints(sink.config, sink).trimEnd());
    this.status(exportLine(sink.config, sink.httpPort));
    const activity =
      (flags.activity ?? process.stdout.isTTY === true)
        ? new SinkActivity({
            write: (line) => process.stdout.write(line),
            clock: systemClock,
            width: () => tableWidth(process.stdout, process.env),
            paint: painterFor(process.stdout, process.env),
          })
        : null;
    const unsubscribe = activity
      ? sink.context.events.subscribe((e) => activity.handle(e))
      : () => undefined;
    await stopRequested;
    unsubscribe();
    activity?.stop();
    this.status('stopping: letting messages in flight finish…');
    await sink.stop();
  }
}

/** A value safe to paste into a POSIX shell unquoted, or single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * The copy-paste line that points `tail`, `send` and `messages` at this sink:
 * `export EV_SINK=http://127.0.0.1:8025 EV_TOKEN=…`.
 */
function exportLine(
  config: { host: string; token: string | null; tokenGenerated?: boolean },
  httpPort: number,
): string {
  const host =
    config.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.host === '::'
        ? '[::1]'
        : config.host.includes(':')
          ? `[${config.host}]`
          : config.host;
  const sinkUrl = `http://${host}:${httpPort}`;
  const token =
    config.token === null
      ? ''
      : config.tokenGenerated
        ? ` EV_TOKEN=${shellWord(config.token)}`
        : ' EV_TOKEN=<the --token you set>';
  return `export EV_SINK=${shellWord(sinkUrl)}${token}   # then: kubectl email-validate tail | send --to … | messages list`;
}
