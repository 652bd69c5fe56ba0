/**
 * The `--provider FILE` configuration: an HTTP verification API described
 * by a URL template, headers, where the verdict sits in the JSON answer and
 * how its values map to ours. Validated once, then frozen.
 *
 * ```yaml
 * url: https://api.example.com/v1/verify?email={address}
 * method: GET                  # or POST with `body` (a template)
 * headers: { Authorization: "Bearer ${env:VERIFY_TOKEN}" }
 * verdictPath: result.status   # dots and [n] indexes
 * map: { deliverable: valid, undeliverable: invalid, risky: risky, unknown: unknown }
 * concurrency: 4
 * rate: 10/s
 * timeoutMs: 10000
 * ```
 */

import { evError } from '../errors.ts';
import type { ProviderStatus } from './result.ts';

/** Provider connections kept open at most: a verification API is one origin and needs few. */
export const MAX_PROVIDER_CONCURRENCY = 64;
/** Longest response body read from the provider, in bytes: verdict payloads are small. */
export const MAX_PROVIDER_BODY_BYTES = 256 * 1024;

export interface ProviderConfig {
  url: string;
  method: 'GET' | 'POST';
  headers: Readonly<Record<string, string>>;
  body?: string;
  verdictPath: ReadonlyArray<string | number>;
  map: Readonly<Record<string, Exclude<ProviderStatus, 'unavailable'>>>;
  concurrency: number;
  rate: { perSecond: number; burst: number } | null;
  timeoutMs: number;
  /** Attempts per address on 429/5xx/network errors, including the first. */
  attempts: number;
  /** Consecutive failures that open the circuit breaker, and how long it stays open. */
  breakerThreshold: number;
  breakerCooldownMs: number;
}

/** `${env:NAME}` in a url or header value (no nested quantifiers: linear on any input). */
const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The environment variables a parsed config refers to with `${env:NAME}`
 * (in any string, keys included), sorted: exactly what a config read
 * elsewhere (the shards of `check --in-cluster`) needs besides the file.
 */
export function providerEnvNames(raw: unknown): string[] {
  const names = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(ENV_REFERENCE)) names.add(m[1]);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        visit(k);
        visit(x);
      }
  };
  visit(raw);
  return [...names].sort();
}

const VERDICTS = new Set(['valid', 'invalid', 'risky', 'unknown']);
/** Headers in one provider config: an API needs a token and a few more. */
export const MAX_PROVIDER_HEADERS = 32;
/** Framing and connection headers: set by the HTTP client, and a wrong value breaks every request. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
]);

/** An RFC 9110 token (header field name). */
function isHeaderName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      "!#$%&'*+-.^_`|~".includes(s[i]);
    if (!ok) return false;
  }
  return true;
}

/** What is wrong in a header value (RFC 9110 field-value: visible characters, SP and HTAB), or null. */
function headerValueFault(v: string): string | null {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13) return 'a carriage return (CR)';
    if (c === 10) return 'a line feed (LF)';
    if ((c < 32 && c !== 9) || c === 127)
      return `a control character (0x${c.toString(16).padStart(2, '0')})`;
    if (c > 255) return 'a character outside Latin-1 (HTTP headers are bytes)';
  }
  return null;
}

/** A name safe to quote in an error: control characters shown as escapes. */
function printable(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s).slice(1, -1);
}

/**
 * Sets an own property, whatever its name: a plain assignment of `__proto__` would set the
 * object's prototype instead and silently lose a header or a map entry.
 */
function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function bad(message: string, file: string): never {
  throw evError('EV_ERR_PROVIDER_CONFIG', `${file}: ${message}`, {
    hint: 'see "Provider" in docs/checks.md for the expected keys',
  });
}

/** Parses `10/s`, `600/m`, or a bare number per second. Returns null for junk. */
export function parseRate(v: unknown): number | null {
  if (typeof v === 'number') return v > 0 && Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute|h|hour))?\s*$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const per = unit.startsWith('h') ? n / 3600 : unit.startsWith('m') ? n / 60 : n;
  return per > 0 ? per : null;
}

/** Splits `a.b[2].c` into path segments. */
export function parseJsonPath(path: string): Array<string | number> | null {
  const out: Array<string | number> = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return null;
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
    if (!m[1] && !m[2]) return null;
  }
  return out.length > 0 ? out : null;
}

