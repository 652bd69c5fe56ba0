/**
 * Plain text tables that fit the terminal: a header row, columns padded to
 * the widest cell, two spaces between columns, the last column unpadded.
 *
 * When the table is wider than the terminal, free-text columns (subjects,
 * addresses) are cut with `…`, the widest first, down to their minimum; if
 * that is not enough, optional columns are left out, lowest priority first.
 * Columns a user copies from (ids, namespaces) are never cut. `wide` prints
 * every column and every cell whole, as `kubectl get -o wide` does.
 */

/** Longest cell in a table that is not `wide`: one subject must not push every other column off screen. */
export const MAX_CELL = 60;

/** Narrowest a cut column gets unless its own `min` says otherwise: `…` plus a few characters still hint at the value. */
export const DEFAULT_MIN_CUT_WIDTH = 8;

const GAP = '  ';

export interface TableColumn {
  header: string;
  /** Free text that may be cut with `…` to fit (subjects, addresses). */
  truncate?: boolean;
  /** Narrowest width when cut (default DEFAULT_MIN_CUT_WIDTH). */
  min?: number;
  /** Left out when the table does not fit even with the cut columns at their minimum; lower numbers go first. `-o wide` shows it. */
  dropOrder?: number;
}

export interface TableOptions {
  /** Terminal width to fit; null or undefined: no limit (cells still capped at MAX_CELL). */
  width?: number | null;
  /** Every column, every cell whole. */
  wide?: boolean;
}

/** Characters (code points), so that a cut never splits a surrogate pair. */
function chars(s: string): string[] {
  return Array.from(s);
}

function cut(s: string, width: number): string {
  const c = chars(s);
  return c.length > width ? `${c.slice(0, Math.max(0, width - 1)).join('')}…` : s;
}

/** Widths fitted to `limit` by cutting the truncatable columns (widest first); whether they fit. */
function fitWidths(
  cols: readonly TableColumn[],
  natural: readonly number[],
  limit: number,
): { widths: number[]; fits: boolean } {
  const widths = [...natural];
  const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  let excess = total() - limit;
  while (excess > 0) {
    let pick = -1;
    for (let i = 0; i < cols.length; i++) {
      const min = Math.max(chars(cols[i].header).length, cols[i].min ?? DEFAULT_MIN_CUT_WIDTH);
      if (cols[i].truncate && widths[i] > min && (pick < 0 || widths[i] > widths[pick])) pick = i;
    }
    if (pick < 0) break;
    widths[pick]--;
    excess--;
  }
  return { widths, fits: excess <= 0 };
}

export function renderTable(
  columns: ReadonlyArray<string | TableColumn>,
  rows: ReadonlyArray<readonly string[]>,
  options: TableOptions = {},
): string {
  const all: TableColumn[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const capped = options.wide
    ? rows
    : rows.map((r) =>
        r.map((cell) => (chars(cell).length > MAX_CELL ? cut(cell, MAX_CELL) : cell)),
      );
  const naturalOf = (i: number): number =>
    Math.max(chars(all[i].header).length, ...capped.map((r) => chars(r[i] ?? '').length));

  let shown = all.map((_, i) => i);
  let widths = shown.map(naturalOf);
  const limit = options.wide ? null : (options.width ?? null);
  if (limit !== null) {
    const droppable = shown
      .filter((i) => all[i].dropOrder !== undefined)
      .sort((a, b) => (all[a].dropOrder ?? 0) - (all[b].dropOrder ?? 0));
    for (;;) {
      const fit = fitWidths(
        shown.map((i) => all[i]),
        shown.map(naturalOf),
        limit,
      );
      widths = fit.widths;
      const next = droppable.shift();
      if (fit.fits || next === undefined) break;
      shown = shown.filter((i) => i !== next);
    }
  }

  const line = (cells: readonly string[]): string =>
    shown
      .map((col, k) => {
        const text = cut(cells[col] ?? '', widths[k]);
        return k === shown.length - 1
          ? text
          : text.padEnd(widths[k] + text.length - chars(text).length);
      })
      .join(GAP)
      .trimEnd();
  return [line(all.map((c) => c.header)), ...capped.map(line)].join('\n');
}

/**
 * The width tables fit: `$COLUMNS` when set (a user's override, as in most
 * tools), else the terminal's, else null (a pipe: no limit).
 */
export function tableWidth(
  stream: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>>,
): number | null {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  return null;
}

/**
 * The shortest prefix of each id (at least `min` characters) that no other
 * id in `ids` shares, compared ignoring case as `messages get` does.
 */
export function uniquePrefixes(ids: readonly string[], min: number): Map<string, string> {
  const sorted = [...new Set(ids)].sort((a, b) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const common = (a: string | undefined, b: string): number => {
    if (a === undefined) return 0;
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    let n = 0;
    while (n < x.length && n < y.length && x[n] === y[n]) n++;
    return n;
  };
  const out = new Map<string, string>();
  sorted.forEach((id, i) => {
    const need = Math.max(common(sorted[i - 1], id), common(sorted[i + 1], id)) + 1;
    out.set(id, id.slice(0, Math.min(id.length, Math.max(min, need))));
  });
  return out;
}
