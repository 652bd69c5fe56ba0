/** The longest step deadline a flow may ask for: a smoke test waiting longer is stuck. */
export const MAX_STEP_TIMEOUT_MS = 60 * 60 * 1000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/**
 * `"500ms"`, `"10s"`, `"2m"`, `"1h"`, or a number of seconds. Returns
 * milliseconds, or a message saying what is wrong.
 */
export function parseDuration(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return 'must be a positive duration such as 10s';
    return Math.round(value * 1000);
  }
  if (typeof value !== 'string') return 'must be a duration such as 500ms, 10s or 2m';
  const m = DURATION.exec(value.trim());
  if (!m) return `"${value}" is not a duration; write e.g. 500ms, 10s, 2m or 1h`;
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
