/**
 * The sink's configuration: options from flags, environment variables or an
 * embedding caller, validated once into a frozen {@link SinkConfig}. Every
 * error names the option, its flag and its environment variable.
 */
import { randomBytes } from 'node:crypto';
import { API_TOKEN_BYTES, apiTokenFrom } from '../src/api-token.ts';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { evError } from '../src/errors.ts';
import { parseRules } from '../src/rules-schema.ts';
import { LOG_LEVELS, silentLogger } from './logger.ts';
import type { LogLevel } from './logger.ts';
import type { Analyzer } from './message-parse.ts';
import { checkPemPair, generateSelfSigned } from './smtp-tls.ts';
import type { PemPair } from './smtp-tls.ts';
import { DEFAULT_HOST, badOption, optionLabel, optionSpec, parseUsers } from './options.ts';
import type { SinkOptionKey, TableOptions } from './options.ts';
import { parseReleaseTargets } from './release-targets.ts';
import type { ReleaseTarget } from './release-targets.ts';
import type { Logger } from './types.ts';
import { codeOrMessage, errorMessage } from '../src/guards.ts';

export {
  DEFAULT_HOST,
  DEFAULT_SMTP_PORT,
  DEFAULT_HTTP_PORT,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  DEFAULT_SINK_EVENT_WINDOW,
  MAX_MAX_MESSAGES,
  MAX_MAX_BYTES,
  MAX_MESSAGE_SIZE_LIMIT,
  MAX_EVENT_WINDOW,
  optionsFromEnv,
  parseByteSize,
  parseUsers,
} from './options.ts';
export type { SinkUser } from './options.ts';

/** A token shorter than this is guessable. */
export const MIN_TOKEN_LENGTH = 16;
/** Configured AUTH users; a list, not a directory. */
export const MAX_AUTH_USERS = 1000;

/**
 * What a caller (flags, env, an embedding test) may set: the options table
 * (options.ts) plus what only an embedding caller can pass.
 */
export interface SinkOptions extends TableOptions {
  /** Rules YAML source (takes precedence over rulesFile). */
  rules: string | null;
  /** A logger; when absent, JSON lines to stdout at logLevel (the embedded default is silent). */
  logger: Logger | null;
  /** Injected randomness for probability rules. */
  random: () => number;
  /** Injected wait for delay rules and the failed-AUTH delay (tests control time with it). */
  sleep: ((ms: number) => Promise<void>) | null;
  /** Injected analysis (forces inline parsing; tests use it with local DKIM keys). */
  analyze: Analyzer | null;
}

export interface SinkConfig {
  readonly host: string;
  readonly smtpPort: number;
  readonly httpPort: number;
  readonly token: string | null;
  readonly tokenGenerated: boolean;
  readonly rulesSource: string;
  readonly rulesFile: string | null;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxMessageSize: number;
  readonly tls: Readonly<PemPair & { selfSigned: boolean }> | null;
  readonly authRequired: boolean;
  readonly users: ReadonlyMap<string, string>;
  readonly maxClients: number;
  readonly idleTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly name: string;
  readonly eventWindow: number;
  readonly logLevel: LogLevel;
  readonly logger: Logger | null;
  readonly parseInWorker: boolean;
  readonly random: () => number;
  readonly sleep: ((ms: number) => Promise<void>) | null;
  readonly analyze: Analyzer | null;
  readonly releaseTo: readonly ReleaseTarget[];
  readonly corsOrigin: string | null;
  /** `--link-check-private`: the link check may fetch internal addresses. */
  readonly linkCheckPrivate: boolean;
}

function readText(key: keyof SinkOptions, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw evError(
      'EV_ERR_FILE_READ',
      `${optionLabel(key)}: cannot read ${path}: ${codeOrMessage(err)}`,
      {
        hint: 'Check the path and its permissions.',
        details: { option: key, path },
        cause: err,
      },
    );
  }
}

type NumericKey = {
  [K in SinkOptionKey]: SinkOptions[K] extends number ? K : never;
}[SinkOptionKey];

/** A number option, or its default, within the range its row in the options table declares. */
function checkedNumber(key: NumericKey, given: number | undefined): number {
  const spec = optionSpec(key);
  const v: unknown = given ?? spec.default;
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    badOption(key, `must be a whole number from ${min} to ${max}`, v);
  return v;
}

/** A new API token (src/api-token.ts: never starting with `-`). */
export function generateToken(): string {
  return apiTokenFrom(randomBytes(API_TOKEN_BYTES));
}

/**
 * Validates options (merged over the defaults) into a frozen config. Reads the
 * files it names (token, rules, TLS, users) and generates what was asked to be
 * generated (token, self-signed certificate). Throws EmailValidateError.
 */
