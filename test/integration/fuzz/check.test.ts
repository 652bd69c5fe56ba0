import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import * as flow from '../../fuzz/flow.fuzz.ts';
import * as checkInput from '../../fuzz/check-input.fuzz.ts';
import * as checkState from '../../fuzz/check-state.fuzz.ts';

/**
 * The check and flow fuzzers, each for a short fixed-seed run inside
 * `npm test` (`npm run fuzz -- --seconds N` runs them longer, with any seed).
 */
interface FuzzModule {
  name: string;
  fuzz(opts: {
    seed: number;
    seconds: number;
    log: (line: string) => void;
  }): Promise<{ cases: number; failures: string[] }>;
}

const RUNS: Array<{ mod: FuzzModule; seconds: number; minCases: number }> = [
  { mod: flow, seconds: 1, minCases: 5 },
  { mod: checkInput, seconds: 1, minCases: 1000 },
  { mod: checkState, seconds: 1.5, minCases: 5 },
];

describe('fuzz: flow files, check input and check state (short, fixed seed)', function () {
  this.timeout(60_000);
  for (const { mod, seconds, minCases } of RUNS) {
    it(`${mod.name}: no invariant broken`, async () => {
      const lines: string[] = [];
      const r = await mod.fuzz({ seed: 20261206, seconds, log: (l) => lines.push(l) });
      assert.deepEqual(r.failures, []);
      assert.ok(r.cases >= minCases, `only ${r.cases} cases ran`);
    });
  }
});
