/**
 * Result writers for `check`: JSON lines, CSV and a streaming table. Results
 * are serialised into a string buffer and written in large chunks with
 * synchronous writes (files and pipes are synchronous on POSIX anyway), so
 * `flush()` knows exactly how many bytes the output holds - the number a
 * checkpoint records.
 */

import { closeSync, fsyncSync, openSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import type { ResultWriter } from '../../../src/check/engine.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { resultToJsonLine } from '../../../src/check/serialize.ts';
import { terminalLine } from '../../../src/terminal-text.ts';
import { errorCode } from '../../../src/guards.ts';
import { evError } from '../../../src/errors.ts';

/** Output buffered before a write: large writes keep the hot path off syscalls. */
export const OUTPUT_CHUNK_CHARS = 1 << 16;

export type CheckFormat = 'jsonl' | 'csv' | 'table';

/** Where bytes go: a file descriptor (stdout is fd 1). */
export interface ByteSink {
  write(text: string): void;
  /** Bytes written so far. */
  readonly bytes: number;
  sync(): void;
  close(): void;
}

/** A file opened for appending after truncation to `keepBytes` (resume), or stdout. */
export function fdSink(target: { fd: number } | { path: string; keepBytes: number }): ByteSink {
  let fd: number;
  let bytes = 0;
  let owned = false;
  if ('fd' in target) {
    fd = target.fd;
  } else {
    fd = openSync(target.path, 'a+');
    owned = true;
    const size = fstatSync(fd).size;
    if (size > target.keepBytes) ftruncateSync(fd, target.keepBytes);
    bytes = Math.min(size, target.keepBytes);
  }
  return {
    write(text: string): void {
      const len = Buffer.byteLength(text, 'utf8');
      let done = 0;
      try {
        done = writeSync(fd, text, null, 'utf8');
      } catch (err) {
        if (errorCode(err) !== 'EAGAIN') throw err;
      }
      if (done < len) {
        // A partial write (a full non-blocking pipe): finish byte-wise, retrying.
        const buf = Buffer.from(text, 'utf8');
        while (done < len) {
          try {
            done += writeSync(fd, buf, done, len - done);
          } catch (err) {
            if (errorCode(err) !== 'EAGAIN') throw err;
          }
        }
      }
      bytes += len;
    },
    get bytes() {
      return bytes;
    },
    sync(): void {
      try {
        fsyncSync(fd);
      } catch {
        /* pipes and ttys cannot be synced */
      }
    },
    close(): void {
      if (owned) closeSync(fd);
    },
  };
}

function csvField(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 44 || c === 34 || c === 10 || c === 13) return `"${v.replace(/"/g, '""')}"`;
  }
  return v;
}

export const CSV_COLUMNS = [
  'address',
  'normalized',
  'verdict',
  'reasons',
  'diagnosis',
  'disposable',
  'role',
  'free',
  'suggestion',
  'dns_status',
  'mx',
  'smtp_status',
  'smtp_code',
  'catch_all',
  'provider_status',
] as const;

function csvRow(r: CheckResult): string {
  const c = r.checks;
  return [
    csvField(r.address),
    csvField(r.normalized),
    r.verdict,
    r.reasons.join(';'),
    c.syntax.diagnosis,
    c.lists ? String(c.lists.disposable) : '',
    c.lists ? String(c.lists.role) : '',
    c.lists ? String(c.lists.free) : '',
    c.lists?.suggestion ?? '',
    c.dns?.status ?? '',
    csvField(c.dns?.mx[0]?.exchange ?? ''),
    c.smtp?.status ?? '',
    c.smtp?.code === undefined ? '' : String(c.smtp.code),
    c.smtp?.catchAll == null ? '' : String(c.smtp.catchAll),
    c.provider?.status ?? '',
  ].join(',');
}

const TABLE_ADDRESS_WIDTH = 40;
/** Narrowest address column when the table is fitted to a terminal: most addresses still show their domain's start. */
const MIN_TABLE_ADDRESS_WIDTH = 16;
/** Room kept for the reasons when the address column shrinks to fit a terminal. */
const MIN_TABLE_REASONS_WIDTH = 16;
/** VERDICT column and the spaces after it and after the address. */
const TABLE_FIXED_WIDTH = 8 + 1 + 1;

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s + ' '.repeat(n - s.length);
}

