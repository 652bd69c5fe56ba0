/**
 * The `--state FILE` checkpoint format: an append-only journal of lines,
 * each a JSON record, a tab and a checksum.
 *
 *   line 1   {"kind":"kubectl-email-validate/check-state","version":2,"fingerprint":{…}}
 *   {"cp":{file,offset,index,outputBytes,counts}}   after output up to `index` was flushed
 *   {"r":{…CheckResult}}                             a network result, as soon as it completed
 *
 * Why it survives `kill -9` at any moment, writing every result exactly once:
 * the output file only ever grows by whole flushes, and a checkpoint is
 * appended only after its flush, so on resume the output is truncated to the
 * last checkpoint's `outputBytes` (dropping any partial or unaccounted tail)
 * and input reading restarts at the checkpoint's byte offset. Network results
 * completed after that checkpoint are in the journal and are reused, so no
 * address is probed twice; offline results are recomputed (pure and cheap).
 *
 * Damage and edits: a torn last line (killed mid-append, no newline) is
 * ignored. Everything else is checked, and any problem is
 * EV_ERR_STATE_INVALID naming the line and what is wrong: each line's
 * checksum chains the previous one's (an edited, dropped, repeated or
 * reordered line breaks the chain: an edited result is never replayed into
 * the output as if checked), and every record is validated field by field
 * before it is used (types, ranges, counts that add up, positions that only
 * move forward and stay inside the inputs the header describes).
 */

import { createHash } from 'node:crypto';
import { evError } from '../errors.ts';
import { DIAGNOSES } from '../address/syntax.ts';
import type { Checkpoint, Counts, ResumeFrom } from './engine.ts';
import type { CheckResult } from './result.ts';
import { REASONS, verdictOf, type ReasonCode } from './reasons.ts';

export const STATE_KIND = 'kubectl-email-validate/check-state';
/** 2: lines carry a chained checksum (version 1 had none). */
export const STATE_VERSION = 2;
/** Hex digits of each line's checksum (64 bits of SHA-256): catches damage and edits, not a forger who recomputes it. */
export const STATE_CHECKSUM_CHARS = 16;

/** What a state file belongs to; a resume with a different fingerprint is refused. */
export interface StateFingerprint {
  inputs: Array<{ path: string; size: number; head: string }>;
  output: string;
  format: string;
  column: string | null;
  /** Options that change results (offline, probe, provider…), as a stable string. */
  options: string;
}

export function encodeHeader(fp: StateFingerprint): string {
  return JSON.stringify({ kind: STATE_KIND, version: STATE_VERSION, fingerprint: fp });
}

export function encodeCheckpoint(cp: Checkpoint): string {
  return JSON.stringify({ cp });
}

export function encodeCompleted(r: CheckResult): string {
  return JSON.stringify({ r });
}

function checksum(prev: string, body: string): string {
  return createHash('sha256')
    .update(prev)
    .update('\n')
    .update(body)
    .digest('hex')
    .slice(0, STATE_CHECKSUM_CHARS);
}

/** Seals record bodies into lines, each checksum chained to the one before (the header's to ''). */
export class StateChain {
  private last: string;
  constructor(last = '') {
    this.last = last;
  }
  seal(body: string): string {
    this.last = checksum(this.last, body);
    return `${body}\t${this.last}\n`;
  }
}

export interface DecodedState {
  fingerprint: StateFingerprint;
  resume: ResumeFrom | null;
}

const HINT =
  'the state file was damaged or edited: delete it (and the output file) to start over, or pass the state file that belongs to this run';

