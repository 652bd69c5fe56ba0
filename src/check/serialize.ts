/**
 * One result as one JSON line, without JSON.stringify on the hot path: the
 * fixed parts are concatenated, strings that need no escaping are quoted
 * directly, and the syntax details (a handful of shared objects) are
 * serialised once. Output is byte-for-byte what JSON.stringify would produce
 * for the same object (a unit test checks it).
 */

import type { CheckResult, ListDetails, SyntaxDetails } from './result.ts';

/** JSON string literal; fast path for printable ASCII without quotes or backslashes. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

const syntaxCache = new Map<SyntaxDetails, string>();
/** Distinct syntax-detail objects remembered (they are shared per diagnosis, so few). */
const MAX_SYNTAX_CACHE = 4096;

function syntaxJson(s: SyntaxDetails): string {
  let j = syntaxCache.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (Object.isFrozen(s) && syntaxCache.size < MAX_SYNTAX_CACHE) syntaxCache.set(s, j);
  }
  return j;
}

function listsJson(l: ListDetails): string {
  return `{"disposable":${l.disposable},"role":${l.role},"free":${l.free},"suggestion":${l.suggestion === null ? 'null' : jsonString(l.suggestion)}}`;
}

/** The JSON line of a result, with the trailing newline. */
export function resultToJsonLine(r: CheckResult): string {
  const c = r.checks;
  const address = jsonString(r.address);
  let s = `{"address":${address},"normalized":${r.normalized === r.address ? address : jsonString(r.normalized)},"verdict":"${r.verdict}","reasons":${r.reasons.length === 0 ? '[]' : `["${r.reasons.join('","')}"]`},"index":${r.index},"checks":{"syntax":${syntaxJson(c.syntax)}`;
  if (c.lists !== undefined) s += `,"lists":${listsJson(c.lists)}`;
  if (c.dns !== undefined) s += `,"dns":${JSON.stringify(c.dns)}`;
  if (c.smtp !== undefined) s += `,"smtp":${JSON.stringify(c.smtp)}`;
  if (c.provider !== undefined) s += `,"provider":${JSON.stringify(c.provider)}`;
  return `${s}}}\n`;
}