/** Looks up a parsed path in a JSON value. */
export function getPath(value: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/**
 * Validates a parsed YAML/JSON object. `env` resolves `${env:NAME}` in headers
 * and the URL (so tokens stay out of the file); a missing variable is an error.
 */
export function parseProviderConfig(
  raw: unknown,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): ProviderConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    bad('must be a mapping with at least `url` and `verdictPath`', file);
  const o = raw as Record<string, unknown>;
  const known = new Set([
    'url',
    'method',
    'headers',
    'body',
    'verdictPath',
    'map',
    'concurrency',
    'rate',
    'timeoutMs',
    'attempts',
    'breakerThreshold',
    'breakerCooldownMs',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(`unknown key "${k}"`, file);
  const subst = (s: string, where: string): string =>
    s.replace(ENV_REFERENCE, (_, name: string) => {
      // Own variables only: `${env:constructor}` must not resolve to Object.prototype's.
      const v = Object.hasOwn(env, name) ? env[name] : undefined;
      if (v === undefined) bad(`${where} uses \${env:${name}} but ${name} is not set`, file);
      return v;
    });
  if (typeof o.url !== 'string' || (!o.url.includes('{address}') && o.body === undefined))
    bad('`url` must be a string containing {address} (or give a `body` template)', file);
  const url = subst(o.url, 'url');
  // new URL() silently drops tabs and newlines; the template is used as written, so refuse them here.
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c < 33 || c === 127)
      bad(
        `\`url\` has ${c === 32 ? 'a space' : `a control character (0x${c.toString(16).padStart(2, '0')})`} at position ${i + 1}; encode it (%20) or remove it`,
        file,
      );
  }
  let parsed: URL;
  try {
    parsed = new URL(url.replace('{address}', 'x'));
  } catch {
    bad(`\`url\` is not a valid URL: ${url}`, file);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    bad('`url` must be http or https', file);
  const method = o.method === undefined ? (o.body === undefined ? 'GET' : 'POST') : o.method;
  if (method !== 'GET' && method !== 'POST') bad('`method` must be GET or POST', file);
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    if (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers))
      bad('`headers` must be a mapping of strings', file);
    const entries = Object.entries(o.headers as Record<string, unknown>);
    if (entries.length > MAX_PROVIDER_HEADERS)
      bad(
        `\`headers\` has ${entries.length} entries; at most ${MAX_PROVIDER_HEADERS} are allowed`,
        file,
      );
    for (const [k, v] of entries) {
      if (typeof v !== 'string' && typeof v !== 'number')
        bad(`header "${printable(k)}" must be a string`, file);
      if (!isHeaderName(k))
        bad(
          `header name "${printable(k)}" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`,
          file,
        );
      const lower = k.toLowerCase();
      if (RESERVED_HEADERS.has(lower))
        bad(`header "${k}" is set by the HTTP client itself and cannot be configured`, file);
      const value = subst(String(v), `header "${k}"`);
      // Checked after ${env:…} substitution: a token read from the
      // environment with a stray newline is caught here, not by thousands of
      // failed requests later.
      const badAt = headerValueFault(value);
      if (badAt !== null)
        bad(
          `header "${k}" has ${badAt} in its value${String(v).includes('${env:') ? ' (after ${env:…} substitution)' : ''}; a header value is one line of visible characters`,
          file,
        );
      setOwn(headers, lower, value);
    }
  }
  if (o.body !== undefined && typeof o.body !== 'string')
    bad('`body` must be a string template (e.g. \'{"email": "{address}"}\')', file);
  if (typeof o.verdictPath !== 'string')
    bad('`verdictPath` must be a string such as result.status', file);
  const verdictPath = parseJsonPath(o.verdictPath);
  if (!verdictPath)
    bad(
      `\`verdictPath\` "${String(o.verdictPath)}" is not a path like result.status or items[0].verdict`,
      file,
    );
  const map: Record<string, Exclude<ProviderStatus, 'unavailable'>> = {};
  if (o.map !== undefined) {
    if (o.map === null || typeof o.map !== 'object' || Array.isArray(o.map))
      bad('`map` must be a mapping from provider values to valid|invalid|risky|unknown', file);
    for (const [k, v] of Object.entries(o.map as Record<string, unknown>)) {
      if (typeof v !== 'string' || !VERDICTS.has(v))
        bad(`map value for "${k}" must be valid, invalid, risky or unknown`, file);
      setOwn(map, k, v as Exclude<ProviderStatus, 'unavailable'>);
    }
  }
  const int = (k: string, def: number, min: number, max: number): number => {
    const v = o[k] ?? def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      bad(`\`${k}\` must be an integer from ${min} to ${max}`, file);
    return v;
  };
  let rate: ProviderConfig['rate'] = null;
  if (o.rate !== undefined) {
    const r = parseRate(o.rate);
    if (r === null) bad('`rate` must look like 10/s or 600/m', file);
    rate = { perSecond: r, burst: Math.max(1, Math.ceil(r / 10)) };
  }
  const cfg: ProviderConfig = {
    url,
    method,
    headers: Object.freeze(headers),
    verdictPath: Object.freeze(verdictPath),
    map: Object.freeze(map),
    concurrency: int('concurrency', 4, 1, MAX_PROVIDER_CONCURRENCY),
    rate,
    timeoutMs: int('timeoutMs', 10_000, 100, 120_000),
    attempts: int('attempts', 4, 1, 10),
    breakerThreshold: int('breakerThreshold', 5, 1, 1000),
    breakerCooldownMs: int('breakerCooldownMs', 30_000, 100, 3_600_000),
  };
  if (typeof o.body === 'string') cfg.body = o.body;
  return Object.freeze(cfg);
}

/** Substitutes {address} (URL-encoded in the URL, JSON-escaped in a body). */
export function renderUrl(cfg: ProviderConfig, address: string): string {
  return cfg.url.split('{address}').join(encodeURIComponent(address));
}

export function renderBody(cfg: ProviderConfig, address: string): string | undefined {
  if (cfg.body === undefined) return undefined;
  return cfg.body.split('{address}').join(JSON.stringify(address).slice(1, -1));
}
