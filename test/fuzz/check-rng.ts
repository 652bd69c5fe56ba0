/**
 * The check and flow fuzzers' case loop, on the shared seeded PRNG and budget
 * (prng.ts): the same seed gives the same cases, so a failure printed with its
 * seed and case number can be replayed.
 */

import { FuzzBudget, Prng } from './prng.ts';

/** The fuzzers' one seeded PRNG (test/fuzz/prng.ts). */
export type Rng = Prng;
export const rng = (seed: number): Rng => new Prng(seed);

/** Runs `one(caseNumber)` until the time or the case budget is spent; collects failures (at most `maxFailures`). */
export async function loop(
  o: {
    seconds: number;
    maxCases: number;
    maxFailures?: number;
    log: (line: string) => void;
    name: string;
    seed: number;
  },
  one: (n: number) => Promise<string | null> | string | null,
): Promise<{ cases: number; failures: string[] }> {
  const budget = new FuzzBudget(o.seconds, o.maxCases);
  const failures: string[] = [];
  while (failures.length < (o.maxFailures ?? 20) && budget.more()) {
    const n = budget.cases - 1;
    let f: string | null;
    try {
      f = await one(n);
    } catch (err) {
      f = `threw ${(err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}`;
    }
    if (f !== null) {
      const line = `${o.name} seed ${o.seed} case ${n}: ${f}`;
      failures.push(line);
      o.log(line);
    }
  }
  return { cases: budget.cases, failures };
}
