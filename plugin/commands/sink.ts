import { BaseCommand } from '../lib/base-command.ts';
import { sinkOptionEnvNames, sinkOptionFlags } from '../lib/sink-option-flags.ts';
import { createJsonLogger, describeEndpoints, optionsFromEnv, optionsFromFlagValues, SINK_OPTIONS, startSink } from '../../sink/index.ts';
import type { RawFlagValues } from '../../sink/index.ts';

export default class Sink extends BaseCommand {
  static override summary = 'Run the SMTP sink in the foreground (the same sink `up` deploys to the cluster).';
  static override description = `Accepts mail for any address over SMTP (never relays), keeps it in memory within --max-messages and --max-bytes, simulates bounces and deferrals (recipients starting with "bounce", "defer", "asyncbounce", or a --rules file), and serves the HTTP API, the MailHog-compatible API and the WebSocket event feed.

Endpoints (and a generated token) are printed to stderr; JSON logs go to stdout. Every flag can also be set with an environment variable (${sinkOptionEnvNames.join(', ')}); flags win. Ctrl-C or SIGTERM stops accepting, lets messages in flight finish, and exits 0.`;
  static override examples = [
    { description: 'A local sink on the usual MailHog ports', command: '<%= config.bin %> sink' },
    { description: 'Free ports, no API token, STARTTLS with a generated certificate', command: '<%= config.bin %> sink --smtp-port 0 --http-port 0 --no-auth --tls-self-signed' },
    { description: 'Simulate bounces from a rules file, keep at most 1,000 messages', command: '<%= config.bin %> sink --rules rules.yaml --max-messages 1000' },
    { description: 'Require SMTP AUTH', command: '<%= config.bin %> sink --auth-required --auth-user app:secret' },
    { description: 'Let MailHog clients release messages to a staging relay, and a browser app read the API', command: '<%= config.bin %> sink --release-to smtp.staging.internal:25 --cors-origin https://app.example' },
  ];
  static override flags = sinkOptionFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Sink);
    const options = { ...optionsFromEnv(process.env), ...optionsFromFlagValues(flags as RawFlagValues) };
    const level = options.logLevel ?? SINK_OPTIONS.logLevel.default;
    // Listening for the stop signals before the sink starts: a Ctrl-C that comes as soon as the
    // endpoints are printed still stops it gracefully.
    const stopRequested = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const sink = await startSink({ ...options, logLevel: level, logger: createJsonLogger({ level }) });
    this.status(describeEndpoints(sink.config, sink).trimEnd());
    await stopRequested;
    this.status('stopping: letting messages in flight finish…');
    await sink.stop();
  }
}
