import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REASONS } from '../../../../src/check/reasons.ts';
import { DIAGNOSES } from '../../../../src/address/syntax.ts';

const section = readFileSync(new URL('../../../../docs/checks.md', import.meta.url), 'utf8');

describe('check: docs/checks.md documents the stable codes', () => {
  it('has the checks page', () => assert.ok(section.length > 1000));

  it('lists every reason code with its verdict', () => {
    for (const [code, spec] of Object.entries(REASONS)) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      assert.ok(row, `reason ${code} missing from the docs/checks.md table`);
      const verdict = spec.effect === 'info' ? '—' : spec.effect;
      assert.ok(row.includes(`| ${verdict} |`), `reason ${code} should say ${verdict}: ${row}`);
    }
  });

  it('lists every syntax diagnosis code', () => {
    for (const code of Object.keys(DIAGNOSES))
      assert.ok(section.includes(`\`${code}\``), `diagnosis ${code} missing from docs/checks.md`);
  });
});
