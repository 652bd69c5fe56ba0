/**
 * Names, labels, annotations and durations shared by everything that creates,
 * finds or garbage-collects sinks in a cluster. Pure: clocks and randomness are
 * passed in.
 */
import { formatDuration, parseDuration } from './duration.ts';

// The kube and check-cluster modules import these from here; they live in duration.ts (one grammar for every duration).
export { formatDuration, parseDuration } from './duration.ts';

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
/** Selector that finds every object of a sink (pods, ConfigMaps...), and no check run's in the same namespace. */
export const SINK_OBJECTS_SELECTOR = SINK_POD_SELECTOR;
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
  for (let i = 0; i < 5; i++)
    suffix += ALPHABET[Math.floor(random() * ALPHABET.length) % ALPHABET.length];
  return `${NAMESPACE_PREFIX}${time}-${suffix}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True for a valid Kubernetes namespace name (RFC 1123 label). */
export function isValidNamespaceName(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}

/** Parses and bounds `--ttl`. */
export function parseTtl(text: string): number {
  return parseDuration(text, '--ttl', { min: 60_000, max: MAX_TTL_MS });
}

export interface Lifetime {
  createdAt: Date | null;
  expiresAt: Date | null;
  ttlMs: number | null;
}

/** Reads the lifetime annotations back (tolerant: a hand-edited object may lack some). */
export function readLifetime(
  annotations: Record<string, string> | undefined,
  fallbackCreated?: Date,
): Lifetime {
  const a = annotations ?? {};
  const created = dateOrNull(a[CREATED_AT_ANNOTATION]) ?? fallbackCreated ?? null;
  let ttlMs: number | null = null;
  try {
    if (a[TTL_ANNOTATION]) ttlMs = parseDuration(a[TTL_ANNOTATION]);
  } catch {
    ttlMs = null;
  }
  const expires =
    dateOrNull(a[EXPIRES_AT_ANNOTATION]) ??
    (created && ttlMs !== null ? new Date(created.getTime() + ttlMs) : null);
  return { createdAt: created, expiresAt: expires, ttlMs };
}

/** True when the object's recorded TTL has passed. Objects without a TTL never expire. */
export function isExpired(
  annotations: Record<string, string> | undefined,
  now: Date,
  fallbackCreated?: Date,
): boolean {
  const { expiresAt } = readLifetime(annotations, fallbackCreated);
  return expiresAt !== null && expiresAt.getTime() <= now.getTime();
}

function dateOrNull(text: string | undefined): Date | null {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}