export interface ResultWriterOptions {
  format: CheckFormat;
  sink: ByteSink;
  /** fsync on every flush (with --state, so a checkpoint never points past durable output). */
  durable: boolean;
  /** Write the CSV header / table header (not when appending to a resumed output). */
  header: boolean;
  color?: boolean;
  /** Terminal width the table rows fit (the address column narrows, reasons are cut with …); null: no limit. */
  width?: number | null;
  /** `-o wide`: nothing cut, not even an address longer than its column. */
  wide?: boolean;
}

/** Widths of the table's address and reasons columns for a terminal width (null: as wide as they come). */
export function tableColumns(width: number | null | undefined): {
  address: number;
  reasons: number | null;
} {
  if (width === null || width === undefined) return { address: TABLE_ADDRESS_WIDTH, reasons: null };
  const address = Math.max(
    MIN_TABLE_ADDRESS_WIDTH,
    Math.min(TABLE_ADDRESS_WIDTH, width - TABLE_FIXED_WIDTH - MIN_TABLE_REASONS_WIDTH),
  );
  return { address, reasons: Math.max(1, width - TABLE_FIXED_WIDTH - address) };
}

function cutTo(s: string, n: number | null): string {
  if (n === null) return s;
  const c = Array.from(s);
  return c.length > n ? `${c.slice(0, n - 1).join('')}…` : s;
}

/** Builds the writer the engine calls. */
/** A result back from its JSON line (resultToJsonLine): for the formats that are not JSON lines. */
function resultFromJsonLine(json: string): CheckResult {
  const r: unknown = JSON.parse(json);
  if (!looksLikeResult(r)) throw evError('EV_ERR_INTERNAL', 'a result line is not a check result');
  return r;
}

/** The fields the CSV and table rows read are there (the line came from resultToJsonLine). */
function looksLikeResult(r: unknown): r is CheckResult {
  return (
    typeof r === 'object' &&
    r !== null &&
    'address' in r &&
    typeof r.address === 'string' &&
    'verdict' in r &&
    typeof r.verdict === 'string' &&
    'reasons' in r &&
    Array.isArray(r.reasons) &&
    'checks' in r &&
    typeof r.checks === 'object'
  );
}

export function createResultWriter(
  options: ResultWriterOptions,
): ResultWriter & { close(): void; writeJsonLine(json: string): void } {
  let buf = '';
  const cols = tableColumns(options.wide ? null : options.width);
  const addressCell = (a: string): string =>
    options.wide && a.length >= cols.address ? `${a} ` : pad(a, cols.address);
  if (options.header) {
    if (options.format === 'csv') buf += `${CSV_COLUMNS.join(',')}\n`;
    else if (options.format === 'table')
      buf += `${pad('VERDICT', 8)} ${pad('ADDRESS', cols.address)} REASONS\n`;
  }
  const paint = (v: string): string => {
    if (!options.color) return pad(v, 8);
    const code = v === 'valid' ? 32 : v === 'invalid' ? 31 : v === 'risky' ? 33 : 90;
    return `\u001b[${code}m${pad(v, 8)}\u001b[0m`;
  };
  const line =
    options.format === 'jsonl'
      ? resultToJsonLine
      : options.format === 'csv'
        ? (r: CheckResult): string => `${csvRow(r)}\n`
        : (r: CheckResult): string => {
            const extra = r.checks.lists?.suggestion
              ? ` (did you mean @${r.checks.lists.suggestion}?)`
              : '';
            // The address is input as written: control characters must not drive the terminal or split the row.
            return `${paint(r.verdict)} ${addressCell(terminalLine(r.address))} ${cutTo(`${r.reasons.join(', ')}${extra}`, cols.reasons)}\n`;
          };
  const out = (): void => {
    if (buf.length > 0) {
      options.sink.write(buf);
      buf = '';
    }
  };
  const write = (r: CheckResult): void => {
    buf += line(r);
    if (buf.length >= OUTPUT_CHUNK_CHARS) out();
  };
  return {
    write,
    writeJsonLine(json: string): void {
      if (options.format !== 'jsonl') {
        write(resultFromJsonLine(json));
        return;
      }
      buf += json;
      if (buf.length >= OUTPUT_CHUNK_CHARS) out();
    },
    flush(): Promise<number> {
      out();
      if (options.durable) options.sink.sync();
      return Promise.resolve(options.sink.bytes);
    },
    close(): void {
      out();
      options.sink.close();
    },
  };
}
