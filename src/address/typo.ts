/** Longest strings compared; domains are at most 253 characters. */
export const MAX_TYPO_INPUT = 256;

const rowA = new Int32Array(MAX_TYPO_INPUT + 1);
const rowB = new Int32Array(MAX_TYPO_INPUT + 1);
const rowC = new Int32Array(MAX_TYPO_INPUT + 1);

/**
 * Damerau-Levenshtein distance (optimal string alignment: insertions,
 * deletions, substitutions and adjacent transpositions), stopping early once
 * every cell of a row exceeds `max`. Returns a value > max in that case.
 * Uses three preallocated rows, so it allocates nothing.
 */
export function damerauLevenshtein(a: string, b: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = a.length;
  const m = b.length;
  if (n > MAX_TYPO_INPUT || m > MAX_TYPO_INPUT) return max + 1;
  if (Math.abs(n - m) > max) return max + 1;
  let prev2 = rowA; // row i-2
  let prev = rowB; // row i-1
  let cur = rowC;
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const cb = b.charCodeAt(j - 1);
      const cost = ca === cb ? 0 : 1;
      let v = prev[j - 1] + cost;
      const del = prev[j] + 1;
      if (del < v) v = del;
      const ins = cur[j - 1] + 1;
      if (ins < v) v = ins;
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        const t = prev2[j - 2] + 1;
        if (t < v) v = t;
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    const tmp = prev2;
    prev2 = prev;
    prev = cur;
    cur = tmp;
  }
  return prev[m];
}
