import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { isEmailValidateError, type EmailValidateError } from '../../../../src/errors.ts';
import {
  MAX_REPORTED_PROBLEMS,
  flowInvalid,
  parseFlow,
  type FlowProblem,
} from '../../../../src/flow/parse.ts';
import {
  MAX_FLOW_ALIAS_COUNT,
  MAX_FLOW_NESTING,
  MAX_FLOW_VALUES,
} from '../../../../src/flow/yaml-source.ts';
import { templateVariables } from '../../../../src/flow/template.ts';

const HEAD = 'apiVersion: email-validate.dev/v1\nkind: EmailFlow\n';

function rejection(source: string): EmailValidateError {
  try {
    parseFlow(source, 'flow.yaml');
  } catch (err) {
    assert.ok(isEmailValidateError(err), `not an EmailValidateError: ${String(err)}`);
    return err;
  }
  assert.fail('expected the flow to be rejected');
}

const problems = (e: EmailValidateError) =>
  e.details!.problems as Array<FlowProblem & { text: string }>;

describe('flow parsing: hostile files get short, clear errors', () => {
  it('5,001 aliases: one problem naming the limit, not thousands of lines', () => {
    const e = rejection(
      `${HEAD}x: &a { to: a@b.test }\nsteps:\n${Array.from({ length: 5001 }, () => '  - send: *a').join('\n')}\n`,
    );
    assert.equal(e.code, 'EV_ERR_FLOW_INVALID');
    const ps = problems(e);
    assert.ok(ps.length <= MAX_REPORTED_PROBLEMS, `${ps.length} problems listed`);
    assert.ok(
      ps.some((p) =>
        p.message.includes(`more than ${MAX_FLOW_ALIAS_COUNT} aliases (MAX_FLOW_ALIAS_COUNT)`),
      ),
    );
    assert.ok(e.message.length < 400, `message of ${e.message.length} characters`);
  });

  it('aliases multiplying a large list stop at a named bound on values', () => {
    const big = `[${Array.from({ length: 5000 }, () => '1').join(',')}]`;
    const e = rejection(
      `${HEAD}x: &a ${big}\nsteps:\n${Array.from({ length: 60 }, () => '  - send: { to: a@b.test, headers: *a }').join('\n')}\n`,
    );
    assert.ok(
      problems(e).some((p) => p.message.includes(`more than ${MAX_FLOW_VALUES} values`)),
      problems(e)
        .map((p) => p.text)
        .join('\n'),
    );
  });

  for (const [what, source] of [
    ['flow sequences', `${HEAD}steps: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
    ['flow mappings', `${HEAD}steps: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`],
    [
      'block sequences',
      `${HEAD}steps:\n${Array.from({ length: 1300 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`,
    ],
    [
      'just over the limit',
      `${HEAD}steps: ${'['.repeat(MAX_FLOW_NESTING + 2)}${']'.repeat(MAX_FLOW_NESTING + 2)}\n`,
    ],
  ] as const) {
    it(`deep nesting (${what}) is a flow error naming the depth limit, not a stack overflow`, () => {
      const e = rejection(source);
      assert.equal(e.code, 'EV_ERR_FLOW_INVALID');
      const text = problems(e)
        .map((p) => p.text)
        .join('\n');
      assert.match(
        text,
        new RegExp(`nested more than ${MAX_FLOW_NESTING} levels deep \\(MAX_FLOW_NESTING\\)`),
      );
      assert.doesNotMatch(text, /call stack/i);
      assert.match(problems(e)[0].text, /^flow\.yaml:\d+:\d+: /);
    });
  }

  it('an unknown template variable is EV_ERR_FLOW_TEMPLATE with file:line:col', () => {
    const e = rejection(`${HEAD}steps:\n  - send: { to: "{{nope.x}}@b.test" }\n`);
    assert.equal(e.code, 'EV_ERR_FLOW_TEMPLATE');
    assert.match(
      e.message,
      /^flow\.yaml:4:\d+: steps\[0\]\.send\.to: unknown template variable "\{\{nope\.x\}\}"/,
    );
  });

  it('a template problem beside another problem is EV_ERR_FLOW_INVALID listing both', () => {
    const e = rejection(`${HEAD}steps:\n  - send: { to: "{{nope}}@b.test", count: 0 }\n`);
    assert.equal(e.code, 'EV_ERR_FLOW_INVALID');
    assert.equal(problems(e).length, 2);
  });

  it('many problems are capped with the count of those left out', () => {
    const e = rejection(
      `${HEAD}steps:\n${Array.from({ length: 300 }, (_, i) => `  - bogus${i}: 1`).join('\n')}\n`,
    );
    assert.equal(problems(e).length, MAX_REPORTED_PROBLEMS);
    const omitted = (e.details as { omitted: number }).omitted;
    assert.ok(omitted >= 300 - MAX_REPORTED_PROBLEMS, `${omitted} left out`);
    assert.ok(
      e.message.endsWith(`(and ${MAX_REPORTED_PROBLEMS + omitted - 1} more problems)`),
      e.message,
    );
    // Across files too: the merged error stays capped.
    const merged = flowInvalid(
      Array.from({ length: 5000 }, (_, i) => ({
        file: `f${i % 7}.yaml`,
        line: i + 1,
        col: 1,
        path: '',
        message: 'bad',
      })),
    );
    assert.equal((merged.details!.problems as unknown[]).length, MAX_REPORTED_PROBLEMS);
    assert.equal((merged.details as { omitted: number }).omitted, 5000 - MAX_REPORTED_PROBLEMS);
  });

  it('template scanning is linear: "{{" and a long run of spaces takes no time', () => {
    // The former regex needed 7.7 s for 2,000 spaces; this many would never end.
    for (const s of [
      `{{${' '.repeat(200_000)}x`,
      `{{${' '.repeat(200_000)}}`,
      '{{a'.repeat(100_000),
      `${'{'.repeat(100_000)}x}}`,
    ]) {
      assert.throws(() => templateVariables(s), /unclosed|unknown/);
    }
    assert.deepEqual(templateVariables(`{{ run.id }}${' '.repeat(100_000)}{{env.A}}`), [
      'run.id',
      'env.A',
    ]);
  });
});
