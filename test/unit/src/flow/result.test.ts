/**
 * The run's exit code from its flows: which codes are asked of the catalog (a step error without
 * its own code is EV_ERR_FLOW_STEP; a flow's set-up error counts), and their order of precedence
 * (130, then 3, then 2, then 3 for any other error, then 1 or 0 from the status).
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { ERROR_CODES } from '../../../../src/errors.ts';
import {
  exitCodeOf,
  totalsOf,
  type FlowResult,
  type FlowStatus,
  type StepResult,
} from '../../../../src/flow/result.ts';

function step(status: StepResult['status'], errorCode?: string): StepResult {
  return {
    index: 0,
    name: 'step',
    kind: 'send',
    status,
    durationMs: 0,
    location: 'f.yaml:4:5',
    summary: status,
    ...(errorCode === undefined ? {} : { errorCode }),
  };
}

function flow(status: FlowStatus, steps: StepResult[], errorCode?: string): FlowResult {
  return {
    file: 'f.yaml',
    name: 'f',
    runId: 'r1',
    status,
    startedAt: '2026-12-06T10:00:00.000Z',
    durationMs: 0,
    steps,
    ...(errorCode === undefined ? {} : { error: { code: errorCode, message: 'no' } }),
  };
}

/** The exit code of a run of `flows`, and the codes it looked up in the catalog, in order. */
function exitOf(flows: FlowResult[]): { exit: number; asked: string[] } {
  const asked: string[] = [];
  const status: FlowStatus = flows.some((f) => f.status === 'error')
    ? 'error'
    : flows.some((f) => f.status === 'failed')
      ? 'failed'
      : 'passed';
  const exit = exitCodeOf(
    {
      status,
      durationMs: 0,
      sink: { url: '', smtp: '', mode: 'local' },
      flows,
      totals: totalsOf(flows),
    },
    (code) => {
      asked.push(code);
      const entry = (ERROR_CODES as Record<string, { exit: number } | undefined>)[code];
      assert.ok(entry, `not in the catalog: ${JSON.stringify(code)}`);
      return entry.exit;
    },
  );
  return { exit, asked };
}

describe('flow result: exit code', () => {
  it('0 when every flow passed, 1 when one failed and none had an error', () => {
    assert.deepEqual(exitOf([flow('passed', [step('passed')])]), { exit: 0, asked: [] });
    assert.deepEqual(exitOf([flow('passed', []), flow('failed', [step('failed')])]), {
      exit: 1,
      asked: [],
    });
  });

  it('a step error without its own code is EV_ERR_FLOW_STEP (an environment error, 3)', () => {
    assert.deepEqual(exitOf([flow('error', [step('passed'), step('error')])]), {
      exit: 3,
      asked: ['EV_ERR_FLOW_STEP'],
    });
  });

  it("a flow's set-up error counts, after the steps' errors", () => {
    assert.deepEqual(exitOf([flow('error', [], 'EV_ERR_FLOW_INVALID')]), {
      exit: 2,
      asked: ['EV_ERR_FLOW_INVALID'],
    });
    assert.deepEqual(
      exitOf([
        flow('error', [], 'EV_ERR_SINK_UNREACHABLE'),
        flow('error', [step('error', 'EV_ERR_FLOW_TEMPLATE')]),
      ]),
      { exit: 3, asked: ['EV_ERR_FLOW_TEMPLATE', 'EV_ERR_SINK_UNREACHABLE'] },
    );
  });

  it('130 beats 3, 3 beats 2, and an error whose own exit is 1 is still 3', () => {
    const run = (...codes: string[]) =>
      exitOf([
        flow(
          'error',
          codes.map((c) => step('error', c)),
        ),
      ]).exit;
    assert.equal(run('EV_ERR_FLOW_TEMPLATE', 'EV_ERR_INTERRUPTED', 'EV_ERR_SINK_UNREACHABLE'), 130);
    assert.equal(run('EV_ERR_FLOW_TEMPLATE', 'EV_ERR_SINK_UNREACHABLE'), 3);
    assert.equal(run('EV_ERR_SINK_UNREACHABLE', 'EV_ERR_FLOW_TEMPLATE'), 3);
    assert.equal(run('EV_ERR_FLOW_TEMPLATE'), 2);
    assert.equal(ERROR_CODES.EV_ERR_SMTP_REJECTED.exit, 1);
    assert.equal(run('EV_ERR_SMTP_REJECTED'), 3);
    assert.equal(run('EV_ERR_SMTP_REJECTED', 'EV_ERR_FLOW_TEMPLATE'), 2);
  });
});
