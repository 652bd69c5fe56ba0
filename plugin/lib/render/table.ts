/**
 * A plain text table: header row, columns padded to the widest cell (each cell
 * capped), two spaces between columns, the last column left unpadded.
 */
export function renderTable(
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  maxCell = 60,
): string {
  const cut = (s: string): string => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const all = [headers.map(cut), ...rows.map((r) => r.map(cut))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
