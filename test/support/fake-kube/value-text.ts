/**
 * A JSON value as text in a message or a derived field: a scalar as Go's `%v`
 * prints it, a list or a map as JSON (never `[object Object]`).
 */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined) return 'undefined';
  return JSON.stringify(v);
}
