/**
 * Runs the fuzzers: `npm run fuzz -- --seconds N [--seed S] [name…]`.
 *
 * Discovers every `test/fuzz/*.fuzz.ts` (see types.ts for the interface), runs
 * the named ones (all by default) one after the other, each for `--seconds`
 * (default 10) with the same seed (default: random, printed so that a failure
 * can be replayed), and exits 1 when any reported a failure or threw.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { FuzzModule, FuzzResult } from './types.ts';

export const FUZZ_DIR = import.meta.dirname;
/** Failure lines printed per fuzzer; the rest are counted (a broken invariant can fail every case). */
const MAX_PRINTED_FAILURES = 20;

/** Loads every fuzzer module, sorted by name; throws when one breaks the interface. */
export async function loadFuzzers(dir = FUZZ_DIR): Promise<FuzzModule[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.fuzz.ts'))
    .sort();
  const out: FuzzModule[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Partial<FuzzModule>;
    if (typeof mod.name !== 'string' || mod.name === '' || typeof mod.fuzz !== 'function') {
      throw new Error(
        `${file}: a fuzzer must export \`name: string\` and \`async function fuzz(opts)\``,
      );
    }
    if (out.some((m) => m.name === mod.name))
      throw new Error(`${file}: fuzzer name ${JSON.stringify(mod.name)} is used twice`);
    out.push({ name: mod.name, fuzz: mod.fuzz });
  }
  return out;
}

/** Runs one fuzzer; a throw is reported as a failure, never as a crash of the runner. */
export async function runFuzzer(
  mod: FuzzModule,
  seed: number,
  seconds: number,
  log: (line: string) => void,
): Promise<FuzzResult> {
  try {
    const r = await mod.fuzz({ seed, seconds, log: (line) => log(`[${mod.name}] ${line}`) });
    return { cases: r.cases, failures: [...r.failures] };
  } catch (err) {
    return { cases: 0, failures: [`threw: ${(err as Error)?.stack ?? String(err)}`] };
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { seconds: { type: 'string' }, seed: { type: 'string' }, list: { type: 'boolean' } },
  });
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    process.stderr.write(
      `--seconds must be a positive number, got ${JSON.stringify(values.seconds)}\n`,
    );
    return 2;
  }
  const seed =
    values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    process.stderr.write(
      `--seed must be a non-negative integer, got ${JSON.stringify(values.seed)}\n`,
    );
    return 2;
  }
  const all = await loadFuzzers();
  if (values.list) {
    for (const m of all) process.stdout.write(`${m.name}\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !all.some((m) => m.name === p));
  if (unknown.length) {
    process.stderr.write(
      `unknown fuzzer(s): ${unknown.join(', ')}; known: ${all.map((m) => m.name).join(', ')}\n`,
    );
    return 2;
  }
  const chosen = positionals.length ? all.filter((m) => positionals.includes(m.name)) : all;
  process.stderr.write(
    `fuzz: seed ${seed}, ${seconds} s each, ${chosen.map((m) => m.name).join(' ')}\n`,
  );
  let failed = 0;
  for (const mod of chosen) {
    const started = Date.now();
    const r = await runFuzzer(mod, seed, seconds, (line) => process.stderr.write(`${line}\n`));
    const took = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `${r.failures.length ? 'FAIL' : 'ok  '} ${mod.name}: ${r.cases} cases in ${took} s, ${r.failures.length} failures\n`,
    );
    for (const f of r.failures.slice(0, MAX_PRINTED_FAILURES)) process.stdout.write(`  - ${f}\n`);
    if (r.failures.length > MAX_PRINTED_FAILURES)
      process.stdout.write(`  … ${r.failures.length - MAX_PRINTED_FAILURES} more\n`);
    if (r.failures.length) failed++;
  }
  if (failed)
    process.stdout.write(
      `replay: npm run fuzz -- --seconds ${seconds} --seed ${seed} ${chosen.map((m) => m.name).join(' ')}\n`,
    );
  return failed ? 1 : 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fuzz: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(3);
    },
  );
}
