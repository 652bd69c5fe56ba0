/**
 * The mutation score per folder and the totals for `src/` and `sink/`, from the JSON reports
 * that `npm run mutate` writes (`reports/mutation/*.json`, one per scope):
 *
 *   npm run mutate:scores                        # a row per folder, then src/ and sink/
 *   npm run mutate:scores -- --files             # a row per file as well
 *   npm run mutate:scores -- --survivors src/flow  # every survivor (and no-coverage) under a path
 *   npm run mutate:scores -- --reports DIR       # reports kept elsewhere (a copy from before new tests)
 *
 * Score = (killed + timeout) / (killed + timeout + survived + no coverage), as in CONTRIBUTING.md;
 * ignored mutants (code run only at module load), compile and runtime errors are left out. A
 * file found in several reports counts once, from the newest report whose scope names it (else
 * the newest that holds it: a run also repeats the old results of its incremental file's other
 * files). Files of the I/O glue
 * (stryker.config.mjs's list) are skipped, so a run that named one with `--mutate` does not
 * change the figures.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isRecord } from '../../../src/guards.ts';
import { IO_GLUE, globTest } from './scope.ts';

const REPORTS = 'reports/mutation';

export interface Mutant {
  readonly status: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly line: number;
  readonly column: number;
}

export interface Counts {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  ignored: number;
  errors: number;
}

const emptyCounts = (): Counts => ({
  killed: 0,
  timeout: 0,
  survived: 0,
  noCoverage: 0,
  ignored: 0,
  errors: 0,
});

/** Adds one mutant's status to `c`; a status this script does not know is an error, not a guess. */
export function count(c: Counts, status: string): void {
  switch (status) {
    case 'Killed':
      c.killed++;
      break;
    case 'Timeout':
      c.timeout++;
      break;
    case 'Survived':
      c.survived++;
      break;
    case 'NoCoverage':
      c.noCoverage++;
      break;
    case 'Ignored':
      c.ignored++;
      break;
    case 'CompileError':
    case 'RuntimeError':
      c.errors++;
      break;
    default:
      throw new Error(`unknown mutant status ${status} (pending mutants mean a run did not end)`);
  }
}

/** The scored mutants and the score in percent (null when nothing is scored). */
export function score(c: Counts): { scored: number; percent: number | null } {
  const detected = c.killed + c.timeout;
  const scored = detected + c.survived + c.noCoverage;
  return { scored, percent: scored === 0 ? null : (100 * detected) / scored };
}

function add(into: Counts, c: Counts): void {
  into.killed += c.killed;
  into.timeout += c.timeout;
  into.survived += c.survived;
  into.noCoverage += c.noCoverage;
  into.ignored += c.ignored;
  into.errors += c.errors;
}

/** The mutants of each file in one parsed report (the mutation-testing-report-schema's `files`). */
export function mutantsOf(report: unknown): Map<string, Mutant[]> {
  const files = new Map<string, Mutant[]>();
  if (!isRecord(report) || !isRecord(report.files)) throw new Error('not a mutation report');
  for (const [file, entry] of Object.entries(report.files)) {
    if (!isRecord(entry) || !Array.isArray(entry.mutants)) throw new Error(`${file}: no mutants`);
    files.set(
      file.split(path.sep).join('/'),
      entry.mutants.filter(isRecord).map((m) => {
        const start = isRecord(m.location) && isRecord(m.location.start) ? m.location.start : {};
        return {
          status: String(m.status),
          mutatorName: String(m.mutatorName),
          replacement: typeof m.replacement === 'string' ? m.replacement : undefined,
          line: Number(start.line),
          column: Number(start.column),
        };
      }),
    );
  }
  return files;
}

/** A file or folder as stryker.config.mjs spells it in a report's name (`src/check/state.ts` -> `src-check-state`). */
const nameKey = (p: string) => p.replace(/[^A-Za-z0-9+-]+/g, '-').replace(/^-+|-+$/g, '');

/**
 * Whether a report's scope names `file` or a folder above it. The report's name is its run's
 * globs joined by `+` (stryker.config.mjs): `src-check` for `src/check/**` + `/*.ts`, `src-top` for
 * `src/*.ts`, `src-check-state` for one file, `all` for the whole scope. A run also reports the
 * other files of the incremental file it started from, with their old results: those must not
 * hide a newer run that did test them.
 */
