/**
 * Damaged `--state` files. A real run writes a journal (with DNS results
 * from an in-memory resolver, so result lines are in it too); each case
 * damages a copy (torn tail, flipped or deleted bytes, lines removed,
 * repeated, swapped, garbage inserted, fields edited and even re-sealed with
 * a valid checksum) and resumes. Invariant: the resume answers
 * EV_ERR_STATE_INVALID, or finishes with exactly the output of an
 * uninterrupted run; never another error. Re-sealed edits are checked at the
 * decoder only (a forger who recomputes checksums can fake a valid state;
 * validation must still never crash on it).
 */

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEmailValidateError } from '../../src/errors.ts';
import { FakeClock } from '../support/fake-clock.ts';
import type { DnsResolver } from '../../src/address/dns.ts';
import { StateChain, decodeState } from '../../src/check/state.ts';
import { runCheckCommand, type CheckOptions } from '../../plugin/lib/check/run-check-command.ts';
import { loop, rng, type Rng } from './check-rng.ts';

export const name = 'check-state';

const MAX_CASES = 100_000;
const ADDRESSES = 120;

/** Answers from memory, at once: every domain has one MX on a documentation address. */
const resolver: DnsResolver = {
  resolveMx: async (n) =>
    n.startsWith('nx')
      ? Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))
      : [{ exchange: `mx.${n}`, priority: 10 }],
  resolve4: async (n) =>
    n.startsWith('mx.')
      ? ['192.0.2.10']
      : Promise.reject(Object.assign(new Error('no'), { code: 'ENODATA' })),
  resolve6: async () => Promise.reject(Object.assign(new Error('no'), { code: 'ENODATA' })),
};

function options(dir: string, state: string, out: string): CheckOptions {
  return {
    paths: [join(dir, 'in.txt')],
    column: null,
    format: 'jsonl',
    out,
    state,
    offline: false,
    dnsTimeoutMs: 1000,
    dnsTries: 1,
    smtpProbe: false,
    mailFrom: '',
    smtpPort: 25,
    allowPrivateMx: true,
    greylistRetries: 1,
    greylistDelayMs: 1,
    greylistMaxMs: 1,
    smtpTimeoutMs: 1000,
    concurrency: 4,
    rate: null,
    domainConcurrency: 1,
    domainRate: 1000,
    mxConcurrency: 5,
    mxRate: 1000,
    failOn: [],
    progress: false,
    color: false,
    checkpointEveryMs: 0,
  };
}

const sink = { write: () => true } as unknown as NodeJS.WriteStream;
async function run(o: CheckOptions): Promise<void> {
  await runCheckCommand(o, {
    stdoutFd: 1,
    stderr: sink,
    env: {},
    clock: new FakeClock(),
    resolver,
  });
}

function damage(r: Rng, text: string): { text: string; forged: boolean } {
  const lines = text.split('\n');
  const body = lines.slice(0, -1);
  switch (r.int(10)) {
    case 0:
      return { text: text.slice(0, r.int(text.length)), forged: false }; // torn anywhere
    case 1: {
      // truncate at a line boundary: a valid, older journal
      return { text: `${body.slice(0, 1 + r.int(body.length)).join('\n')}\n`, forged: false };
    }
    case 2: {
      // flip a byte
      const b = Buffer.from(text);
      const i = r.int(b.length);
      b[i] ^= 1 << r.int(8);
      return { text: b.toString('latin1'), forged: false };
    }
    case 3: {
      const i = 1 + r.int(Math.max(1, body.length - 1));
      body.splice(i, 1);
      return { text: `${body.join('\n')}\n`, forged: false };
    }
    case 4: {
      const i = r.int(body.length);
      body.splice(i, 0, body[i]);
      return { text: `${body.join('\n')}\n`, forged: false };
    }
    case 5: {
      const i = r.int(body.length);
      const j = r.int(body.length);
      [body[i], body[j]] = [body[j], body[i]];
      return { text: `${body.join('\n')}\n`, forged: false };
    }
    case 6: {
      body.splice(
        r.int(body.length + 1),
        0,
        r.pick(['', 'garbage', '{}', '{"cp":null}\t0000000000000000', '\u0000\u0001', '{"r":{}}']),
      );
      return { text: `${body.join('\n')}\n`, forged: false };
    }
    default: {
      // edit a field and re-seal the whole chain: only validation can object
      const chain = new StateChain();
      const edited = body.map((l, n) => {
        const json = l.slice(0, l.lastIndexOf('\t'));
        if (n === 0 || !r.chance(0.3)) return chain.seal(json);
        let o: Record<string, any>;
        try {
          o = JSON.parse(json) as Record<string, any>;
        } catch {
          return chain.seal(json);
        }
        const target = o.cp ?? o.r?.checks?.syntax ?? o.r ?? o;
        const keys = Object.keys(target);
        const k = keys[r.int(keys.length)];
        target[k] = r.pick([null, -1, 1.5, '7', [], {}, 2 ** 60, 'valid', true, undefined]);
        return chain.seal(JSON.stringify(o));
      });
      return { text: edited.join(''), forged: true };
    }
  }
}

