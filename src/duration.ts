/**
 * Durations, one grammar for every flag, environment variable, rules file and
 * flow file: one or more `<number><unit>` parts with the units `ms`, `s`, `m`,
 * `h` and `d` (`500ms`, `90s`, `1m30s`, `1.5s`, `2h`, `1d`), no spaces inside.
 * A bare number is seconds (`30` = `30s`), as the flow schema has always said
 * and as kubectl reads `--request-timeout`; a YAML number is read the same way.
 */
import { evError } from './errors.ts';

/** Milliseconds per unit. */
export const DURATION_UNITS_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
});

/** Longest text read as a duration: `1d23h59m59s999ms` is 16; bounds the work spent on input from outside. */
export const MAX_DURATION_TEXT = 32;

/** How every error about a duration says what to write. */
export const DURATION_HINT =
  'write a number with a unit: 500ms, 90s, 1m30s, 2h or 1d (a bare number is seconds)';

const BARE_NUMBER = /^\d+(?:\.\d+)?$/;
/** One part; sticky, so the parts must follow each other with nothing between. Linear: no nested quantifiers. */
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Reads a duration (text, or a number of seconds) into whole milliseconds;
 * null when it is not one (negative, empty, unknown unit, too long, not finite).
 */
export function readDuration(value: unknown): number | null {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? checked(value * 1000) : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '' || text.length > MAX_DURATION_TEXT) return null;
  if (BARE_NUMBER.test(text)) return checked(Number(text) * 1000);
  let total = 0;
  let end = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]];
    end = PART.lastIndex;
  }
  return end === text.length ? checked(total) : null;
}

function checked(ms: number): number | null {
  const rounded = Math.round(ms);
  return Number.isSafeInteger(rounded) ? rounded : null;
}

/** Bounds a caller puts on a duration, in milliseconds. */
export interface DurationLimits {
  min?: number;
  max?: number;
}

/**
 * Reads a duration given as `option` (a flag, a variable, a field), or throws
 * EV_ERR_INVALID_OPTION naming it, with the accepted range when one is given.
 */
export function parseDuration(
  value: unknown,
  option = 'duration',
  limits: DurationLimits = {},
): number {
  const ms = readDuration(value);
  if (ms === null) {
    throw evError('EV_ERR_INVALID_OPTION', `${option} ${JSON.stringify(value)} is not a duration`, {
      hint: DURATION_HINT,
    });
  }
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = limits;
  if (ms < min || ms > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `at least ${formatDuration(min)}`
        : `from ${formatDuration(min)} to ${formatDuration(max)}`;
    throw evError('EV_ERR_INVALID_OPTION', `${option} ${JSON.stringify(value)} is out of range`, {
      hint: `use ${range}.`,
    });
  }
  return ms;
}

const PARTS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/**
 * A short human duration that {@link readDuration} reads back (never to more
 * than the input): `850ms`, `12.3s`, `45s`, `4m05s`, `1h30m`, `2h`, `3d04h`.
 * Above a minute it keeps the two largest units and drops the rest. NaN is
 * `0ms`; Infinity is capped at Number.MAX_SAFE_INTEGER ms.
 */
export function formatDuration(ms: number): string {
  // NaN reads as 0 (like a negative), Infinity as the largest exact count: never a throw.
  const whole = Number.isNaN(ms)
    ? 0
    : Math.max(0, Math.floor(Math.min(ms, Number.MAX_SAFE_INTEGER)));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${Math.floor(whole / 100) / 10}s`;
  const i = PARTS.findIndex(([, size]) => whole >= size);
  const [unit, size] = PARTS[i];
  const [nextUnit, nextSize] = PARTS[i + 1];
  const major = Math.floor(whole / size);
  const minor = Math.floor((whole % size) / nextSize);
  return minor === 0
    ? `${major}${unit}`
    : `${major}${unit}${String(minor).padStart(2, '0')}${nextUnit}`;
}
