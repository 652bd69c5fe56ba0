/**
 * The sink's options, declared once. Each row names the option's flag, its
 * environment variable, its type, default and accepted range, and its help.
 * Everything else is generated from this table: the `kubectl email-validate
 * sink` flags (plugin/lib/sink-option-flags.ts), the in-cluster process's argv
 * parsing (argv.ts), the environment parsing and the range checks (config.ts),
 * and the options table in docs/sink.md (test/support/render-sink-options.ts).
 *
 * To add an option: add a row here, a field to SinkConfig and its line in
 * resolveSinkConfig; then run `node test/support/render-sink-options.ts`.
 */
import { formatDuration, readDuration } from '../src/duration.ts';
import { evError } from '../src/errors.ts';
import { LOG_LEVELS } from './logger.ts';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES } from './store.ts';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SMTP_PORT = 1025;
export const DEFAULT_HTTP_PORT = 8025;
/** SIZE advertised in EHLO: 25 MiB, what large providers accept; larger messages get 552 after their data is consumed. */
export const DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024;
/** Concurrent SMTP clients; enough for 200-client load tests with headroom, few enough to bound buffers. */
export const DEFAULT_MAX_CLIENTS = 1000;
/** Upper bound for --max-clients: each client holds sockets and parser buffers. */
export const MAX_MAX_CLIENTS = 100_000;
/** A client silent this long while we wait for a command is dropped (RFC 5321 suggests 5 min; tests want less). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Upper bound for --idle-timeout: a client silent for an hour is gone. */
export const MAX_IDLE_TIMEOUT_MS = 3_600_000;
/** A whole SMTP session may last this long, so a trickling client cannot hold a slot forever. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10 * 60_000;
/** Upper bound for --session-timeout: a day is longer than any real transaction. */
export const MAX_SESSION_TIMEOUT_MS = 24 * 3_600_000;
/** Lower bound of both timeouts: under a second no real client can answer. */
export const MIN_TIMEOUT_MS = 1000;
/** Upper bound for --max-messages: the summaries alone of more would not fit a small pod. */
export const MAX_MAX_MESSAGES = 10_000_000;
/** Lower bound for --max-bytes and the SIZE limit: smaller cannot hold a message with headers. */
export const MIN_BYTES = 1024;
/** Upper bound for --max-bytes (64 GiB). */
export const MAX_MAX_BYTES = 64 * 1024 ** 3;
/** Upper bound for the SIZE limit (1 GiB); mail systems rarely take more than 150 MB. */
export const MAX_MESSAGE_SIZE_LIMIT = 1024 ** 3;
/**
 * Events the sink keeps for WebSocket replay by default: about 10 s at 5,000
 * events/s, far more than a tunnel needs to come back, and (at about a
 * kilobyte each) the largest fixed share of the sink's memory after the store.
 */
export const DEFAULT_SINK_EVENT_WINDOW = 50_000;
/** Lower bound for the replay window: fewer could not cover one reconnect. */
export const MIN_EVENT_WINDOW = 100;
/** Upper bound for the replay window: ten million events would be gigabytes. */
export const MAX_EVENT_WINDOW = 2_000_000;

/** How an option's text (flag value or environment variable) is read. */
export type SinkOptionType =
  'string' | 'file' | 'port' | 'integer' | 'size' | 'duration' | 'boolean' | 'users' | 'choice';

export interface SinkOptionSpec {
  /** Long flag without the dashes; null for an option only the environment sets. */
  readonly flag: string | null;
  readonly env: string;
  readonly type: SinkOptionType;
  /** Default in the option's unit (bytes, milliseconds); absent when there is none. */
  readonly default?: string | number | boolean;
  /** What the docs and `--help` show when the default is computed (generated token, host name). */
  readonly defaultText?: string;
  /** Accepted range of a number (bytes, milliseconds, count). */
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** Placeholder shown after the flag in help and docs. */
  readonly valueName?: string;
  readonly help: string;
  readonly group?: 'API' | 'BEHAVIOUR' | 'LIMITS' | 'TLS' | 'SMTP AUTH' | 'SMTP' | 'COMPATIBILITY';
  /** Options that cannot be combined with this one (by option key). */
  readonly exclusive?: readonly string[];
  /** Options this one needs (by option key). */
  readonly dependsOn?: readonly string[];
}