export async function fuzz(opts: {
  seed: number;
  seconds: number;
  log: (line: string) => void;
}): Promise<{ cases: number; failures: string[] }> {
  const r = rng(opts.seed);
  const dir = mkdtempSync(join(tmpdir(), 'ev-fuzz-state-'));
  try {
    writeFileSync(
      join(dir, 'in.txt'),
      `${Array.from({ length: ADDRESSES }, (_, i) => (i % 11 === 0 ? `dup@d1.test` : i % 13 === 0 ? `u${i}@nx${i}.test` : `u${i}@d${i % 40}.test`)).join('\n')}\n`,
    );
    const refOut = join(dir, 'ref.jsonl');
    await run({ ...options(dir, null as unknown as string, refOut), state: null });
    const reference = readFileSync(refOut, 'utf8');
    // A finished journal with a checkpoint after every record and every result line.
    // (The state fingerprint names the output file, so every case resumes into the same path.)
    const goodState = join(dir, 'good.state');
    const out = join(dir, 'work.jsonl');
    const goodOut = join(dir, 'good.jsonl');
    await run(options(dir, goodState, out));
    copyFileSync(out, goodOut);
    const good = readFileSync(goodState, 'utf8');
    let resumed = 0;

    const result = await loop({ ...opts, name, maxCases: MAX_CASES }, async (n) => {
      const d = damage(r, good);
      if (d.forged) {
        // A re-sealed edit may pass as a valid state; it must still never make anything throw but the catalog error.
        try {
          decodeState(d.text, 'fuzz.state');
        } catch (err) {
          if (!isEmailValidateError(err) || err.code !== 'EV_ERR_STATE_INVALID')
            return `forged state: decoder threw ${String((err as Error)?.stack ?? err)
              .split('\n')
              .slice(0, 2)
              .join(' | ')}`;
          return null;
        }
      }
      const state = join(dir, `s${n}.state`);
      writeFileSync(state, d.text, 'latin1');
      copyFileSync(goodOut, out);
      try {
        // One checkpoint at the end only (the fake clock stands still): no fsync per record.
        await run({ ...options(dir, state, out), checkpointEveryMs: 60_000 });
      } catch (err) {
        if (isEmailValidateError(err) && err.code === 'EV_ERR_STATE_INVALID') return null;
        return `resume${d.forged ? ' of a forged state' : ''} threw ${isEmailValidateError(err) ? err.code : ''} ${String(
          (err as Error)?.stack ?? err,
        )
          .split('\n')
          .slice(0, 2)
          .join(' | ')}`;
      } finally {
        rmSync(state, { force: true });
      }
      const got = readFileSync(out, 'utf8');
      rmSync(out, { force: true });
      if (d.forged) return null; // a forger with the checksum scheme can fake any state; only crashes count
      if (got === reference) resumed++;
      return got === reference
        ? null
        : `resumed output differs from an uninterrupted run (${got.length} vs ${reference.length} bytes)`;
    });
    // A fuzzer that only ever sees refusals proves nothing about resumes.
    if (result.cases >= 50 && resumed === 0)
      result.failures.push(
        `${name} seed ${opts.seed}: no damaged state ever resumed (every case was refused)`,
      );
    opts.log(
      `${name}: ${resumed} of ${result.cases} damaged states resumed to the exact output, the rest were refused or forged`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
