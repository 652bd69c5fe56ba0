/**
 * Hostile address lines and CSV for `check`. Invariants: syntax and list
 * checks never throw; an address that is not `invalid` has a `normalized`
 * form that fits the RFC 5321 envelope grammar and makes a command-safe
 * `RCPT TO:<…>`; an invalid one has an empty `normalized`; the fast path and
 * the full scanner agree; a line that was not UTF-8 is refused
 * (err_invalid_utf8); the readers fail only with EV_ERR_INPUT_INVALID; line
 * mode and CSV mode read the same simple records alike.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEmailValidateError } from '../../src/errors.ts';
import { diagnose, diagnoseSlow } from '../../src/address/syntax.ts';
import { isCommandSafe, isEnvelopeMailbox } from '../../src/address/envelope.ts';
import { createLists } from '../../src/address/lists.ts';
import { checkOffline, createOfflineContext } from '../../src/check/pipeline.ts';
import { readInputs } from '../../plugin/lib/check/input.ts';
import { loop, rng, type Rng } from './check-rng.ts';

export const name = 'check-input';

const MAX_CASES = 1_000_000;
/** Every this many address cases, one file goes through the readers (slower: real files). */
const FILE_EVERY = 200;

const PIECES = [
  'a',
  'Z',
  '0',
  '.',
  '..',
  '@',
  '@@',
  '"',
  '\\',
  '(',
  ')',
  '[',
  ']',
  ':',
  '::',
  'IPv6:',
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n ',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\ud800',
  '\udc00',
  'é',
  '用户',
  '😀',
  'xn--',
  '-',
  '_',
  '+',
  '=',
  '<',
  '>',
  ',',
  ';',
  'RSET',
  'DATA',
  'example.com',
  'gmail.com',
  '255.255.255.255',
  '1111:2222::3333',
  '%',
  '!',
  '#',
  '~',
  '{',
  '}',
];

function address(r: Rng): string {
  const n = 1 + r.int(14);
  let s = '';
  for (let i = 0; i < n; i++)
    s += r.chance(0.15) ? String.fromCharCode(r.int(0x250)) : r.pick(PIECES);
  if (r.chance(0.5) && !s.includes('@'))
    s += `@${r.pick(['example.com', 'x', '[1.2.3.4]', '[IPv6:::1]', 'bücher.de', 'a..b', '-x.com'])}`;
  if (r.chance(0.05)) s = s.repeat(1 + r.int(200));
  return s;
}

const offline = createOfflineContext(createLists());

/** Checks one address; returns what is wrong, or null. */
export function checkAddressInvariants(a: string): string | null {
  const fast = diagnose(a);
  const slow = diagnoseSlow(a);
  if (JSON.stringify(fast) !== JSON.stringify(slow))
    return `fast path and scanner disagree on ${JSON.stringify(a)}: ${fast.diagnosis} vs ${slow.diagnosis}`;
  const r = checkOffline(a, 1, offline);
  if (r.verdict === 'invalid' && r.checks.syntax.category === 'invalid') {
    if (r.normalized !== '')
      return `invalid ${JSON.stringify(a)} has normalized ${JSON.stringify(r.normalized)}`;
    return null;
  }
  if (!isEnvelopeMailbox(r.normalized))
    return `${JSON.stringify(a)} is ${r.verdict} but normalized ${JSON.stringify(r.normalized)} is not an envelope mailbox`;
  if (!isCommandSafe(`RCPT TO:<${r.normalized}>`))
    return `${JSON.stringify(a)}: RCPT TO would carry a control character`;
  if (
    a.includes('\ufffd') ||
    /[\ud800-\udfff]/.test(a.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))
  )
    return `${JSON.stringify(a)} holds undecodable text but is ${r.verdict}`;
  return null;
}

async function collect(paths: string[], column: string | null): Promise<string[] | string> {
  const out: string[] = [];
  try {
    for await (const b of readInputs({ paths, column })) out.push(...b.values);
  } catch (err) {
    if (isEmailValidateError(err) && err.code === 'EV_ERR_INPUT_INVALID')
      return `refused: ${err.message}`;
    throw err;
  }
  return out;
}

async function fileCase(r: Rng, dir: string, n: number): Promise<string | null> {
  // Lines of random bytes, some invalid UTF-8, some plain.
  const lines: Buffer[] = [];
  const count = 1 + r.int(30);
  for (let i = 0; i < count; i++) {
    if (r.chance(0.5)) lines.push(Buffer.from(`u${i}@d${r.int(5)}.test`));
    else {
      const bytes = Buffer.alloc(1 + r.int(24));
      for (let k = 0; k < bytes.length; k++)
        bytes[k] = r.chance(0.7)
          ? 0x61 + r.int(26)
          : r.pick([
              0x40, 0x2e, 0xff, 0xfe, 0xc3, 0x80, 0xe2, 0x22, 0x2c, 0x0d, 0x09, 0x20, 0xed, 0xa0,
            ]);
      lines.push(bytes);
    }
  }
  const body = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  const txt = join(dir, `in-${n}.txt`);
  writeFileSync(txt, body);
  const got = await collect([txt], null);
  if (typeof got === 'string') return null; // refused as a whole file (e.g. too long): allowed
  for (const v of got) {
    const f = checkAddressInvariants(v);
    if (f !== null) return `line mode: ${f}`;
    const hadBadBytes =
      !Buffer.from(v, 'utf8').equals(
        Buffer.from(Buffer.from(v, 'utf8').toString('utf8'), 'utf8'),
      ) || v.includes('\ufffd');
    if (
      hadBadBytes &&
      diagnose(v).diagnosis !== 'err_invalid_utf8' &&
      diagnose(v).category !== 'invalid'
    )
      return `line mode: undecodable ${JSON.stringify(v)} not refused`;
  }
  // The same simple records (no quote, comma or CR) read alike as CSV.
  const simple = lines.filter((l) => !l.includes(0x22) && !l.includes(0x2c) && !l.includes(0x0d));
  const csv = join(dir, `in-${n}.csv`);
  writeFileSync(
    csv,
    Buffer.concat([Buffer.from('email\n'), ...simple.flatMap((l) => [l, Buffer.from('\n')])]),
  );
  const viaCsv = await collect([csv], 'email');
  const viaLines = await collect([csv], null);
  if (typeof viaCsv === 'string' || typeof viaLines === 'string')
    return `simple records refused: ${String(viaCsv)} ${String(viaLines)}`;
  if (JSON.stringify(viaCsv) !== JSON.stringify(viaLines.slice(1)))
    return `CSV and line mode differ: ${JSON.stringify(viaCsv).slice(0, 200)} vs ${JSON.stringify(viaLines.slice(1)).slice(0, 200)}`;
  return null;
}

export async function fuzz(opts: {
  seed: number;
  seconds: number;
  log: (line: string) => void;
}): Promise<{ cases: number; failures: string[] }> {
  const r = rng(opts.seed);
  const dir = mkdtempSync(join(tmpdir(), 'ev-fuzz-input-'));
  try {
    return await loop({ ...opts, name, maxCases: MAX_CASES }, (n) =>
      n % FILE_EVERY === FILE_EVERY - 1 ? fileCase(r, dir, n) : checkAddressInvariants(address(r)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
