/**
 * The sink's configuration: options from flags, environment variables or an
 * embedding caller, validated once into a frozen {@link SinkConfig}. Every
 * error names the option, its flag and its environment variable.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { evError } from '../src/errors.ts';
import { parseRules } from '../src/rules-schema.ts';
import { LOG_LEVELS, silentLogger } from './logger.ts';
import type { LogLevel } from './logger.ts';
import type { Analyzer } from './message-parse.ts';
import { checkPemPair, generateSelfSigned } from './smtp-tls.ts';
import type { PemPair } from './smtp-tls.ts';
import { parseReleaseTargets } from './release-targets.ts';
import type { ReleaseTarget } from './release-targets.ts';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES } from './store.ts';
import type { Logger } from './types.ts';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SMTP_PORT = 1025;
export const DEFAULT_HTTP_PORT = 8025;
/** SIZE advertised in EHLO (issue 2: 25 MiB); larger messages get 552 after their data is consumed. */
export const DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024;
/** Concurrent SMTP clients; enough for 200-client load tests with headroom, few enough to bound buffers. */
export const DEFAULT_MAX_CLIENTS = 1000;
/** A client silent this long while we wait for a command is dropped (RFC 5321 suggests 5 min; tests want less). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** A whole SMTP session may last this long, so a trickling client cannot hold a slot forever. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10 * 60_000;
/** Upper bound for --max-messages: the summaries alone of more would not fit a small pod. */
export const MAX_MAX_MESSAGES = 10_000_000;
/** Upper bound for --max-bytes (64 GiB). */
export const MAX_MAX_BYTES = 64 * 1024 ** 3;
/** Upper bound for the SIZE limit (1 GiB); mail systems rarely take more than 150 MB. */
export const MAX_MESSAGE_SIZE_LIMIT = 1024 ** 3;
/** Configured AUTH users; a list, not a directory. */
export const MAX_AUTH_USERS = 1000;
/**
 * Events the sink keeps for WebSocket replay by default: about 10 s at 5,000
 * events/s, far more than a tunnel needs to come back, and (at about a
 * kilobyte each) the largest fixed share of the sink's memory after the store.
 */
export const DEFAULT_SINK_EVENT_WINDOW = 50_000;
/** Upper bound for the replay window: ten million events would be gigabytes. */
export const MAX_EVENT_WINDOW = 2_000_000;
/** A token shorter than this is guessable. */
export const MIN_TOKEN_LENGTH = 16;

export interface SinkUser {
  user: string;
  password: string;
}

/** What a caller (flags, env, an embedding test) may set. */
export interface SinkOptions {
  host: string;
  smtpPort: number;
  httpPort: number;
  /** Bearer token of the API; generated when neither it nor tokenFile is set (unless noAuth). */
  token: string | null;
  tokenFile: string | null;
  noAuth: boolean;
  /** Rules YAML source (takes precedence over rulesFile). */
  rules: string | null;
  rulesFile: string | null;
  maxMessages: number;
  maxBytes: number;
  maxMessageSize: number;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsSelfSigned: boolean;
  authRequired: boolean;
  users: SinkUser[];
  usersFile: string | null;
  maxClients: number;
  idleTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Host name in the SMTP greeting and in generated DSNs. */
  name: string;
  /** Events kept for WebSocket replay (`?since=`); each costs about a kilobyte. */
  eventWindow: number;
  logLevel: LogLevel;
  /** A logger; when absent, JSON lines to stdout at logLevel (the embedded default is silent). */
  logger: Logger | null;
  /** Run the MIME parse and analysis in a worker thread (default) or inline. */
  parseInWorker: boolean;
  /** Injected randomness for probability rules. */
  random: () => number;
  /** Injected wait for delay rules and the failed-AUTH delay (tests control time with it). */
  sleep: ((ms: number) => Promise<void>) | null;
  /** Injected analysis (forces inline parsing; tests use it with local DKIM keys). */
  analyze: Analyzer | null;
  /** `HOST[:PORT],…`: the only SMTP servers MailHog/Mailpit releases may relay to (none by default: never an open relay). */
  releaseTo: string | null;
  /** Access-Control-Allow-Origin of the MailHog/Mailpit-compatible routes, like MailHog's -cors-origin (none by default). */
  corsOrigin: string | null;
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
}

