/**
 * Streaming input readers for `check`: one address per line, or a CSV column.
 * Files are read in large chunks from a byte offset (for resume), split on
 * '\n' without per-line regexes, and yielded as batches with the byte offset
 * after each record. Memory is one chunk plus one partial record.
 */

import { open } from 'node:fs/promises';
import { isAscii } from 'node:buffer';
import type { Readable } from 'node:stream';
import { evError } from '../../../src/errors.ts';
import type { InputBatch } from '../../../src/check/engine.ts';
import { codeOrMessage, errorCode } from '../../../src/guards.ts';

/** Bytes read per chunk: large reads keep syscalls off the hot path. */
export const READ_CHUNK_BYTES = 1 << 20;
/** Longest input record accepted: an address is at most 254 octets; anything this long is not an address list. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Records per batch handed to the engine: small enough that they are collected young. */
export const BATCH_RECORDS = 1024;

export interface InputSpec {
  /** Paths; '-' is standard input. */
  paths: string[];
  /** CSV column name (header row required), or null for one address per line. */
  column: string | null;
  /** Resume point: file index and byte offset (files before it are skipped). */
  startFile?: number;
  startOffset?: number;
  /** Stop point (exclusive), used to replay the prefix already checked. */
  stopFile?: number;
  stopOffset?: number;
}

/** Bytes consumed so far, for the progress bar. */
export interface ReadProgress {
  bytes: number;
}

/** Yields batches from every input in order. */
export async function* readInputs(
  spec: InputSpec,
  progress: ReadProgress = { bytes: 0 },
  stdin?: Readable,
): AsyncGenerator<InputBatch> {
  const startFile = spec.startFile ?? 0;
  for (let f = startFile; f < spec.paths.length; f++) {
    if (spec.stopFile !== undefined && f > spec.stopFile) return;
    const from = f === startFile ? (spec.startOffset ?? 0) : 0;
    const stop = spec.stopFile === f ? spec.stopOffset : undefined;
    const raw =
      spec.paths[f] === '-'
        ? streamChunks(stdin ?? process.stdin)
        : fileChunks(spec.paths[f], from, stop);
    const chunks = textOnly(raw, spec.paths[f] === '-' ? 'standard input' : spec.paths[f], from);
    const base = spec.paths[f] === '-' ? 0 : from;
    if (spec.column === null) yield* splitLines(chunks, f, base, progress, spec.paths[f]);
    else
      yield* splitCsv(
        chunks,
        f,
        base,
        from,
        spec.column,
        progress,
        spec.paths[f],
        spec.paths[f] === '-' ? null : spec.paths[f],
      );
  }
}

async function* fileChunks(path: string, from: number, stop?: number): AsyncGenerator<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw evError('EV_ERR_INPUT_INVALID', `cannot read ${path}: ${codeOrMessage(err)}`, {
      hint: 'check the path and permissions',
      cause: err,
    });
  }
  try {
    let pos = from;
    // One buffer, reused: consumers finish with a chunk (copying any partial
    // record) before asking for the next.
    const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (;;) {
      const want = stop === undefined ? READ_CHUNK_BYTES : Math.min(READ_CHUNK_BYTES, stop - pos);
      if (want <= 0) return;
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } catch (err) {
    if (errorCode(err)?.startsWith('EV_ERR_')) throw err;
    throw evError('EV_ERR_INPUT_INVALID', `cannot read ${path}: ${codeOrMessage(err)}`, {
      cause: err,
    });
  } finally {
    await fh.close();
  }
}

/**
 * Refuses input with a NUL byte: no text address list has one, so it is a
 * binary file (or UTF-16), and checking it would print garbage "addresses".
 * One memchr per chunk.
 */
async function* textOnly(
  chunks: AsyncIterable<Buffer>,
  name: string,
  from: number,
): AsyncGenerator<Buffer> {
  let pos = from;
  for await (const c of chunks) {
    const nul = c.indexOf(0);
    if (nul !== -1) {
      throw evError(
        'EV_ERR_INPUT_INVALID',
        `${name} is not a text file (a NUL byte at offset ${pos + nul})`,
        {
          hint: 'pass a text list (UTF-8, one address per line, or CSV with --column); convert UTF-16 files to UTF-8 first',
        },
      );
    }
    pos += c.length;
    yield c;
  }
}