export interface SinkUser {
  user: string;
  password: string;
}

/** The sink's options table (order = order in help and docs). */
export const SINK_OPTIONS = Object.freeze({
  host: {
    flag: 'host',
    env: 'EV_HOST',
    type: 'string',
    default: DEFAULT_HOST,
    valueName: 'ADDRESS',
    help: 'Address to listen on (:: for every interface, dual-stack, as in the cluster; falls back to 0.0.0.0 on a node without IPv6).',
  },
  smtpPort: {
    flag: 'smtp-port',
    env: 'EV_SMTP_PORT',
    type: 'port',
    default: DEFAULT_SMTP_PORT,
    min: 0,
    max: 65535,
    help: 'SMTP port; 0 picks a free one (printed).',
  },
  httpPort: {
    flag: 'http-port',
    env: 'EV_HTTP_PORT',
    type: 'port',
    default: DEFAULT_HTTP_PORT,
    min: 0,
    max: 65535,
    help: 'HTTP API port; 0 picks a free one (printed).',
  },
  token: {
    flag: 'token',
    env: 'EV_TOKEN',
    type: 'string',
    defaultText: 'generated',
    group: 'API',
    exclusive: ['tokenFile', 'noAuth'],
    help: 'Bearer token of the API, 16 or more printable characters (default: generated and printed).',
  },
  tokenFile: {
    flag: 'token-file',
    env: 'EV_TOKEN_FILE',
    type: 'file',
    group: 'API',
    exclusive: ['token', 'noAuth'],
    help: 'Read the API token from this file.',
  },
  noAuth: {
    flag: 'no-auth',
    env: 'EV_NO_AUTH',
    type: 'boolean',
    default: false,
    group: 'API',
    exclusive: ['token', 'tokenFile', 'releaseTo'],
    help: 'Serve the API without a token (anyone who can reach it reads the mail).',
  },
  rulesFile: {
    flag: 'rules',
    env: 'EV_RULES_FILE',
    type: 'file',
    group: 'BEHAVIOUR',
    help: 'YAML rules file simulating bounces, deferrals, delays and disconnects; replaceable at runtime with PUT /api/rules.',
  },
  maxMessages: {
    flag: 'max-messages',
    env: 'EV_MAX_MESSAGES',
    type: 'integer',
    default: DEFAULT_MAX_MESSAGES,
    min: 1,
    max: MAX_MAX_MESSAGES,
    group: 'LIMITS',
    help: 'Messages kept; the oldest are evicted first.',
  },
  maxBytes: {
    flag: 'max-bytes',
    env: 'EV_MAX_BYTES',
    type: 'size',
    default: DEFAULT_MAX_BYTES,
    min: MIN_BYTES,
    max: MAX_MAX_BYTES,
    group: 'LIMITS',
    help: 'Raw bytes kept, e.g. 128MiB; the oldest messages are evicted first (the default keeps to the memory budget).',
  },
  maxMessageSize: {
    flag: 'max-message-size',
    env: 'EV_MAX_MESSAGE_SIZE',
    type: 'size',
    default: DEFAULT_MAX_MESSAGE_SIZE,
    min: MIN_BYTES,
    max: MAX_MESSAGE_SIZE_LIMIT,
    group: 'LIMITS',
    help: 'SIZE advertised in EHLO (at most --max-bytes); larger messages get 552 5.3.4 after their data.',
  },
  maxClients: {
    flag: 'max-clients',
    env: 'EV_MAX_CLIENTS',
    type: 'integer',
    default: DEFAULT_MAX_CLIENTS,
    min: 1,
    max: MAX_MAX_CLIENTS,
    group: 'LIMITS',
    help: 'Concurrent SMTP sessions; more get 421.',
  },
  idleTimeoutMs: {
    flag: 'idle-timeout',
    env: 'EV_IDLE_TIMEOUT',
    type: 'duration',
    default: DEFAULT_IDLE_TIMEOUT_MS,
    min: MIN_TIMEOUT_MS,
    max: MAX_IDLE_TIMEOUT_MS,
    group: 'LIMITS',
    help: 'A client silent this long while the sink waits for a command is dropped.',
  },
  sessionTimeoutMs: {
    flag: 'session-timeout',
    env: 'EV_SESSION_TIMEOUT',
    type: 'duration',
    default: DEFAULT_SESSION_TIMEOUT_MS,
    min: MIN_TIMEOUT_MS,
    max: MAX_SESSION_TIMEOUT_MS,
    group: 'LIMITS',
    help: 'Deadline of a whole SMTP session, so a trickling client cannot hold a slot forever.',
  },
  eventWindow: {
    flag: 'event-window',
    env: 'EV_EVENT_WINDOW',
    type: 'integer',
    default: DEFAULT_SINK_EVENT_WINDOW,
    min: MIN_EVENT_WINDOW,
    max: MAX_EVENT_WINDOW,
    group: 'LIMITS',
    help: 'Events kept for WebSocket replay (?since=), about a kilobyte each: lower it to save memory, raise it for longer reconnect gaps.',
  },
  tlsCert: {
    flag: 'tls-cert',
    env: 'EV_TLS_CERT',
    type: 'file',
    group: 'TLS',
    dependsOn: ['tlsKey'],
    exclusive: ['tlsSelfSigned'],
    help: 'PEM certificate for STARTTLS (with --tls-key).',
  },
  tlsKey: {
    flag: 'tls-key',
    env: 'EV_TLS_KEY',
    type: 'file',
    group: 'TLS',
    dependsOn: ['tlsCert'],
    help: 'PEM private key for STARTTLS (with --tls-cert).',
  },
  tlsSelfSigned: {
    flag: 'tls-self-signed',
    env: 'EV_TLS_SELF_SIGNED',
    type: 'boolean',
    default: false,
    group: 'TLS',
    help: 'Offer STARTTLS with an EC certificate generated at start (clients must not verify it).',
  },
  authRequired: {
    flag: 'auth-required',
    env: 'EV_AUTH_REQUIRED',
    type: 'boolean',
    default: false,
    group: 'SMTP AUTH',
    help: 'Require AUTH PLAIN/LOGIN with a configured account (530 otherwise).',
  },
  users: {
    flag: 'auth-user',
    env: 'EV_AUTH_USERS',
    type: 'users',
    group: 'SMTP AUTH',
    help: 'SMTP accounts (repeatable flag; the variable takes u:p,u2:p2). Without --auth-required any credentials are accepted and the user name is recorded.',
  },
  usersFile: {
    flag: 'auth-users-file',
    env: 'EV_AUTH_USERS_FILE',
    type: 'file',
    group: 'SMTP AUTH',
    help: 'File with one user:password per line (# starts a comment), added to --auth-user.',
  },
  name: {
    flag: 'name',
    env: 'EV_NAME',
    type: 'string',
    defaultText: 'host name',
    group: 'SMTP',
    help: 'Host name in the SMTP greeting and in generated DSNs.',
  },
  releaseTo: {
    flag: 'release-to',
    env: 'EV_RELEASE_TO',
    type: 'string',
    valueName: 'HOST[:PORT],…',
    group: 'COMPATIBILITY',
    exclusive: ['noAuth'],
    help: 'SMTP servers that MailHog/Mailpit "release" may relay captured messages to; without it releases are refused (403): the sink is never an open relay. Needs the API token (not with --no-auth).',
  },
  corsOrigin: {
    flag: 'cors-origin',
    env: 'EV_CORS_ORIGIN',
    type: 'string',
    valueName: 'ORIGIN',
    group: 'COMPATIBILITY',
    help: "Access-Control-Allow-Origin for the MailHog/Mailpit-compatible routes, like MailHog's -cors-origin.",
  },
  linkCheckPrivate: {
    flag: 'link-check-private',
    env: 'EV_LINK_CHECK_PRIVATE',
    type: 'boolean',
    default: false,
    group: 'API',
    help: 'Let "Check links" fetch loopback, link-local and private addresses (tests, local development); off, such links are refused so mail cannot make the sink probe its network.',
  },
  logLevel: {
    flag: 'log-level',
    env: 'EV_LOG_LEVEL',
    type: 'choice',
    choices: LOG_LEVELS,
    default: 'info',
    help: 'Level of the JSON logs on stdout.',
  },
  parseInWorker: {
    flag: null,
    env: 'EV_PARSE_IN_WORKER',
    type: 'boolean',
    default: true,
    help: 'Run the MIME parse and analysis in a low-priority worker thread (off: inline, for debugging).',
  },
} as const satisfies Record<string, SinkOptionSpec>);

