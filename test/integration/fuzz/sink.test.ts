/**
 * The sink's fuzzers (test/fuzz/*.fuzz.ts), each for a short fixed-seed run
 * inside `npm test`: the same cases every time, so a failure here is a
 * regression to replay with `npm run fuzz -- --seed 20261206 NAME`.
 * Longer, random-seed runs: `npm run fuzz -- --seconds 60`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FUZZ_DIR, loadFuzzers, runFuzzer } from '../../fuzz/run.ts';

const SEED = 20261206;
/** Seconds per fuzzer here; a few seconds in all keeps `npm test` quick. */
const SECONDS = 1;
const SINK_FUZZERS = ['smtp', 'mime', 'api', 'feed'];

describe('fuzz: the sink (short fixed-seed run)', function () {
  this.timeout(60_000);

  for (const name of SINK_FUZZERS) {
    it(`${name}: no invariant broken (seed ${SEED}, ${SECONDS} s)`, async () => {
      const mod = (await loadFuzzers(join(FUZZ_DIR))).find((m) => m.name === name);
      assert.ok(mod, `fuzzer ${name} exists in test/fuzz`);
      const lines: string[] = [];
      const r = await runFuzzer(mod, SEED, SECONDS, (line) => lines.push(line));
      assert.deepEqual(
        r.failures,
        [],
        `replay: npm run fuzz -- --seed ${SEED} ${name}\n${lines.join('\n')}`,
      );
      assert.ok(r.cases > 0, 'ran at least one case');
    });
  }
});