async function* streamChunks(stream: Readable): AsyncGenerator<Buffer> {
  for await (const c of stream) yield typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
}

function tooLong(name: string, line: number): never {
  throw evError(
    'EV_ERR_INPUT_INVALID',
    `${name}: record ${line} is longer than ${MAX_RECORD_BYTES} bytes`,
    {
      hint: 'the input should hold one address per line (or CSV with --column); is this the right file?',
    },
  );
}

/**
 * The white space trimmed around a record, in line mode and CSV mode alike:
 * space, tab and CR only. Anything else (NBSP, zero-width, BOM inside a line)
 * stays and is judged by the syntax check, which flags it.
 */
function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function trimRecord(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && isWs(v.charCodeAt(a))) a++;
  while (b > a && isWs(v.charCodeAt(b - 1))) b--;
  return a === 0 && b === v.length ? v : v.slice(a, b);
}

/** One address per line: trims white space (and a CR), skips blank lines and a BOM. */
async function* splitLines(
  chunks: AsyncIterable<Buffer>,
  file: number,
  base: number,
  progress: ReadProgress,
  name: string,
): AsyncGenerator<InputBatch> {
  let carry: Buffer | null = null;
  let offset = base; // file offset of the start of `buf`
  let first = base === 0;
  let lines = 0;
  for await (const chunk of chunks) {
    progress.bytes += chunk.length;
    let buf = chunk;
    if (carry !== null) {
      buf = Buffer.concat([carry, chunk]);
      carry = null;
    }
    let start = 0;
    if (first) {
      first = false;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
    }
    const values: string[] = [];
    const ends: number[] = [];
    const last = buf.lastIndexOf(10);
    if (last === -1) {
      if (buf.length > MAX_RECORD_BYTES) tooLong(name, lines + 1);
      carry = Buffer.from(buf);
      continue;
    }
    // ASCII chunks decode once; string indexes then equal byte offsets.
    const ascii = isAscii(buf.subarray(start, last + 1));
    const text = ascii ? buf.toString('latin1', start, last + 1) : '';
    let pos = start;
    while (pos <= last) {
      const nl = buf.indexOf(10, pos);
      lines++;
      let a = pos;
      let b = nl;
      while (a < b && isWs(buf[a])) a++;
      while (b > a && isWs(buf[b - 1])) b--;
      if (b - a > MAX_RECORD_BYTES) tooLong(name, lines);
      if (b > a) {
        values.push(ascii ? text.slice(a - start, b - start) : buf.toString('utf8', a, b));
        ends.push(offset + nl + 1);
      }
      pos = nl + 1;
      if (values.length >= BATCH_RECORDS) {
        // Small batches: records die young instead of surviving into the old generation.
        yield { file, values: values.splice(0), ends: ends.splice(0) };
      }
    }
    if (last + 1 < buf.length) {
      carry = Buffer.from(buf.subarray(last + 1));
      if (carry.length > MAX_RECORD_BYTES) tooLong(name, lines + 1);
    }
    offset += last + 1;
    if (values.length > 0) yield { file, values, ends };
  }
  if (carry !== null) {
    let a = 0;
    let b = carry.length;
    while (a < b && isWs(carry[a])) a++;
    while (b > a && isWs(carry[b - 1])) b--;
    if (b > a)
      yield { file, values: [carry.toString('utf8', a, b)], ends: [offset + carry.length] };
  }
}

/**
 * RFC 4180 CSV (comma, double quotes, CRLF or LF), yielding the named
 * column. The header is always read from the start of the file; when resuming
 * at `resumeAt`, records before it are skipped without being yielded.
 */