export type SinkOptionKey = keyof typeof SINK_OPTIONS;

type ValueOf<S extends SinkOptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'port' | 'integer' | 'size' | 'duration'
    ? number
    : S['type'] extends 'users'
      ? SinkUser[]
      : S['type'] extends 'choice'
        ? S['choices'] extends readonly (infer C)[]
          ? C
          : never
        : S extends { default: string }
          ? string
          : string | null;

/** The value types of the table's options (numbers in bytes, milliseconds or counts). */
export type TableOptions = { [K in SinkOptionKey]: ValueOf<(typeof SINK_OPTIONS)[K]> };

/** Every row of the table with its key, in table order. */
export function optionRows(): Array<[SinkOptionKey, SinkOptionSpec]> {
  // Object.entries types its keys as string; these are exactly the table's keys.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-type-assertion
  return Object.entries(SINK_OPTIONS) as Array<[SinkOptionKey, SinkOptionSpec]>;
}

/** The spec of one option. */
export function optionSpec(key: SinkOptionKey): SinkOptionSpec {
  return SINK_OPTIONS[key];
}

/** `maxBytes (--max-bytes, EV_MAX_BYTES)`: how errors name an option. */
export function optionLabel(key: string): string {
  const spec = (SINK_OPTIONS as Record<string, SinkOptionSpec>)[key];
  if (spec === undefined) return key;
  const names = [spec.flag === null ? null : `--${spec.flag}`, spec.env].filter(
    (x): x is string => x !== null,
  );
  return `${key} (${names.join(', ')})`;
}

