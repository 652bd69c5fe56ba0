/**
 * Names, labels, annotations and durations shared by everything that creates,
 * finds or garbage-collects sinks in a cluster. Pure: clocks and randomness are
 * passed in.
 */
import { evError } from './errors.ts';

/** Field manager for server-side apply, and the `managed-by` label value. */
export const FIELD_MANAGER = 'kubectl-email-validate';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** Selector that finds every object (and namespace) this tool created. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${FIELD_MANAGER}`;
/** The sink's name: Deployment, Service, and the value of the name label on its pods. */
export const SINK_NAME = 'email-sink';
/** Selector that finds sink pods. */
export const SINK_POD_SELECTOR = `${NAME_LABEL}=${SINK_NAME},${MANAGED_SELECTOR}`;
export const TOKEN_SECRET_NAME = 'email-sink-token';
export const TOKEN_SECRET_KEY = 'token';

export const ANNOTATION_PREFIX = 'email-validate.dev';
export const CREATED_AT_ANNOTATION = `${ANNOTATION_PREFIX}/created-at`;
export const TTL_ANNOTATION = `${ANNOTATION_PREFIX}/ttl`;
export const EXPIRES_AT_ANNOTATION = `${ANNOTATION_PREFIX}/expires-at`;

export const NAMESPACE_PREFIX = 'email-validation-';
/** Default lifetime recorded on created sinks; `gc` removes them after it. */
export const DEFAULT_TTL = '2h';
/** A sink is a test fixture: a week is the longest lifetime that still reads as "ephemeral". */
export const MAX_TTL_MS = 7 * 24 * 3600_000;

/** The labels every object we create carries. */
export function managedLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [MANAGED_BY_LABEL]: FIELD_MANAGER, ...extra };
}

/** Creation time and TTL annotations (the expiry is precomputed so `kubectl get -o yaml` shows it). */
export function lifetimeAnnotations(now: Date, ttlMs: number): Record<string, string> {
  return {
    [CREATED_AT_ANNOTATION]: now.toISOString(),
    [TTL_ANNOTATION]: formatDuration(ttlMs),
    [EXPIRES_AT_ANNOTATION]: new Date(now.getTime() + ttlMs).toISOString(),
  };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `email-validation-<yyyymmdd-hhmmss>-<5 random chars>`: sortable by creation
 * time, unique enough for concurrent CI jobs, and a valid DNS label (<= 63).
 */
export function generateNamespaceName(now: Date, random: () => number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += ALPHABET[Math.floor(random() * ALPHABET.length) % ALPHABET.length];
  return `${NAMESPACE_PREFIX}${time}-${suffix}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True for a valid Kubernetes namespace name (RFC 1123 label). */
export function isValidNamespaceName(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/**
 * Parses `90s`, `2m`, `1h30m`, `2h`, `1d`, `500ms` (a bare number means seconds,
 * like kubectl's `--request-timeout`). Throws EV_ERR_INVALID_OPTION naming `option`.
 */
export function parseDuration(text: string, option = 'duration'): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) {
    throw evError('EV_ERR_INVALID_OPTION', `${option} "${text}" is not a duration`, { hint: 'use a number with a unit, e.g. 30s, 2m, 1h30m, 2h.' });
  }
  return Math.round(total);
}

/** Parses and bounds `--ttl`. */
export function parseTtl(text: string): number {
  const ms = parseDuration(text, '--ttl');
  if (ms < 60_000 || ms > MAX_TTL_MS) {
    throw evError('EV_ERR_INVALID_OPTION', `--ttl ${text} is out of range`, { hint: 'use between 1m and 7d (the default is 2h).' });
  }
  return ms;
}

/** `1h30m`, `2h`, `45s`, `3d4h`: compact, and parseable by {@link parseDuration}. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean) as string[];
  return parts.slice(0, 2).join('');
}

export interface Lifetime {
  createdAt: Date | null;
  expiresAt: Date | null;
  ttlMs: number | null;
}

/** Reads the lifetime annotations back (tolerant: a hand-edited object may lack some). */
export function readLifetime(annotations: Record<string, string> | undefined, fallbackCreated?: Date): Lifetime {
  const a = annotations ?? {};
  const created = dateOrNull(a[CREATED_AT_ANNOTATION]) ?? fallbackCreated ?? null;
  let ttlMs: number | null = null;
  try { if (a[TTL_ANNOTATION]) ttlMs = parseDuration(a[TTL_ANNOTATION]); } catch { ttlMs = null; }
  const expires = dateOrNull(a[EXPIRES_AT_ANNOTATION]) ?? (created && ttlMs !== null ? new Date(created.getTime() + ttlMs) : null);
  return { createdAt: created, expiresAt: expires, ttlMs };
}

/** True when the object's recorded TTL has passed. Objects without a TTL never expire. */
export function isExpired(annotations: Record<string, string> | undefined, now: Date, fallbackCreated?: Date): boolean {
  const { expiresAt } = readLifetime(annotations, fallbackCreated);
  return expiresAt !== null && expiresAt.getTime() <= now.getTime();
}

function dateOrNull(text: string | undefined): Date | null {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}