/** Flag and environment variable of each option, for error messages and docs. */
export const OPTION_SOURCES: Readonly<Record<keyof SinkOptions, { flag: string | null; env: string | null }>> = Object.freeze({
  host: { flag: '--host', env: 'EV_HOST' },
  smtpPort: { flag: '--smtp-port', env: 'EV_SMTP_PORT' },
  httpPort: { flag: '--http-port', env: 'EV_HTTP_PORT' },
  token: { flag: '--token', env: 'EV_TOKEN' },
  tokenFile: { flag: '--token-file', env: 'EV_TOKEN_FILE' },
  noAuth: { flag: '--no-auth', env: 'EV_NO_AUTH' },
  rules: { flag: null, env: null },
  rulesFile: { flag: '--rules', env: 'EV_RULES_FILE' },
  maxMessages: { flag: '--max-messages', env: 'EV_MAX_MESSAGES' },
  maxBytes: { flag: '--max-bytes', env: 'EV_MAX_BYTES' },
  maxMessageSize: { flag: '--max-message-size', env: 'EV_MAX_MESSAGE_SIZE' },
  tlsCert: { flag: '--tls-cert', env: 'EV_TLS_CERT' },
  tlsKey: { flag: '--tls-key', env: 'EV_TLS_KEY' },
  tlsSelfSigned: { flag: '--tls-self-signed', env: 'EV_TLS_SELF_SIGNED' },
  authRequired: { flag: '--auth-required', env: 'EV_AUTH_REQUIRED' },
  users: { flag: '--auth-user', env: 'EV_AUTH_USERS' },
  usersFile: { flag: '--auth-users-file', env: 'EV_AUTH_USERS_FILE' },
  maxClients: { flag: '--max-clients', env: 'EV_MAX_CLIENTS' },
  idleTimeoutMs: { flag: '--idle-timeout', env: 'EV_IDLE_TIMEOUT' },
  sessionTimeoutMs: { flag: '--session-timeout', env: 'EV_SESSION_TIMEOUT' },
  name: { flag: '--name', env: 'EV_NAME' },
  eventWindow: { flag: '--event-window', env: 'EV_EVENT_WINDOW' },
  logLevel: { flag: '--log-level', env: 'EV_LOG_LEVEL' },
  logger: { flag: null, env: null },
  parseInWorker: { flag: null, env: 'EV_PARSE_IN_WORKER' },
  random: { flag: null, env: null },
  sleep: { flag: null, env: null },
  analyze: { flag: null, env: null },
  releaseTo: { flag: '--release-to', env: 'EV_RELEASE_TO' },
  corsOrigin: { flag: '--cors-origin', env: 'EV_CORS_ORIGIN' },
});

function label(key: keyof SinkOptions): string {
  const s = OPTION_SOURCES[key];
  const names = [s.flag, s.env].filter((x): x is string => x !== null);
  return names.length ? `${key} (${names.join(', ')})` : key;
}