export function scopeCovers(reportName: string, file: string): boolean {
  const key = nameKey(file.replace(/\.ts$/, ''));
  const dirKey = nameKey(path.posix.dirname(file));
  return reportName
    .split('+')
    .some(
      (part) =>
        part === 'all' ||
        part === key ||
        (part.endsWith('-top')
          ? part.slice(0, -'-top'.length) === dirKey
          : key.startsWith(`${part}-`)),
    );
}

/**
 * Every file's mutants: from the newest report whose scope names the file (see
 * {@link scopeCovers}), else from the newest report that holds it at all.
 */
function readReports(dir: string): Map<string, Mutant[]> {
  const reports = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const files = new Map<string, Mutant[]>();
  const covered = new Set<string>();
  const glue = IO_GLUE.map(globTest);
  for (const report of reports) {
    const name = path.basename(report, '.json');
    for (const [file, mutants] of mutantsOf(JSON.parse(readFileSync(report, 'utf8')))) {
      if (glue.some((t) => t(file))) continue;
      if (scopeCovers(name, file)) {
        files.set(file, mutants);
        covered.add(file);
      } else if (!covered.has(file)) files.set(file, mutants);
    }
  }
  return files;
}

const pct = (p: number | null) => (p === null ? 'n/a' : `${p.toFixed(2)}%`);

function row(name: string, c: Counts): string {
  const s = score(c);
  return [
    name.padEnd(44),
    String(s.scored).padStart(6),
    pct(s.percent).padStart(8),
    String(c.killed).padStart(6),
    String(c.timeout).padStart(5),
    String(c.survived).padStart(6),
    String(c.noCoverage).padStart(5),
    String(c.ignored).padStart(6),
    String(c.errors).padStart(5),
  ].join(' ');
}

function main(argv: readonly string[]): void {
  const reportsAt = argv.indexOf('--reports');
  const reports = reportsAt >= 0 ? (argv[reportsAt + 1] ?? REPORTS) : REPORTS;
  let files: Map<string, Mutant[]>;
  try {
    files = readReports(reports);
  } catch (err) {
    if (isRecord(err) && err.code === 'ENOENT') {
      console.error(`no reports in ${reports}/: run \`npm run mutate\` first (CONTRIBUTING.md)`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  const survivorsAt = argv.indexOf('--survivors');
  if (survivorsAt >= 0) {
    const under = argv[survivorsAt + 1] ?? '';
    for (const [file, mutants] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!file.startsWith(under)) continue;
      for (const m of mutants) {
        if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
        const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
        console.log(`${file}:${m.line}:${m.column} ${m.status} ${m.mutatorName}: ${replacement}`);
      }
    }
    return;
  }
  const perFile = argv.includes('--files');
  const folders = new Map<string, Counts>();
  const fileCounts = new Map<string, Counts>();
  const totals = new Map<string, Counts>([
    ['src/', emptyCounts()],
    ['sink/', emptyCounts()],
  ]);
  for (const [file, mutants] of files) {
    const c = emptyCounts();
    for (const m of mutants) count(c, m.status);
    fileCounts.set(file, c);
    const folder = `${path.posix.dirname(file)}/`;
    const f = folders.get(folder) ?? emptyCounts();
    add(f, c);
    folders.set(folder, f);
    const top = totals.get(`${file.split('/')[0]}/`);
    if (top) add(top, c);
  }
  console.log(`${'folder'.padEnd(44)} scored    score killed  time surviv nocov ignord  errs`);
  for (const [folder, c] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(row(folder, c));
    if (!perFile) continue;
    for (const [file, fc] of [...fileCounts].sort(([a], [b]) => a.localeCompare(b))) {
      if (`${path.posix.dirname(file)}/` === folder)
        console.log(row(`  ${path.posix.basename(file)}`, fc));
    }
  }
  console.log('');
  for (const [top, c] of totals) console.log(row(`total ${top}`, c));
}

if (import.meta.filename === process.argv[1]) main(process.argv.slice(2));