export function resolveSinkConfig(given: Partial<SinkOptions> = {}): SinkConfig {
  const host = given.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.trim() === '' || /\s/.test(host))
    badOption('host', 'must be a host name or IP address', host);
  const smtpPort = checkedNumber('smtpPort', given.smtpPort);
  const httpPort = checkedNumber('httpPort', given.httpPort);
  if (smtpPort !== 0 && smtpPort === httpPort)
    badOption('httpPort', `must differ from the SMTP port ${smtpPort}`);

  const noAuth = given.noAuth ?? false;
  let token: string | null = null;
  let tokenGenerated = false;
  if (noAuth) {
    if (given.token || given.tokenFile) {
      throw evError(
        'EV_ERR_CONFLICTING_OPTIONS',
        '--no-auth cannot be combined with --token or --token-file',
        { hint: 'Drop one of them.' },
      );
    }
  } else if (given.token != null) {
    token = given.token;
  } else if (given.tokenFile != null) {
    token = readText('tokenFile', given.tokenFile).trim();
  } else {
    token = generateToken();
    tokenGenerated = true;
  }
  if (token !== null && (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token))) {
    badOption(
      given.token != null ? 'token' : 'tokenFile',
      `must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces`,
    );
  }

  let rulesSource = '';
  let rulesFile: string | null = null;
  if (given.rules != null) rulesSource = given.rules;
  else if (given.rulesFile != null) {
    rulesFile = given.rulesFile;
    rulesSource = readText('rulesFile', given.rulesFile);
  }
  parseRules(rulesSource, rulesFile ?? 'rules'); // fail early, with file:line

  const maxMessages = checkedNumber('maxMessages', given.maxMessages);
  const maxBytes = checkedNumber('maxBytes', given.maxBytes);
  const maxMessageSize = Math.min(maxBytes, checkedNumber('maxMessageSize', given.maxMessageSize));

  const name = given.name ?? hostname();
  if (typeof name !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(name))
    badOption('name', 'must be a host name', name);

  let tls: SinkConfig['tls'] = null;
  if ((given.tlsCert == null) !== (given.tlsKey == null))
    badOption(
      given.tlsCert == null ? 'tlsCert' : 'tlsKey',
      'must be given together with --tls-cert/--tls-key',
    );
  if (given.tlsCert != null && given.tlsKey != null) {
    if (given.tlsSelfSigned)
      throw evError(
        'EV_ERR_CONFLICTING_OPTIONS',
        '--tls-self-signed cannot be combined with --tls-cert/--tls-key',
        { hint: 'Drop one of them.' },
      );
    const pair = {
      cert: readText('tlsCert', given.tlsCert),
      key: readText('tlsKey', given.tlsKey),
    };
    try {
      checkPemPair(pair);
    } catch (err) {
      throw evError('EV_ERR_TLS_CONFIG', `--tls-cert/--tls-key: ${errorMessage(err)}`, {
        hint: 'Give a PEM certificate and its matching PEM private key.',
        cause: err,
      });
    }
    tls = Object.freeze({ ...pair, selfSigned: false });
  } else if (given.tlsSelfSigned) {
    tls = Object.freeze({
      ...generateSelfSigned([
        ...new Set([name, 'localhost', host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host]),
      ]),
      selfSigned: true,
    });
  }

  const users = new Map<string, string>();
  const userList = [
    ...(given.users ?? []),
    ...(given.usersFile != null
      ? parseUsers('usersFile', readText('usersFile', given.usersFile))
      : []),
  ];
  if (userList.length > MAX_AUTH_USERS)
    badOption('users', `must list at most ${MAX_AUTH_USERS} users`);
  for (const u of userList) {
    if (typeof u?.user !== 'string' || u.user === '' || typeof u.password !== 'string')
      badOption('users', 'must be user:password pairs');
    users.set(u.user, u.password);
  }
  const authRequired = given.authRequired ?? false;
  if (authRequired && users.size === 0)
    badOption(
      'authRequired',
      'needs at least one user (--auth-user user:password, EV_AUTH_USERS or --auth-users-file)',
    );

  const maxClients = checkedNumber('maxClients', given.maxClients);
  const idleTimeoutMs = checkedNumber('idleTimeoutMs', given.idleTimeoutMs);
  const sessionTimeoutMs = checkedNumber('sessionTimeoutMs', given.sessionTimeoutMs);
  const eventWindow = checkedNumber('eventWindow', given.eventWindow);
  const logLevel = given.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    badOption('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);

  let releaseTo: ReleaseTarget[] = [];
  if (given.releaseTo != null) {
    const parsed = parseReleaseTargets(given.releaseTo);
    if (typeof parsed === 'string') badOption('releaseTo', `${parsed} (expected HOST[:PORT],…)`);
    releaseTo = parsed;
    // Without the token any web page the operator opens could drive releases: an open relay.
    if (noAuth)
      throw evError(
        'EV_ERR_CONFLICTING_OPTIONS',
        '--release-to cannot be combined with --no-auth: releases would relay mail for anyone who can reach the API',
        { hint: 'Drop --no-auth (the API then needs its token) or drop --release-to.' },
      );
  }
  const corsOrigin = given.corsOrigin ?? null;
  // One header value: a crafted origin must not split the response.
  if (corsOrigin !== null && !/^[\x21-\x7e]{1,2048}$/.test(corsOrigin))
    badOption('corsOrigin', 'must be an origin such as https://app.example or *', corsOrigin);

  return Object.freeze({
    host,
    smtpPort,
    httpPort,
    token,
    tokenGenerated,
    rulesSource,
    rulesFile,
    maxMessages,
    maxBytes,
    maxMessageSize,
    tls,
    authRequired,
    users,
    maxClients,
    idleTimeoutMs,
    sessionTimeoutMs,
    name,
    eventWindow,
    logLevel,
    logger: given.logger ?? null,
    parseInWorker: given.parseInWorker ?? given.analyze == null,
    random: given.random ?? Math.random,
    sleep: given.sleep ?? null,
    analyze: given.analyze ?? null,
    releaseTo: Object.freeze(releaseTo),
    corsOrigin,
    linkCheckPrivate: given.linkCheckPrivate ?? false,
  });
}

/** The options an embedding caller gets by default: loopback, free ports, silent. */
export const EMBEDDED_DEFAULTS: Readonly<Partial<SinkOptions>> = Object.freeze({
  host: DEFAULT_HOST,
  smtpPort: 0,
  httpPort: 0,
  logger: silentLogger,
});
