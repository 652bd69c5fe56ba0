/**
 * The `--state FILE` checkpoint format: an append-only journal of JSON lines.
 *
 *   line 1   {"kind":"kubectl-email-validate/check-state","version":1,"fingerprint":{…}}
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
 * A torn last line (killed mid-append) is ignored; damage elsewhere is an
 * error.
 */

import { evError } from '../errors.ts';
import type { Checkpoint, ResumeFrom } from './engine.ts';
import type { CheckResult } from './result.ts';

export const STATE_KIND = 'kubectl-email-validate/check-state';
export const STATE_VERSION = 1;

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
  return `${JSON.stringify({ kind: STATE_KIND, version: STATE_VERSION, fingerprint: fp })}\n`;
}

export function encodeCheckpoint(cp: Checkpoint): string {
  return `${JSON.stringify({ cp })}\n`;
}

export function encodeCompleted(r: CheckResult): string {
  return `${JSON.stringify({ r })}\n`;
}

export interface DecodedState {
  fingerprint: StateFingerprint;
  resume: ResumeFrom | null;
}

function corrupt(file: string, detail: string): never {
  throw evError('EV_ERR_STATE_INVALID', `state file ${file} is corrupt: ${detail}`, { hint: 'delete it to start over (the output file will be rewritten), or pass the state file that belongs to this run' });
}

/** Parses a journal. `text` is the whole file; `file` names it in errors. */
export function decodeState(text: string, file: string): DecodedState {
  const lines = text.split('\n');
  // A file that ends without '\n' was killed mid-append: drop that tail.
  const complete = lines.slice(0, -1);
  if (complete.length === 0) corrupt(file, 'it has no header');
  let header: { kind?: unknown; version?: unknown; fingerprint?: unknown };
  try { header = JSON.parse(complete[0]); } catch { corrupt(file, 'the header is not JSON'); }
  if (header.kind !== STATE_KIND) corrupt(file, 'it is not a check state file');
  if (header.version !== STATE_VERSION) throw evError('EV_ERR_STATE_INVALID', `state file ${file} has version ${String(header.version)}; this version reads ${STATE_VERSION}`, { hint: 'finish it with the version that started it, or delete it to start over' });
  const fingerprint = header.fingerprint as StateFingerprint;
  let cp: Checkpoint | null = null;
  let completed = new Map<number, CheckResult>();
  for (let n = 1; n < complete.length; n++) {
    let rec: { cp?: Checkpoint; r?: CheckResult };
    try {
      rec = JSON.parse(complete[n]);
    } catch {
      corrupt(file, `line ${n + 1} is not JSON`);
    }
    if (rec.cp) {
      cp = rec.cp;
      // Results up to the checkpoint are in the output now.
      const kept = new Map<number, CheckResult>();
      for (const [i, r] of completed) if (i > cp.index) kept.set(i, r);
      completed = kept;
    } else if (rec.r && typeof rec.r.index === 'number') {
      if (cp === null || rec.r.index > cp.index) completed.set(rec.r.index, rec.r);
    } else {
      corrupt(file, `line ${n + 1} is neither a checkpoint nor a result`);
    }
  }
  if (cp === null) return { fingerprint, resume: completed.size > 0 ? { checkpoint: zeroCheckpoint(), completed } : null };
  return { fingerprint, resume: { checkpoint: cp, completed } };
}

export function zeroCheckpoint(): Checkpoint {
  return { file: 0, offset: 0, index: 0, outputBytes: 0, counts: { read: 0, written: 0, duplicates: 0, valid: 0, invalid: 0, risky: 0, unknown: 0 } };
}

/** The fields of two fingerprints that differ (empty when they match). */
export function fingerprintDiff(a: StateFingerprint, b: StateFingerprint): string[] {
  const out: string[] = [];
  if (a.inputs.length !== b.inputs.length || a.inputs.some((x, i) => x.path !== b.inputs[i].path)) out.push('input files');
  else if (a.inputs.some((x, i) => x.head !== b.inputs[i].head || x.size !== b.inputs[i].size)) out.push('input content');
  if (a.output !== b.output) out.push('output file');
  if (a.format !== b.format) out.push('--format');
  if (a.column !== b.column) out.push('--column');
  if (a.options !== b.options) out.push('check options');
  return out;
}