function bad(key: keyof SinkOptions, problem: string, got?: unknown): never {
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)}`;
  throw evError('EV_ERR_INVALID_OPTION', `${label(key)} ${problem}${shown}`, {
    hint: 'See `kubectl email-validate sink --help` for the accepted values.',
    details: { option: key, flag: OPTION_SOURCES[key].flag, env: OPTION_SOURCES[key].env },
  });
}

/** "1024", "25MiB", "256 MB", "1g" -> bytes; null when not a size. */
export function parseByteSize(raw: string | number): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$/i.exec(raw);
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : null;
}

/** "30s", "2m", "1500ms", "1500" (ms) -> milliseconds; null when not a duration. */
export function parseDurationMs(raw: string | number): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  if (!m) return null;
  const mult = m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 1;
  return Math.round(Number(m[1]) * mult);
}

function parseBool(key: keyof SinkOptions, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off|)$/i.test(raw)) return false;
  return bad(key, 'must be true or false', raw);
}

function parseInteger(key: keyof SinkOptions, raw: string): number {
  if (!/^\s*\d+\s*$/.test(raw)) bad(key, 'must be a whole number', raw);
  return Number(raw);
}

/** `user:password` pairs separated by commas or newlines (a users file has one per line). */
export function parseUsers(key: keyof SinkOptions, raw: string): SinkUser[] {
  return raw.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('#')).map((pair) => {
    const colon = pair.indexOf(':');
    if (colon <= 0) bad(key, 'must list user:password pairs');
    return { user: pair.slice(0, colon), password: pair.slice(colon + 1) };
  });
}

/** Reads the EV_* environment variables into options (only those set). */
export function optionsFromEnv(env: Record<string, string | undefined>): Partial<SinkOptions> {
  const out: Partial<SinkOptions> = {};
  const get = (key: keyof SinkOptions): string | undefined => {
    const name = OPTION_SOURCES[key].env;
    const v = name === null ? undefined : env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const str = (key: 'host' | 'token' | 'tokenFile' | 'rulesFile' | 'tlsCert' | 'tlsKey' | 'usersFile' | 'name' | 'releaseTo' | 'corsOrigin') => {
    const v = get(key);
    if (v !== undefined) out[key] = v;
  };
  (['host', 'token', 'tokenFile', 'rulesFile', 'tlsCert', 'tlsKey', 'usersFile', 'name', 'releaseTo', 'corsOrigin'] as const).forEach(str);
  for (const key of ['smtpPort', 'httpPort', 'maxMessages', 'maxClients', 'eventWindow'] as const) {
    const v = get(key);
    if (v !== undefined) out[key] = parseInteger(key, v);
  }
  for (const key of ['maxBytes', 'maxMessageSize'] as const) {
    const v = get(key);
    if (v !== undefined) out[key] = parseByteSize(v) ?? bad(key, 'must be a size such as 256MiB', v);
  }
  for (const key of ['idleTimeoutMs', 'sessionTimeoutMs'] as const) {
    const v = get(key);
    if (v !== undefined) out[key] = parseDurationMs(v) ?? bad(key, 'must be a duration such as 30s or 5m', v);
  }
  for (const key of ['noAuth', 'tlsSelfSigned', 'authRequired', 'parseInWorker'] as const) {
    const v = get(key);
    if (v !== undefined) out[key] = parseBool(key, v);
  }
  const users = get('users');
  if (users !== undefined) out.users = parseUsers('users', users);
  const level = get('logLevel');
  if (level !== undefined) out.logLevel = level as LogLevel;
  return out;
}

function readText(key: keyof SinkOptions, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw evError('EV_ERR_FILE_READ', `${label(key)}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'Check the path and its permissions.',
      details: { option: key, path },
      cause: err,
    });
  }
}

function checkInt(key: keyof SinkOptions, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(key, `must be a whole number from ${min} to ${max}`, v);
  return v as number;
}

/**
 * Validates options (merged over the defaults) into a frozen config. Reads the
 * files it names (token, rules, TLS, users) and generates what was asked to be
 * generated (token, self-signed certificate). Throws EmailValidateError.
 */