async function* splitCsv(
  chunks: AsyncIterable<Buffer>,
  file: number,
  base: number,
  resumeAt: number,
  column: string,
  progress: ReadProgress,
  name: string,
  path: string | null,
): AsyncGenerator<InputBatch> {
  let col = -1;
  if (base > 0 && path !== null) {
    // Resuming: read the header from offset 0 first.
    const header = await readCsvHeader(path);
    col = findColumn(header, column, name);
  }
  let field: number[] = [];
  let fieldIndex = 0;
  let inQuotes = false;
  let quoteSeen = false;
  let afterQuote = false;
  let recordValue: string | null = null;
  let header: string[] | null = col === -1 ? [] : null;
  let offset = base;
  let records = 0;
  let recordBytes = 0;
  const endField = (): void => {
    const v = Buffer.from(field).toString('utf8');
    if (header !== null) header.push(v.trim());
    else if (fieldIndex === col) recordValue = trimRecord(v);
    field = [];
    fieldIndex++;
    quoteSeen = false;
  };
  let values: string[] = [];
  let ends: number[] = [];
  const endRecord = (end: number): void => {
    endField();
    records++;
    if (header !== null) {
      col = findColumn(header, column, name);
      header = null;
    } else if (recordValue !== null && recordValue !== '' && end > resumeAt) {
      values.push(recordValue);
      ends.push(end);
    }
    recordValue = null;
    fieldIndex = 0;
    recordBytes = 0;
  };
  let pendingCr = false;
  for await (const chunk of chunks) {
    progress.bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (++recordBytes > MAX_RECORD_BYTES) tooLong(name, records + 1);
      if (inQuotes) {
        if (c === 0x22) {
          inQuotes = false;
          afterQuote = true;
        } else if (fieldIndex === col || header !== null) field.push(c);
        continue;
      }
      if (afterQuote) {
        afterQuote = false;
        if (c === 0x22) {
          field.push(0x22);
          inQuotes = true;
          continue;
        } // "" is an escaped quote
      }
      if (pendingCr) {
        pendingCr = false;
        if (c === 10) {
          endRecord(offset + i + 1);
          continue;
        }
      }
      if (c === 0x22 && field.length === 0 && !quoteSeen) {
        inQuotes = true;
        quoteSeen = true;
      } else if (c === 0x2c) endField();
      else if (c === 10) endRecord(offset + i + 1);
      else if (c === 13) pendingCr = true;
      else if (fieldIndex === col || header !== null) field.push(c);
    }
    offset += chunk.length;
    if (values.length > 0) {
      yield { file, values, ends };
      values = [];
      ends = [];
    }
  }
  if (inQuotes)
    throw evError(
      'EV_ERR_INPUT_INVALID',
      `${name}: unterminated quoted field in record ${records + 1}`,
      { hint: 'close the quote, or check that the file is CSV' },
    );
  if (field.length > 0 || fieldIndex > 0) endRecord(offset);
  if (header !== null && records === 0)
    throw evError('EV_ERR_INPUT_INVALID', `${name}: the CSV file is empty (no header row)`, {
      hint: '--column needs a header row naming the columns',
    });
  if (values.length > 0) yield { file, values, ends };
}

async function readCsvHeader(path: string): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_RECORD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let text = buf.toString('utf8', 0, bytesRead);
    const nl = text.indexOf('\n');
    if (nl !== -1) text = text.slice(0, nl);
    return text
      .replace(/\r$/, '')
      .split(',')
      .map((h) => h.replace(/^"|"$/g, '').trim());
  } finally {
    await fh.close();
  }
}

function findColumn(header: string[], column: string, name: string): number {
  if (header.length > 0 && header[0].charCodeAt(0) === 0xfeff) header[0] = header[0].slice(1);
  const want = column.trim().toLowerCase();
  const i = header.findIndex((h) => h.toLowerCase() === want);
  if (i === -1)
    throw evError(
      'EV_ERR_INPUT_INVALID',
      `${name}: no column "${column}" in the header (${header.slice(0, 10).join(', ')})`,
      { hint: 'pass --column with one of the header names' },
    );
  return i;
}