/** Throws EV_ERR_INVALID_OPTION naming the option, its flag and its variable. */
export function badOption(key: string, problem: string, got?: unknown): never {
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)}`;
  const spec = (SINK_OPTIONS as Record<string, SinkOptionSpec>)[key];
  throw evError('EV_ERR_INVALID_OPTION', `${optionLabel(key)} ${problem}${shown}`, {
    hint: 'See `kubectl email-validate sink --help` for the accepted values.',
    details: {
      option: key,
      flag: spec?.flag == null ? null : `--${spec.flag}`,
      env: spec?.env ?? null,
    },
  });
}

/** "1024", "25MiB", "256 MB", "1g" -> bytes; null when not a size. */
export function parseByteSize(raw: string | number): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$/i.exec(raw);
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : null;
}

/** Bytes -> the shortest exact `256MiB`, `1GiB`, `1500` form (what parseByteSize reads back). */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** `user:password` pairs separated by commas or newlines (a users file has one per line). */
export function parseUsers(key: string, raw: string): SinkUser[] {
  return raw
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'))
    .map((pair) => {
      const colon = pair.indexOf(':');
      if (colon <= 0) badOption(key, 'must list user:password pairs');
      return { user: pair.slice(0, colon), password: pair.slice(colon + 1) };
    });
}

function parseBool(key: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off|)$/i.test(raw)) return false;
  return badOption(key, 'must be true or false', raw);
}

/**
 * Reads one option's text (a flag value or an environment variable) into its
 * value. Ranges are checked later, once, by resolveSinkConfig.
 */
export function parseOptionText(key: SinkOptionKey, raw: string): TableOptions[SinkOptionKey] {
  const spec: SinkOptionSpec = SINK_OPTIONS[key];
  switch (spec.type) {
    case 'string':
    case 'file':
      return raw;
    case 'port':
    case 'integer':
      if (!/^\s*\d+\s*$/.test(raw)) badOption(key, 'must be a whole number', raw);
      return Number(raw);
    case 'size':
      return parseByteSize(raw) ?? badOption(key, 'must be a size such as 256MiB', raw);
    case 'duration':
      return (
        readDuration(raw) ??
        badOption(
          key,
          'must be a duration such as 30s, 5m or 1h30m (a bare number is seconds)',
          raw,
        )
      );
    case 'boolean':
      return parseBool(key, raw);
    case 'users':
      return parseUsers(key, raw);
    case 'choice':
      if (!spec.choices!.includes(raw))
        badOption(key, `must be one of ${spec.choices!.join(', ')}`, raw);
      return raw;
  }
}

/** Raw values as a flag parser returns them: text, true for a given boolean flag, a list for a repeatable one. */
export type RawFlagValues = Readonly<
  Record<string, string | boolean | readonly (string | boolean)[] | undefined>
>;

/** Flag values (keyed by flag name, from node's parseArgs or oclif) -> options (only those given). */
export function optionsFromFlagValues(values: RawFlagValues): Partial<TableOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of optionRows()) {
    if (spec.flag === null) continue;
    const v = values[spec.flag];
    if (v === undefined || v === false) continue;
    if (spec.type === 'boolean') out[key] = true;
    else if (spec.type === 'users')
      out[key] = (Array.isArray(v) ? v : [v]).flatMap((u) => parseUsers(key, String(u)));
    else out[key] = parseOptionText(key, String(v));
  }
  return out;
}

/** Reads the EV_* environment variables into options (only those set and not empty). */
export function optionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Partial<TableOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of optionRows()) {
    const v = env[spec.env];
    if (v !== undefined && v !== '') out[key] = parseOptionText(key, v);
  }
  return out;
}

const VALUE_NAMES: Readonly<Record<SinkOptionType, string>> = Object.freeze({
  string: 'TEXT',
  file: 'FILE',
  port: 'PORT',
  integer: 'N',
  size: 'SIZE',
  duration: 'DURATION',
  boolean: '',
  users: 'USER:PASSWORD',
  choice: 'LEVEL',
});

/** The placeholder after the flag in help and docs (`FILE`, `SIZE`, `DURATION`). */
export function valueName(spec: SinkOptionSpec): string {
  return spec.valueName ?? VALUE_NAMES[spec.type];
}

/** The default as docs and help show it (`256MiB`, `60s`, `off`), or null when there is none. */
export function defaultText(spec: SinkOptionSpec): string | null {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return null;
  if (spec.type === 'boolean') return spec.default ? 'on' : 'off';
  if (spec.type === 'size') return formatByteSize(Number(spec.default));
  if (spec.type === 'duration') return formatDuration(Number(spec.default));
  return String(spec.default);
}

/** The accepted range as docs show it (`1`–`10000000`, `1KiB`–`1GiB`), or null. */
export function rangeText(spec: SinkOptionSpec): string | null {
  if (spec.choices) return spec.choices.join(', ');
  if (spec.min === undefined || spec.max === undefined) return null;
  const show =
    spec.type === 'size' ? formatByteSize : spec.type === 'duration' ? formatDuration : String;
  return `${show(spec.min)}–${show(spec.max)}`;
}
