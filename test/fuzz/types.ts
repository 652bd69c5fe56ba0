/**
 * The interface every `test/fuzz/*.fuzz.ts` module implements (the runner
 * test/fuzz/run.ts discovers them by file name):
 *
 *   export const name: string;
 *   export async function fuzz(opts: FuzzOptions): Promise<FuzzResult>;
 *
 * A fuzzer is seeded (same seed, same cases), bounded in time (`seconds`) and
 * in case count, starts whatever it attacks itself (a real sink on 127.0.0.1
 * port 0 where relevant) and stops it before returning. A failure is one line
 * that says which case broke which invariant, with enough to replay it.
 */
export interface FuzzOptions {
  seed: number;
  seconds: number;
  log: (line: string) => void;
}

export interface FuzzResult {
  cases: number;
  failures: string[];
}

export interface FuzzModule {
  name: string;
  fuzz(opts: FuzzOptions): Promise<FuzzResult>;
}
