/**
 * Flow files, mutated and broken. Invariant: parseFlow either returns a flow
 * or throws EV_ERR_FLOW_INVALID / EV_ERR_FLOW_TEMPLATE whose problems each
 * name file:line:col; never anything else, never a hang (each case is timed),
 * and the error stays bounded (problem count and message length).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { isEmailValidateError } from '../../src/errors.ts';
import { MAX_REPORTED_PROBLEMS, parseFlow } from '../../src/flow/parse.ts';
import { MAX_FLOW_FILE_BYTES } from '../../src/flow/yaml-source.ts';
import { loop, rng, type Rng } from './check-rng.ts';

export const name = 'flow';

/**
 * One case may take this long: a 1 MiB file parses in well under a second on
 * an idle machine; the margin keeps a loaded CI machine from failing, while a
 * backtracking regex (seconds for a few thousand characters) still shows.
 */
const CASE_BUDGET_MS = 10_000;
/** Longest error message accepted: the first problem plus a count. */
const MAX_MESSAGE_CHARS = 4096;
const MAX_CASES = 100_000;

const EXAMPLES = new URL('../../examples/', import.meta.url);
const BASE = `apiVersion: email-validate.dev/v1
kind: EmailFlow
metadata: { name: base }
defaults: { timeout: 5s, from: "app@{{env.DOMAIN}}" }
steps:
  - name: send
    send: { to: "u+{{run.id}}@x.test", subject: "Hi {{index}}", count: 2 }
  - expect: { to: "/^u\\\\+.*@x\\\\.test$/", subject: Hi, headers: { X-A: b } }
  - expectNone: { subject: spam }
  - http: { url: "http://127.0.0.1:1/hook", method: POST, json: { a: "{{run.id}}" }, status: 200 }
`;

export function seeds(): string[] {
  const out = [BASE];
  try {
    for (const f of readdirSync(EXAMPLES))
      if (f.endsWith('.yaml')) out.push(readFileSync(new URL(f, EXAMPLES), 'utf8'));
  } catch {
    /* examples are optional */
  }
  return out;
}

const TOKENS = [
  '{{',
  '}}',
  '{{run.id}}',
  '{{nope}}',
  '{{ env.X }}',
  '&a ',
  '*a',
  '<<: *a',
  '[',
  ']',
  '{',
  '}',
  ': ',
  '- ',
  '? ',
  '|',
  '>',
  '"',
  "'",
  '#',
  '!!binary ',
  '!tag ',
  '%YAML 1.2\n',
  '---\n',
  '...\n',
  '\t',
  '\r',
  '\u0000',
  '\u0085',
  '\ufeff',
  '/(a+)+$/',
  '\\',
  '\n',
  '  ',
  'steps:',
  'timeout: 1ms',
  'count: 99999999999',
];

export function mutate(r: Rng, src: string): string {
  let s = src;
  const rounds = 1 + r.int(6);
  for (let k = 0; k < rounds; k++) {
    const at = r.int(s.length + 1);
    switch (r.int(11)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + r.int(20));
        break; // delete
      case 1:
        s = s.slice(0, at) + r.pick(TOKENS) + s.slice(at);
        break; // insert a YAML-significant token
      case 2:
        s = s.slice(0, at) + String.fromCharCode(r.int(0x110)) + s.slice(at + 1);
        break; // replace a char
      case 3: {
        // duplicate a line many times
        const lines = s.split('\n');
        const i = r.int(lines.length);
        lines.splice(i, 0, ...Array.from({ length: 1 + r.int(300) }, () => lines[i]));
        s = lines.join('\n');
        break;
      }
      case 4: {
        // re-indent a line
        const lines = s.split('\n');
        const i = r.int(lines.length);
        lines[i] = ' '.repeat(r.int(12)) + lines[i].trimStart();
        s = lines.join('\n');
        break;
      }
      case 5: {
        // deep nesting
        const d = r.pick([10, 63, 65, 200, 5000, 60_000]);
        const open = r.chance(0.5) ? '[' : '{a: ';
        const close = open === '[' ? ']' : '}';
        s = `${s.slice(0, at)}${open.repeat(d)}1${close.repeat(d)}${s.slice(at)}`;
        break;
      }
      case 6: {
        // alias bomb
        const n = r.pick([50, 101, 1000, 5001]);
        s += `\nx: &a [1, 2, 3]\nsteps:\n${Array.from({ length: n }, () => '  - send: *a').join('\n')}\n`;
        break;
      }
      case 7: {
        // a long template-ish run
        const n = r.pick([100, 5000, 100_000]);
        s =
          `${s.slice(0, at)}{{${r.pick([' ', 'a', '{', '}'])}`.repeat(1) +
          r.pick([' ', 'x', '{{']).repeat(n) +
          s.slice(at);
        break;
      }
      case 8:
        s = s.slice(0, at);
        break; // truncate
      case 9: {
        // swap two lines
        const lines = s.split('\n');
        const i = r.int(lines.length);
        const j = r.int(lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        s = lines.join('\n');
        break;
      }
      default: {
        // many steps
        s += `\n${Array.from({ length: r.pick([10, 501, 3000]) }, (_, i) => `  - bogus${i}: 1`).join('\n')}\n`;
      }
    }
    if (s.length > MAX_FLOW_FILE_BYTES * 1.2) s = s.slice(0, MAX_FLOW_FILE_BYTES * 1.2);
  }
  return s;
}

/** Checks one source; returns what is wrong, or null. */
export function checkFlowSource(source: string, file = 'fuzz.yaml'): string | null {
  const t = Date.now();
  try {
    parseFlow(source, file);
  } catch (err) {
    const ms = Date.now() - t;
    if (ms > CASE_BUDGET_MS) return `took ${ms} ms`;
    if (!isEmailValidateError(err))
      return `threw a non-catalog error: ${String((err as Error)?.stack ?? err)
        .split('\n')
        .slice(0, 2)
        .join(' | ')}`;
    if (err.code !== 'EV_ERR_FLOW_INVALID' && err.code !== 'EV_ERR_FLOW_TEMPLATE')
      return `threw ${err.code}: ${err.message.slice(0, 200)}`;
    const problems = (err.details?.problems ?? []) as Array<{ text: string }>;
    if (problems.length === 0) return 'an error without problems';
    if (problems.length > MAX_REPORTED_PROBLEMS) return `${problems.length} problems listed`;
    const bad = problems.find(
      (p) => !p.text.startsWith(`${file}:`) || !/^[^:]+:\d+:\d+: /.test(p.text),
    );
    if (bad) return `a problem without file:line:col: ${bad.text.slice(0, 200)}`;
    if (err.message.length > MAX_MESSAGE_CHARS)
      return `message of ${err.message.length} characters`;
    if (/call stack|RangeError|undefined|\[object Object\]/.test(err.message))
      return `unclear message: ${err.message.slice(0, 200)}`;
    return null;
  }
  const ms = Date.now() - t;
  return ms > CASE_BUDGET_MS ? `took ${ms} ms` : null;
}

export async function fuzz(opts: {
  seed: number;
  seconds: number;
  log: (line: string) => void;
}): Promise<{ cases: number; failures: string[] }> {
  const r = rng(opts.seed);
  const base = seeds();
  return loop({ ...opts, name, maxCases: MAX_CASES }, () =>
    checkFlowSource(mutate(r, r.pick(base))),
  );
}
