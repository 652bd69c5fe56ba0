/**
 * A small seeded PRNG (mulberry32) and pickers for the check and flow
 * fuzzers: the same seed gives the same cases, so a failure printed with its
 * seed and case number can be replayed.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

/** Runs `one(caseNumber)` until the time or the case budget is spent; collects failures (at most `maxFailures`). */
export async function loop(o: { seconds: number; maxCases: number; maxFailures?: number; log: (line: string) => void; name: string; seed: number }, one: (n: number) => Promise<string | null> | string | null): Promise<{ cases: number; failures: string[] }> {
  const until = Date.now() + o.seconds * 1000;
  const failures: string[] = [];
  let cases = 0;
  while (cases < o.maxCases && Date.now() < until && failures.length < (o.maxFailures ?? 20)) {
    const n = cases++;
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
  return { cases, failures };
}
