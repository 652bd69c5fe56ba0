import assert from 'node:assert/strict';
import type { ExpectationOutcome } from '../../../../src/flow/expectations.ts';
import {
  renderFlowText,
  renderStepLine,
  renderTextReport,
  stepDetailLines,
} from '../../../../src/flow/report-text.ts';
import type { FlowResult, RunReport, StepResult } from '../../../../src/flow/result.ts';

function step(over: Partial<StepResult>): StepResult {
  return {
    index: 0,
    name: 'step',
    kind: 'expect',
    status: 'passed',
    durationMs: 2000,
    location: 'f.yaml:4:5',
    summary: 'ok',
    ...over,
  };
}

function outcome(over: Partial<ExpectationOutcome>): ExpectationOutcome {
  return {
    ok: false,
    wanted: 1,
    matched: [],
    matchedDescriptions: [],
    candidates: [],
    considered: 0,
    lost: 0,
    interrupted: false,
    ...over,
  };
}

const candidate = (description: string) => ({
  description,
  seq: 1,
  passed: 1,
  total: 2,
  checks: [
    { field: 'to', expected: 'a@x', actual: '"a@x"', ok: true },
    { field: 'subject', expected: 'Hi', actual: '"No"', ok: false },
  ],
});

describe('flow text report', () => {
  it('explains a failed expectation: nothing arrived, nothing close, or the closest', () => {
    assert.deepEqual(stepDetailLines(step({ status: 'failed', expectation: outcome({}) })), [
      'nothing arrived at the sink during the run',
      'at f.yaml:4:5',
    ]);
    assert.deepEqual(
      stepDetailLines(step({ status: 'failed', expectation: outcome({ considered: 2, lost: 3 }) })),
      [
        'nothing that arrived came close',
        'note: 3 event(s) were lost or forgotten by the event feed; the match may have been among them',
        'at f.yaml:4:5',
      ],
    );
    assert.deepEqual(
      stepDetailLines(
        step({
          status: 'failed',
          expectation: outcome({
            considered: 2,
            candidates: [candidate('m1'), candidate('m2\u0007')],
          }),
        }),
      ),
      [
        'closest: m1 (1/2 criteria matched)',
        '  ✓ to a@x',
        '  ✗ subject: expected Hi, got "No"',
        'also: m2\\u0007 (1/2 criteria matched)',
        '  ✓ to a@x',
        '  ✗ subject: expected Hi, got "No"',
        'at f.yaml:4:5',
      ],
    );
    assert.deepEqual(
      stepDetailLines(
        step({
          kind: 'expectNone',
          status: 'failed',
          expectation: outcome({ considered: 1, candidates: [candidate('m9')] }),
        }),
      ),
      ['arrived: m9', 'at f.yaml:4:5'],
    );
  });

  it('a passed step shows nothing but a send its details; errors show their code', () => {
    assert.deepEqual(
      stepDetailLines(step({ expectation: outcome({ ok: true, lost: 2 }), details: ['x'] })),
      [],
    );
    assert.deepEqual(stepDetailLines(step({ kind: 'send', details: ['rejected a: 550'] })), [
      'rejected a: 550',
    ]);
    assert.deepEqual(
      stepDetailLines(
        step({
          kind: 'http',
          status: 'error',
          errorCode: 'EV_ERR_FLOW_STEP',
          details: ['hint: h'],
        }),
      ),
      ['hint: h', '[EV_ERR_FLOW_STEP] at f.yaml:4:5'],
    );
    assert.deepEqual(stepDetailLines(step({ kind: 'http', status: 'error' })), []);
    assert.deepEqual(stepDetailLines(step({ kind: 'http', status: 'skipped', details: ['d'] })), [
      'd',
    ]);
    assert.deepEqual(
      stepDetailLines(step({ kind: 'http', status: 'failed', errorCode: 'EV_ERR_X' })),
      ['at f.yaml:4:5'],
    );
  });

  it('step lines: mark, name, summary and time (none for skipped), coloured on request', () => {
    assert.equal(renderStepLine(step({})), '  ✓ step: ok (2s)');
    assert.equal(
      renderStepLine(step({ status: 'skipped', summary: 'skipped: x' })),
      '  - step: skipped: x',
    );
    assert.equal(
      renderStepLine(step({ status: 'failed' }), true),
      '  \u001b[31m✗\u001b[0m step: ok\u001b[90m (2s)\u001b[0m',
    );
  });

  const flow = (over: Partial<FlowResult>): FlowResult => ({
    file: 'f.yaml',
    name: 'signup',
    runId: 'r1',
    status: 'passed',
    startedAt: '',
    durationMs: 2000,
    steps: [step({})],
    ...over,
  });

  it('flow blocks: status, error line, steps unless already shown for a passed flow', () => {
    assert.equal(renderFlowText(flow({})), 'PASSED signup (f.yaml, run r1, 2s)\n  ✓ step: ok (2s)');
    assert.equal(
      renderFlowText(flow({}), { stepsShown: true }),
      'PASSED signup (f.yaml, run r1, 2s)',
    );
    assert.equal(
      renderFlowText(flow({ status: 'failed', steps: [step({ status: 'failed' })] }), {
        stepsShown: true,
      }),
      'FAILED signup (f.yaml, run r1, 2s)\n  ✗ step: ok (2s)\n      at f.yaml:4:5',
    );
    assert.equal(
      renderFlowText(
        flow({
          status: 'error',
          steps: [],
          error: { code: 'EV_ERR_SINK_UNREACHABLE', message: 'down' },
        }),
        { color: true },
      ),
      '\u001b[31mERROR\u001b[0m signup (f.yaml, run r1, 2s)\n  ! down [EV_ERR_SINK_UNREACHABLE]',
    );
    assert.equal(
      renderFlowText(flow({}), { color: true }).split('\n')[0],
      '\u001b[32mPASSED\u001b[0m signup (f.yaml, run r1, 2s)',
    );
  });

  it('totals line: counts shown only when non-zero, singular and plural', () => {
    const report = (
      status: RunReport['status'],
      totals: RunReport['totals'],
      flows: FlowResult[],
    ): RunReport => ({
      status,
      durationMs: 2000,
      sink: { url: '', smtp: '', mode: 'local' },
      flows,
      totals,
    });
    const last = (r: RunReport): string => renderTextReport(r).trimEnd().split('\n').at(-1) ?? '';
    assert.equal(
      last(
        report('passed', { flows: 1, steps: 1, passed: 1, failed: 0, errors: 0, skipped: 0 }, [
          flow({}),
        ]),
      ),
      'PASSED: 1 flow, 1 steps: 1 passed, 0 failed in 2s',
    );
    assert.equal(
      last(
        report('failed', { flows: 2, steps: 5, passed: 1, failed: 1, errors: 1, skipped: 2 }, [
          flow({}),
          flow({}),
        ]),
      ),
      'FAILED: 2 flows, 5 steps: 1 passed, 1 failed, 1 error, 2 skipped in 2s',
    );
    assert.equal(
      last(
        report('error', { flows: 1, steps: 2, passed: 0, failed: 0, errors: 2, skipped: 0 }, [
          flow({}),
        ]),
      ),
      'ERROR: 1 flow, 2 steps: 0 passed, 0 failed, 2 errors in 2s',
    );
    assert.equal(
      renderTextReport(
        report('passed', { flows: 2, steps: 2, passed: 2, failed: 0, errors: 0, skipped: 0 }, [
          flow({}),
          flow({ name: 'b' }),
        ]),
      ),
      'PASSED signup (f.yaml, run r1, 2s)\n  ✓ step: ok (2s)\n\nPASSED b (f.yaml, run r1, 2s)\n  ✓ step: ok (2s)\n\nPASSED: 2 flows, 2 steps: 2 passed, 0 failed in 2s\n',
    );
  });
});