export function resolveSinkConfig(input: Partial<SinkOptions> = {}): SinkConfig {
  const o = input;
  const host = o.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.trim() === '' || /\s/.test(host)) bad('host', 'must be a host name or IP address', host);
  const smtpPort = checkInt('smtpPort', o.smtpPort ?? DEFAULT_SMTP_PORT, 0, 65535);
  const httpPort = checkInt('httpPort', o.httpPort ?? DEFAULT_HTTP_PORT, 0, 65535);
  if (smtpPort !== 0 && smtpPort === httpPort) bad('httpPort', `must differ from the SMTP port ${smtpPort}`);

  const noAuth = o.noAuth ?? false;
  let token: string | null = null;
  let tokenGenerated = false;
  if (noAuth) {
    if (o.token || o.tokenFile) {
      throw evError('EV_ERR_CONFLICTING_OPTIONS', '--no-auth cannot be combined with --token or --token-file', { hint: 'Drop one of them.' });
    }
  } else if (o.token != null) {
    token = o.token;
  } else if (o.tokenFile != null) {
    token = readText('tokenFile', o.tokenFile).trim();
  } else {
    token = randomBytes(24).toString('base64url');
    tokenGenerated = true;
  }
  if (token !== null && (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token))) {
    bad(o.token != null ? 'token' : 'tokenFile', `must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces`);
  }

  let rulesSource = '';
  let rulesFile: string | null = null;
  if (o.rules != null) rulesSource = o.rules;
  else if (o.rulesFile != null) {
    rulesFile = o.rulesFile;
    rulesSource = readText('rulesFile', o.rulesFile);
  }
  parseRules(rulesSource, rulesFile ?? 'rules'); // fail early, with file:line

  const maxMessages = checkInt('maxMessages', o.maxMessages ?? DEFAULT_MAX_MESSAGES, 1, MAX_MAX_MESSAGES);
  const maxBytes = checkInt('maxBytes', o.maxBytes ?? DEFAULT_MAX_BYTES, 1024, MAX_MAX_BYTES);
  const maxMessageSize = Math.min(maxBytes, checkInt('maxMessageSize', o.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, 1024, MAX_MESSAGE_SIZE_LIMIT));

  const name = o.name ?? hostname();
  if (typeof name !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(name)) bad('name', 'must be a host name', name);

  let tls: SinkConfig['tls'] = null;
  if ((o.tlsCert == null) !== (o.tlsKey == null)) bad(o.tlsCert == null ? 'tlsCert' : 'tlsKey', 'must be given together with --tls-cert/--tls-key');
  if (o.tlsCert != null && o.tlsKey != null) {
    if (o.tlsSelfSigned) throw evError('EV_ERR_CONFLICTING_OPTIONS', '--tls-self-signed cannot be combined with --tls-cert/--tls-key', { hint: 'Drop one of them.' });
    const pair = { cert: readText('tlsCert', o.tlsCert), key: readText('tlsKey', o.tlsKey) };
    try {
      checkPemPair(pair);
    } catch (err) {
      throw evError('EV_ERR_TLS_CONFIG', `--tls-cert/--tls-key: ${(err as Error).message}`, { hint: 'Give a PEM certificate and its matching PEM private key.', cause: err });
    }
    tls = Object.freeze({ ...pair, selfSigned: false });
  } else if (o.tlsSelfSigned) {
    tls = Object.freeze({ ...generateSelfSigned([...new Set([name, 'localhost', host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host])]), selfSigned: true });
  }

  const users = new Map<string, string>();
  const userList = [...(o.users ?? []), ...(o.usersFile != null ? parseUsers('usersFile', readText('usersFile', o.usersFile)) : [])];
  if (userList.length > MAX_AUTH_USERS) bad('users', `must list at most ${MAX_AUTH_USERS} users`);
  for (const u of userList) {
    if (typeof u?.user !== 'string' || u.user === '' || typeof u.password !== 'string') bad('users', 'must be user:password pairs');
    users.set(u.user, u.password);
  }
  const authRequired = o.authRequired ?? false;
  if (authRequired && users.size === 0) bad('authRequired', 'needs at least one user (--auth-user user:password, EV_AUTH_USERS or --auth-users-file)');

  const maxClients = checkInt('maxClients', o.maxClients ?? DEFAULT_MAX_CLIENTS, 1, 100_000);
  const idleTimeoutMs = checkInt('idleTimeoutMs', o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 1000, 3_600_000);
  const sessionTimeoutMs = checkInt('sessionTimeoutMs', o.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS, 1000, 24 * 3_600_000);
  const eventWindow = checkInt('eventWindow', o.eventWindow ?? DEFAULT_SINK_EVENT_WINDOW, 100, MAX_EVENT_WINDOW);
  const logLevel = o.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) bad('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);

  let releaseTo: ReleaseTarget[] = [];
  if (o.releaseTo != null) {
    const parsed = parseReleaseTargets(o.releaseTo);
    if (typeof parsed === 'string') bad('releaseTo', `${parsed} (expected HOST[:PORT],…)`);
    releaseTo = parsed as ReleaseTarget[];
  }
  const corsOrigin = o.corsOrigin ?? null;
  // One header value: a crafted origin must not split the response.
  if (corsOrigin !== null && !/^[\x21-\x7e]{1,2048}$/.test(corsOrigin)) bad('corsOrigin', 'must be an origin such as https://app.example or *', corsOrigin);

  return Object.freeze({
    host, smtpPort, httpPort, token, tokenGenerated, rulesSource, rulesFile,
    maxMessages, maxBytes, maxMessageSize, tls, authRequired, users,
    maxClients, idleTimeoutMs, sessionTimeoutMs, name, eventWindow, logLevel,
    logger: o.logger ?? null,
    parseInWorker: o.parseInWorker ?? (o.analyze == null),
    random: o.random ?? Math.random,
    sleep: o.sleep ?? null,
    analyze: o.analyze ?? null,
    releaseTo: Object.freeze(releaseTo),
    corsOrigin,
  });
}

/** The options an embedding caller gets by default: loopback, free ports, silent. */
export const EMBEDDED_DEFAULTS: Readonly<Partial<SinkOptions>> = Object.freeze({
  host: DEFAULT_HOST,
  smtpPort: 0,
  httpPort: 0,
  logger: silentLogger,
});
