import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { LOG_LEVELS, createJsonLogger, describeEndpoints, optionsFromEnv, parseByteSize, startSink } from '../../sink/index.ts';
import type { LogLevel, SinkOptions } from '../../sink/index.ts';
import { evError } from '../../src/errors.ts';

export default class Sink extends BaseCommand {
  static override summary = 'Run the SMTP sink in the foreground (the same sink `up` deploys to the cluster).';
  static override description = `Accepts mail for any address over SMTP (never relays), keeps it in memory within --max-messages and --max-bytes, simulates bounces and deferrals (recipients starting with "bounce", "defer", "asyncbounce", or a --rules file), and serves the HTTP API, the MailHog-compatible API and the WebSocket event feed.

Endpoints (and a generated token) are printed to stderr; JSON logs go to stdout. Every flag can also be set with an environment variable (EV_HOST, EV_SMTP_PORT, EV_HTTP_PORT, EV_TOKEN, EV_TOKEN_FILE, EV_NO_AUTH, EV_RULES_FILE, EV_MAX_MESSAGES, EV_MAX_BYTES, EV_TLS_CERT, EV_TLS_KEY, EV_TLS_SELF_SIGNED, EV_AUTH_REQUIRED, EV_AUTH_USERS, EV_MAX_CLIENTS); flags win. Ctrl-C or SIGTERM stops accepting, lets messages in flight finish, and exits 0.`;
  static override examples = [
    { description: 'A local sink on the usual MailHog ports', command: '<%= config.bin %> sink' },
    { description: 'Free ports, no API token, STARTTLS with a generated certificate', command: '<%= config.bin %> sink --smtp-port 0 --http-port 0 --no-auth --tls-self-signed' },
    { description: 'Simulate bounces from a rules file, keep at most 1,000 messages', command: '<%= config.bin %> sink --rules rules.yaml --max-messages 1000' },
    { description: 'Require SMTP AUTH', command: '<%= config.bin %> sink --auth-required --auth-user app:secret' },
    { description: 'Let MailHog clients release messages to a staging relay, and a browser app read the API', command: '<%= config.bin %> sink --release-to smtp.staging.internal:25 --cors-origin https://app.example' },
  ];
  static override flags = {
    host: Flags.string({ description: 'Address to listen on (0.0.0.0 for every interface).', default: '127.0.0.1' }),
    'smtp-port': Flags.integer({ description: 'SMTP port (0 picks a free one).', default: 1025, min: 0, max: 65535 }),
    'http-port': Flags.integer({ description: 'HTTP API port (0 picks a free one).', default: 8025, min: 0, max: 65535 }),
    token: Flags.string({ description: 'Bearer token of the API (default: generated and printed).', exclusive: ['token-file', 'no-auth'], helpGroup: 'API' }),
    'token-file': Flags.string({ description: 'Read the API token from this file.', exclusive: ['token', 'no-auth'], helpGroup: 'API' }),
    'no-auth': Flags.boolean({ description: 'Serve the API without a token (anyone who can reach it reads the mail).', exclusive: ['token', 'token-file'], helpGroup: 'API' }),
    rules: Flags.string({ description: 'YAML rules file simulating bounces, deferrals, delays, disconnects (replaceable at runtime through the API).', helpGroup: 'BEHAVIOUR' }),
    'max-messages': Flags.integer({ description: 'Messages kept; the oldest are evicted first.', default: 10_000, min: 1, helpGroup: 'LIMITS' }),
    'max-bytes': Flags.string({ description: 'Raw bytes kept, e.g. 128MiB; the oldest are evicted first.', default: '128MiB', helpGroup: 'LIMITS' }),
    'max-message-size': Flags.string({ description: 'SIZE advertised; larger messages get 552.', default: '25MiB', helpGroup: 'LIMITS' }),
    'max-clients': Flags.integer({ description: 'Concurrent SMTP clients.', default: 1000, min: 1, helpGroup: 'LIMITS' }),
    'tls-cert': Flags.string({ description: 'PEM certificate for STARTTLS.', dependsOn: ['tls-key'], exclusive: ['tls-self-signed'], helpGroup: 'TLS' }),
    'tls-key': Flags.string({ description: 'PEM private key for STARTTLS.', dependsOn: ['tls-cert'], helpGroup: 'TLS' }),
    'tls-self-signed': Flags.boolean({ description: 'Offer STARTTLS with a certificate generated at start.', helpGroup: 'TLS' }),
    'auth-required': Flags.boolean({ description: 'Require SMTP AUTH (PLAIN/LOGIN) with one of the --auth-user accounts.', helpGroup: 'SMTP AUTH' }),
    'auth-user': Flags.string({ description: 'An SMTP account user:password (repeatable). Without --auth-required any credentials are accepted.', multiple: true, helpGroup: 'SMTP AUTH' }),
    'release-to': Flags.string({ description: 'SMTP servers (HOST[:PORT],…) that MailHog/Mailpit "release" may relay captured messages to; without it releases are refused (403).', helpGroup: 'COMPATIBILITY' }),
    'cors-origin': Flags.string({ description: 'Access-Control-Allow-Origin for the MailHog/Mailpit-compatible routes, like MailHog\'s -cors-origin.', helpGroup: 'COMPATIBILITY' }),
    'log-level': Flags.option({ description: 'Log level of the JSON logs on stdout.', options: LOG_LEVELS, default: 'info' as const })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Sink);
    const size = (flag: string, v: string) => parseByteSize(v) ?? (() => { throw evError('EV_ERR_INVALID_OPTION', `--${flag} must be a size such as 256MiB, got ${JSON.stringify(v)}`); })();
    const given = (name: string) => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    const fromFlags: Partial<SinkOptions> = {
      ...(given('host') || !process.env.EV_HOST ? { host: flags.host } : {}),
      ...(given('smtp-port') || !process.env.EV_SMTP_PORT ? { smtpPort: flags['smtp-port'] } : {}),
      ...(given('http-port') || !process.env.EV_HTTP_PORT ? { httpPort: flags['http-port'] } : {}),
      ...(flags.token !== undefined ? { token: flags.token } : {}),
      ...(flags['token-file'] !== undefined ? { tokenFile: flags['token-file'] } : {}),
      ...(flags['no-auth'] ? { noAuth: true } : {}),
      ...(flags.rules !== undefined ? { rulesFile: flags.rules } : {}),
      ...(given('max-messages') || !process.env.EV_MAX_MESSAGES ? { maxMessages: flags['max-messages'] } : {}),
      ...(given('max-bytes') || !process.env.EV_MAX_BYTES ? { maxBytes: size('max-bytes', flags['max-bytes']) } : {}),
      ...(given('max-message-size') || !process.env.EV_MAX_MESSAGE_SIZE ? { maxMessageSize: size('max-message-size', flags['max-message-size']) } : {}),
      ...(given('max-clients') || !process.env.EV_MAX_CLIENTS ? { maxClients: flags['max-clients'] } : {}),
      ...(flags['tls-cert'] !== undefined ? { tlsCert: flags['tls-cert'], tlsKey: flags['tls-key'] ?? null } : {}),
      ...(flags['tls-self-signed'] ? { tlsSelfSigned: true } : {}),
      ...(flags['auth-required'] ? { authRequired: true } : {}),
      ...(flags['auth-user'] ? { users: flags['auth-user'].map(parseUser) } : {}),
      ...(flags['release-to'] !== undefined ? { releaseTo: flags['release-to'] } : {}),
      ...(flags['cors-origin'] !== undefined ? { corsOrigin: flags['cors-origin'] } : {}),
    };
    const options = { ...optionsFromEnv(process.env), ...fromFlags };
    const level = flags['log-level'] as LogLevel;
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

function parseUser(pair: string): { user: string; password: string } {
  const colon = pair.indexOf(':');
  if (colon <= 0) throw evError('EV_ERR_INVALID_OPTION', `--auth-user must be user:password, got ${JSON.stringify(pair)}`);
  return { user: pair.slice(0, colon), password: pair.slice(colon + 1) };
}
