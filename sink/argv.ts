/** The sink process's command-line flags (same names as `kubectl email-validate sink`). */
import { parseArgs } from 'node:util';
import { evError } from '../src/errors.ts';
import { parseByteSize, parseDurationMs, parseUsers } from './config.ts';
import type { SinkOptions } from './config.ts';
import type { LogLevel } from './logger.ts';

export function optionsFromArgv(argv: string[]): Partial<SinkOptions> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: 'string' },
        'smtp-port': { type: 'string' },
        'http-port': { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'no-auth': { type: 'boolean' },
        rules: { type: 'string' },
        'max-messages': { type: 'string' },
        'max-bytes': { type: 'string' },
        'max-message-size': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-self-signed': { type: 'boolean' },
        'auth-required': { type: 'boolean' },
        'auth-user': { type: 'string', multiple: true },
        'auth-users-file': { type: 'string' },
        'max-clients': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'session-timeout': { type: 'string' },
        name: { type: 'string' },
        'event-window': { type: 'string' },
        'log-level': { type: 'string' },
        'release-to': { type: 'string' },
        'cors-origin': { type: 'string' },
      },
    }));
  } catch (err) {
    throw evError('EV_ERR_INVALID_OPTION', (err as Error).message, { hint: 'See `kubectl email-validate sink --help`.' });
  }
  const out: Partial<SinkOptions> = {};
  const int = (flag: string, v: string): number => {
    if (!/^\d+$/.test(v)) throw evError('EV_ERR_INVALID_OPTION', `--${flag} must be a whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const str = (flag: string) => values[flag] as string | undefined;
  if (str('host') !== undefined) out.host = str('host')!;
  if (str('smtp-port') !== undefined) out.smtpPort = int('smtp-port', str('smtp-port')!);
  if (str('http-port') !== undefined) out.httpPort = int('http-port', str('http-port')!);
  if (str('token') !== undefined) out.token = str('token')!;
  if (str('token-file') !== undefined) out.tokenFile = str('token-file')!;
  if (values['no-auth']) out.noAuth = true;
  if (str('rules') !== undefined) out.rulesFile = str('rules')!;
  if (str('max-messages') !== undefined) out.maxMessages = int('max-messages', str('max-messages')!);
  for (const [flag, key] of [['max-bytes', 'maxBytes'], ['max-message-size', 'maxMessageSize']] as const) {
    const v = str(flag);
    if (v !== undefined) out[key] = parseByteSize(v) ?? (() => { throw evError('EV_ERR_INVALID_OPTION', `--${flag} must be a size such as 256MiB, got ${JSON.stringify(v)}`); })();
  }
  for (const [flag, key] of [['idle-timeout', 'idleTimeoutMs'], ['session-timeout', 'sessionTimeoutMs']] as const) {
    const v = str(flag);
    if (v !== undefined) out[key] = parseDurationMs(v) ?? (() => { throw evError('EV_ERR_INVALID_OPTION', `--${flag} must be a duration such as 30s, got ${JSON.stringify(v)}`); })();
  }
  if (str('tls-cert') !== undefined) out.tlsCert = str('tls-cert')!;
  if (str('tls-key') !== undefined) out.tlsKey = str('tls-key')!;
  if (values['tls-self-signed']) out.tlsSelfSigned = true;
  if (values['auth-required']) out.authRequired = true;
  const users = values['auth-user'] as string[] | undefined;
  if (users?.length) out.users = users.flatMap((u) => parseUsers('users', u));
  if (str('auth-users-file') !== undefined) out.usersFile = str('auth-users-file')!;
  if (str('max-clients') !== undefined) out.maxClients = int('max-clients', str('max-clients')!);
  if (str('name') !== undefined) out.name = str('name')!;
  if (str('event-window') !== undefined) out.eventWindow = int('event-window', str('event-window')!);
  if (str('log-level') !== undefined) out.logLevel = str('log-level') as LogLevel;
  if (str('release-to') !== undefined) out.releaseTo = str('release-to')!;
  if (str('cors-origin') !== undefined) out.corsOrigin = str('cors-origin')!;
  return out;
}
