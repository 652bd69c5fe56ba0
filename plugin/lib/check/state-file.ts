/**
 * `--state FILE` on disk: the append-only journal of src/check/state.ts.
 * Completed network results are appended with one write each (a killed
 * process loses nothing the kernel accepted); checkpoints are fsync'd after
 * the output they point to was fsync'd. The journal is compacted (rewritten
 * to a temporary file and renamed over) when it grows past a bound.
 */

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, openAsBlob } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { evError } from '../../../src/errors.ts';
import type { Checkpoint, Journal } from '../../../src/check/engine.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { decodeState, encodeCheckpoint, encodeCompleted, encodeHeader, type DecodedState, type StateFingerprint } from '../../../src/check/state.ts';

/** Journal size that triggers compaction: keeps resume fast and the file small. */
export const COMPACT_STATE_BYTES = 64 * 1024 * 1024;
/** Largest state file read on resume (a compacted journal is far smaller). */
export const MAX_STATE_BYTES = 512 * 1024 * 1024;
/** Bytes of each input hashed for the fingerprint. */
export const FINGERPRINT_HEAD_BYTES = 64 * 1024;

/** Fingerprint of the input files: path, size and a hash of the first 64 KiB. */
export async function fingerprintInputs(paths: string[]): Promise<StateFingerprint['inputs']> {
  const out: StateFingerprint['inputs'] = [];
  for (const p of paths) {
    let size: number;
    try {
      size = statSync(p).size;
    } catch (err) {
      throw evError('EV_ERR_INPUT_INVALID', `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check the path' });
    }
    const blob = await openAsBlob(p);
    const head = Buffer.from(await blob.slice(0, FINGERPRINT_HEAD_BYTES).arrayBuffer());
    out.push({ path: p, size, head: createHash('sha256').update(head).digest('hex').slice(0, 32) });
  }
  return out;
}

/** Reads an existing state file, or returns null when there is none. */
export function loadState(path: string): DecodedState | null {
  if (!existsSync(path)) return null;
  const size = statSync(path).size;
  if (size === 0) return null;
  if (size > MAX_STATE_BYTES) throw evError('EV_ERR_STATE_INVALID', `state file ${path} is larger than ${MAX_STATE_BYTES} bytes`, { hint: 'this is not a check state file, or it is damaged; delete it to start over' });
  return decodeState(readFileSync(path, 'utf8'), path);
}

function fsyncDir(path: string): void {
  try {
    const fd = openSync(dirname(path), 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* not every platform can fsync a directory */ }
}

/** The journal the engine writes to. */
export class StateJournal implements Journal {
  private readonly path: string;
  private readonly header: string;
  private fd: number;
  private size: number;
  private last: Checkpoint | null;
  /** Results since the last checkpoint, kept for compaction only. */
  private pending = new Map<number, string>();

  private constructor(path: string, header: string, fd: number, size: number, last: Checkpoint | null) {
    this.path = path;
    this.header = header;
    this.fd = fd;
    this.size = size;
    this.last = last;
  }

  /**
   * Opens the journal: a new one (header written and synced) or, when
   * resuming, a compacted copy of the old one.
   */
  static open(path: string, fingerprint: StateFingerprint, resume: { checkpoint: Checkpoint; completed: Map<number, CheckResult> } | null): StateJournal {
    const header = encodeHeader(fingerprint);
    const j = new StateJournal(path, header, -1, 0, resume?.checkpoint ?? null);
    if (resume) for (const [i, r] of resume.completed) j.pending.set(i, encodeCompleted(r));
    j.rewrite();
    return j;
  }

  private rewrite(): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    let text = this.header;
    if (this.last) text += encodeCheckpoint(this.last);
    for (const line of this.pending.values()) text += line;
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    fsyncDir(this.path);
    if (this.fd !== -1) closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.size = Buffer.byteLength(text);
  }

  private append(text: string): void {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
  }

  completed(result: CheckResult): void {
    const line = encodeCompleted(result);
    this.pending.set(result.index, line);
    this.append(line);
  }

  async checkpoint(cp: Checkpoint): Promise<void> {
    for (const i of this.pending.keys()) if (i <= cp.index) this.pending.delete(i);
    this.last = cp;
    if (this.size > COMPACT_STATE_BYTES) {
      this.rewrite();
      return;
    }
    this.append(encodeCheckpoint(cp));
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== -1) closeSync(this.fd);
    this.fd = -1;
  }
}