function corrupt(file: string, detail: string): never {
  throw evError('EV_ERR_STATE_INVALID', `state file ${file} is not valid: ${detail}`, {
    hint: HINT,
  });
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function validateFingerprint(v: unknown, file: string): StateFingerprint {
  const bad = (what: string): never => corrupt(file, `line 1: the header's fingerprint ${what}`);
  if (!isObject(v)) return bad('is missing');
  const fp = v;
  if (!Array.isArray(fp.inputs) || fp.inputs.length === 0) return bad('has no inputs');
  for (const x of fp.inputs) {
    if (
      !isObject(x) ||
      typeof x.path !== 'string' ||
      !isCount(x.size) ||
      typeof x.head !== 'string'
    )
      bad('has an input without path, size and head');
  }
  if (typeof fp.output !== 'string') bad('has no output');
  if (typeof fp.format !== 'string') bad('has no format');
  if (!(fp.column === null || typeof fp.column === 'string'))
    bad('has a column that is not a string');
  if (typeof fp.options !== 'string') bad('has no options');
  return fp as unknown as StateFingerprint;
}

const COUNT_KEYS: Array<keyof Counts> = [
  'read',
  'written',
  'duplicates',
  'valid',
  'invalid',
  'risky',
  'unknown',
];

function validateCheckpoint(
  v: unknown,
  line: number,
  fp: StateFingerprint,
  prev: Checkpoint | null,
  file: string,
): Checkpoint {
  const bad = (what: string): never => corrupt(file, `line ${line}: checkpoint ${what}`);
  if (!isObject(v)) return bad('is not an object');
  const cp = v;
  for (const k of ['file', 'offset', 'index', 'outputBytes'] as const)
    if (!isCount(cp[k])) bad(`has no valid ${k} (a whole number >= 0)`);
  if (!isObject(cp.counts)) bad('has no counts');
  const c = cp.counts as Record<string, unknown>;
  for (const k of COUNT_KEYS) if (!isCount(c[k])) bad(`has no valid counts.${k}`);
  const n = c as unknown as Counts;
  const file_ = cp.file as number;
  if (file_ >= fp.inputs.length) bad(`points at input ${file_ + 1} of ${fp.inputs.length}`);
  if ((cp.offset as number) > fp.inputs[file_].size)
    bad(
      `offset ${String(cp.offset)} is past the end of ${fp.inputs[file_].path} (${fp.inputs[file_].size} bytes)`,
    );
  if (n.read !== cp.index)
    bad(`counts ${n.read} records read but accounts for ${String(cp.index)}`);
  if (n.written + n.duplicates !== n.read)
    bad(
      `counts do not add up (written ${n.written} + duplicates ${n.duplicates} != read ${n.read})`,
    );
  if (n.valid + n.invalid + n.risky + n.unknown !== n.written)
    bad(`verdict counts do not add up to written (${n.written})`);
  if (prev !== null) {
    const back =
      (cp.index as number) < prev.index ||
      (cp.outputBytes as number) < prev.outputBytes ||
      file_ < prev.file ||
      (file_ === prev.file && (cp.offset as number) < prev.offset);
    if (back) bad('goes back before the previous checkpoint');
  }
  return cp as unknown as Checkpoint;
}

const VERDICTS = new Set(['valid', 'invalid', 'risky', 'unknown']);

function validateResult(v: unknown, line: number, file: string): CheckResult {
  const bad = (what: string): never => corrupt(file, `line ${line}: result ${what}`);
  if (!isObject(v)) return bad('is not an object');
  const r = v;
  if (!isCount(r.index) || r.index === 0) bad('has no valid index');
  if (typeof r.address !== 'string' || typeof r.normalized !== 'string') bad('has no address');
  if (typeof r.verdict !== 'string' || !VERDICTS.has(r.verdict))
    bad(`has an unknown verdict ${JSON.stringify(r.verdict)}`);
  if (
    !Array.isArray(r.reasons) ||
    !r.reasons.every((x) => typeof x === 'string' && Object.hasOwn(REASONS, x))
  )
    bad('has an unknown reason');
  if (verdictOf(r.reasons as ReasonCode[]) !== r.verdict)
    bad(`verdict ${String(r.verdict)} does not follow from its reasons`);
  const checks = r.checks;
  if (!isObject(checks)) return bad('has no syntax details');
  const syn = checks.syntax;
  if (!isObject(syn)) return bad('has no syntax details');
  if (
    typeof syn.diagnosis !== 'string' ||
    !Object.hasOwn(DIAGNOSES, syn.diagnosis) ||
    DIAGNOSES[syn.diagnosis as keyof typeof DIAGNOSES] !== syn.category
  )
    bad('has an unknown syntax diagnosis');
  if (!['smtputf8', 'idn', 'literal'].every((k) => typeof syn[k] === 'boolean'))
    bad('has syntax flags that are not true or false');
  // Everything the writers read is checked here, so a record that passed
  // cannot fail later while the output is written.
  const { lists, dns, smtp, provider } = checks;
  if (
    lists !== undefined &&
    !(
      isObject(lists) &&
      ['disposable', 'role', 'free'].every((k) => typeof lists[k] === 'boolean') &&
      (lists.suggestion === null || typeof lists.suggestion === 'string')
    )
  )
    bad('has malformed list details');
  if (dns !== undefined) {
    const okMx = (m: unknown): boolean =>
      isObject(m) &&
      typeof m.exchange === 'string' &&
      typeof m.priority === 'number' &&
      typeof m.private === 'boolean' &&
      Array.isArray(m.addresses) &&
      m.addresses.every((a) => typeof a === 'string');
    if (!(
      isObject(dns) &&
      typeof dns.status === 'string' &&
      typeof dns.implicitMx === 'boolean' &&
      Array.isArray(dns.mx) &&
      dns.mx.every(okMx) &&
      (dns.errorCode === undefined || typeof dns.errorCode === 'string')
    ))
      bad('has malformed DNS details');
  }
  const okDetails = (d: unknown, numbers: string[], strings: string[]): boolean =>
    isObject(d) &&
    typeof d.status === 'string' &&
    isCount(d.attempts) &&
    numbers.every((k) => d[k] === undefined || typeof d[k] === 'number') &&
    strings.every((k) => d[k] === undefined || typeof d[k] === 'string');
  if (
    smtp !== undefined &&
    !(
      okDetails(smtp, ['code'], ['host', 'enhanced', 'message']) &&
      [true, false, null].includes((smtp as Record<string, unknown>).catchAll as boolean)
    )
  )
    bad('has malformed SMTP details');
  if (provider !== undefined && !okDetails(provider, ['httpStatus'], ['value']))
    bad('has malformed provider details');
  return r as unknown as CheckResult;
}

/** Parses and validates a journal. `text` is the whole file; `file` names it in errors. */
export function decodeState(text: string, file: string): DecodedState {
  const lines = text.split('\n');
  // A file that ends without '\n' was killed mid-append: drop that tail.
  const complete = lines.slice(0, -1);
  if (complete.length === 0) corrupt(file, 'it has no header (empty, or not a check state file)');
  let prevSum = '';
  const body = (n: number): string => {
    const l = complete[n];
    const tab = l.lastIndexOf('\t');
    if (tab === -1) {
      if (n === 0 && l.includes(STATE_KIND)) {
        let v: unknown;
        try {
          v = (JSON.parse(l) as { version?: unknown }).version;
        } catch {
          /* reported below */
        }
        if (v !== undefined && v !== STATE_VERSION)
          throw evError(
            'EV_ERR_STATE_INVALID',
            `state file ${file} has version ${JSON.stringify(v)}; this version reads ${STATE_VERSION}`,
            {
              hint: 'finish it with the version that started it, or delete it (and the output file) to start over',
            },
          );
      }
      corrupt(
        file,
        n === 0
          ? 'it is not a check state file'
          : `line ${n + 1} has no checksum (edited or damaged)`,
      );
    }
    const b = l.slice(0, tab);
    const sum = checksum(prevSum, b);
    if (l.slice(tab + 1) !== sum)
      corrupt(
        file,
        n === 0
          ? 'line 1 (the header) fails its checksum'
          : `line ${n + 1} fails its checksum: it was edited, or a line before it was removed, added or moved`,
      );
    prevSum = sum;
    return b;
  };
  let header: unknown;
  const first = body(0);
  try {
    header = JSON.parse(first);
  } catch {
    corrupt(file, 'line 1 (the header) is not JSON');
  }
  if (!isObject(header) || header.kind !== STATE_KIND)
    corrupt(file, 'it is not a check state file');
  if (header.version !== STATE_VERSION)
    throw evError(
      'EV_ERR_STATE_INVALID',
      `state file ${file} has version ${String(header.version)}; this version reads ${STATE_VERSION}`,
      {
        hint: 'finish it with the version that started it, or delete it (and the output file) to start over',
      },
    );
  const fingerprint = validateFingerprint(header.fingerprint, file);
  let cp: Checkpoint | null = null;
  let completed = new Map<number, CheckResult>();
  for (let n = 1; n < complete.length; n++) {
    const b = body(n);
    let rec: unknown;
    try {
      rec = JSON.parse(b);
    } catch {
      corrupt(file, `line ${n + 1} is not JSON`);
    }
    if (!isObject(rec) || Object.keys(rec).length !== 1)
      corrupt(file, `line ${n + 1} is neither a checkpoint nor a result`);
    if ('cp' in rec) {
      cp = validateCheckpoint(rec.cp, n + 1, fingerprint, cp, file);
      // Results up to the checkpoint are in the output now.
      const kept = new Map<number, CheckResult>();
      for (const [i, r] of completed) if (i > cp.index) kept.set(i, r);
      completed = kept;
    } else if ('r' in rec) {
      const r = validateResult(rec.r, n + 1, file);
      if (cp === null || r.index > cp.index) completed.set(r.index, r);
    } else {
      corrupt(file, `line ${n + 1} is neither a checkpoint nor a result`);
    }
  }
  if (cp === null)
    return {
      fingerprint,
      resume: completed.size > 0 ? { checkpoint: zeroCheckpoint(), completed } : null,
    };
  return { fingerprint, resume: { checkpoint: cp, completed } };
}

export function zeroCheckpoint(): Checkpoint {
  return {
    file: 0,
    offset: 0,
    index: 0,
    outputBytes: 0,
    counts: { read: 0, written: 0, duplicates: 0, valid: 0, invalid: 0, risky: 0, unknown: 0 },
  };
}

/** The fields of two fingerprints that differ (empty when they match). */
export function fingerprintDiff(a: StateFingerprint, b: StateFingerprint): string[] {
  const out: string[] = [];
  if (a.inputs.length !== b.inputs.length || a.inputs.some((x, i) => x.path !== b.inputs[i].path))
    out.push('input files');
  else if (a.inputs.some((x, i) => x.head !== b.inputs[i].head || x.size !== b.inputs[i].size))
    out.push('input content');
  if (a.output !== b.output) out.push('output file');
  if (a.format !== b.format) out.push('--output');
  if (a.column !== b.column) out.push('--column');
  if (a.options !== b.options) out.push('check options');
  return out;
}
