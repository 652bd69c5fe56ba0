import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { diagnose, type SyntaxCategory } from '../../../../src/address/syntax.ts';

interface SuiteCase {
  suite: 'sayers' | 'hapi';
  id: number;
  address: string;
  category: SyntaxCategory;
  diagnosis: string;
}
interface Deviation {
  suite: string;
  id: number;
  ours: SyntaxCategory;
  why: string;
}
const corpus = JSON.parse(
  readFileSync(
    new URL('../../../fixtures/addresses/is-email-suites.json', import.meta.url),
    'utf8',
  ),
) as { cases: SuiteCase[]; deviations: Deviation[] };
const deviation = new Map(corpus.deviations.map((d) => [`${d.suite}#${d.id}`, d]));

/** The reader trims space, tab and CR around a record; such cases never reach diagnose() as written. */
const trimmedByReader = (a: string): boolean => /^[ \t\r]|[ \t\r]$/.test(a);

function figures(suite: string): { cases: SuiteCase[]; title: string } {
  const cases = corpus.cases.filter((c) => c.suite === suite);
  const hits = cases.filter((c) => diagnose(c.address).category === c.category).length;
  const kept = cases.filter((c) => !trimmedByReader(c.address));
  const keptHits = kept.filter((c) => diagnose(c.address).category === c.category).length;
  const devs = cases.filter((c) => deviation.has(`${c.suite}#${c.id}`)).length;
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
  return {
    cases,
    title: `${hits}/${cases.length} (${pct(hits, cases.length)}) agree; ${keptHits}/${kept.length} (${pct(keptHits, kept.length)}) of the cases the reader does not trim; the other ${cases.length - hits} are the ${devs} documented differences`,
  };
}

describe('address/syntax: accuracy against the is_email suites (category per case)', () => {
  for (const suite of ['sayers', 'hapi'] as const) {
    const f = figures(suite);
    it(`${suite}: ${f.title}`, () => {
      const wrong: string[] = [];
      for (const c of f.cases) {
        const d = deviation.get(`${c.suite}#${c.id}`);
        const want = d?.ours ?? c.category;
        const got = diagnose(c.address);
        if (got.category !== want)
          wrong.push(
            `#${c.id} ${JSON.stringify(c.address).slice(0, 70)}: want ${want} (${c.diagnosis}), got ${got.category} (${got.diagnosis})`,
          );
      }
      assert.deepEqual(wrong, []);
    });
  }

  it('every documented difference is a real difference (no stale entries)', () => {
    for (const d of corpus.deviations) {
      const c = corpus.cases.find((x) => x.suite === d.suite && x.id === d.id);
      assert.ok(c, `${d.suite}#${d.id} exists`);
      assert.notEqual(
        c.category,
        d.ours,
        `${d.suite}#${d.id} agrees with the suite now; drop the deviation`,
      );
    }
  });
});
