/**
 * `--state FILE` on disk: the append-only journal of src/check/state.ts.
 * Completed network results are appended with one write each (a killed
 * process loses nothing the kernel accepted); checkpoints are fsync'd after
 * the output they point to was fsync'd. The journal is compacted (rewritten
 * to a temporary file and renamed over) when it grows past a bound.
 */

import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
  openAsBlob,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { evError } from '../../../src/errors.ts';
import type { Checkpoint, Journal } from '../../../src/check/engine.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import {
  StateChain,
  decodeState,
  encodeCheckpoint,
  encodeCompleted,
  encodeHeader,
  type DecodedState,
  type StateFingerprint,
} from '../../../src/check/state.ts';
import { codeOrMessage, errorCode } from '../../../src/guards.ts';
import { replaceFile } from './replace-file.ts';

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
      throw evError('EV_ERR_INPUT_INVALID', `cannot read ${p}: ${codeOrMessage(err)}`, {
        hint: 'check the path',
      });
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
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile())
      throw evError('EV_ERR_STATE_INVALID', `state file ${path} is not a regular file`, {
        hint: 'pass a file path to --state',
      });
    if (st.size === 0) return null;
    if (st.size > MAX_STATE_BYTES)
      throw evError(
        'EV_ERR_STATE_INVALID',
        `state file ${path} is larger than ${MAX_STATE_BYTES} bytes`,
        { hint: 'this is not a check state file, or it is damaged; delete it to start over' },
      );
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errorCode(err)?.startsWith('EV_ERR_')) throw err;
    throw evError('EV_ERR_STATE_INVALID', `cannot read state file ${path}: ${codeOrMessage(err)}`, {
      hint: 'check the path and its permissions',
    });
  }
  return decodeState(text, path);
}

/** The journal the engine writes to. */
export class StateJournal implements Journal {
  private readonly path: string;
  private readonly header: string;
  private fd: number;
  private size: number;
  private last: Checkpoint | null;
  /** Results since the last checkpoint (record bodies), kept for compaction only. */
  private pending = new Map<number, string>();
  /** Checksum chain of the lines written so far. */
  private chain = new StateChain();

  private readonly compactBytes: number;

  private constructor(
    path: string,
    header: string,
    fd: number,
    size: number,
    last: Checkpoint | null,
    compactBytes: number,
  ) {
    this.compactBytes = compactBytes;
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
  static open(
    path: string,
    fingerprint: StateFingerprint,
    resume: { checkpoint: Checkpoint; completed: Map<number, CheckResult> } | null,
    opts: { compactBytes?: number } = {},
  ): StateJournal {
    const header = encodeHeader(fingerprint);
    const j = new StateJournal(
      path,
      header,
      -1,
      0,
      resume?.checkpoint ?? null,
      opts.compactBytes ?? COMPACT_STATE_BYTES,
    );
    if (resume) for (const [i, r] of resume.completed) j.pending.set(i, encodeCompleted(r));
    j.rewrite();
    return j;
  }

  private rewrite(): void {
    this.chain = new StateChain();
    let text = this.chain.seal(this.header);
    if (this.last) text += this.chain.seal(encodeCheckpoint(this.last));
    for (const body of this.pending.values()) text += this.chain.seal(body);
    replaceFile(this.path, text);
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
    const body = encodeCompleted(result);
    this.pending.set(result.index, body);
    this.append(this.chain.seal(body));
  }

  async checkpoint(cp: Checkpoint): Promise<void> {
    for (const i of this.pending.keys()) if (i <= cp.index) this.pending.delete(i);
    this.last = cp;
    if (this.size > this.compactBytes) {
      this.rewrite();
      return;
    }
    this.append(this.chain.seal(encodeCheckpoint(cp)));
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== -1) closeSync(this.fd);
    this.fd = -1;
  }
}
