import type { ExpectationOutcome } from './expectations.ts';
import type { StepKind } from './types.ts';

export type StepStatus = 'passed' | 'failed' | 'error' | 'skipped';

/** The outcome of one step, as every reporter renders it. */
export interface StepResult {
  index: number;
  name: string;
  kind: StepKind;
  status: StepStatus;
  durationMs: number;
  /** `file:line:col` of the step. */
  location: string;
  /** One line: what happened (or why it failed). */
  summary: string;
  /** Error code when status is `error` (EV_ERR_*). */
  errorCode?: string;
  /** Extra lines for the failure report (HTTP response excerpt, job log tail). */
  details?: string[];
  expectation?: ExpectationOutcome;
  /** For send steps: per-outcome counts. */
  sent?: {
    messages: number;
    accepted: number;
    rejected: number;
    deferred: number;
    retried: number;
  };
}

export type FlowStatus = 'passed' | 'failed' | 'error';

export interface FlowResult {
  file: string;
  name: string;
  runId: string;
  status: FlowStatus;
  startedAt: string;
  durationMs: number;
  steps: StepResult[];
  /** Set when the flow could not run at all (bad rules, sink unreachable). */
  error?: { code: string; message: string };
}

export interface RunReport {
  status: FlowStatus;
  durationMs: number;
  sink: { url: string; smtp: string; mode: 'local' | 'external' | 'cluster' };
  flows: FlowResult[];
  totals: {
    flows: number;
    steps: number;
    passed: number;
    failed: number;
    errors: number;
    skipped: number;
  };
}

export function totalsOf(flows: FlowResult[]): RunReport['totals'] {
  const steps = flows.flatMap((f) => f.steps);
  return {
    flows: flows.length,
    steps: steps.length,
    passed: steps.filter((s) => s.status === 'passed').length,
    failed: steps.filter((s) => s.status === 'failed').length,
    errors: steps.filter((s) => s.status === 'error').length + flows.filter((f) => f.error).length,
    skipped: steps.filter((s) => s.status === 'skipped').length,
  };
}

/** error beats failed beats passed. */
export function worstStatus(statuses: Array<FlowStatus | StepStatus>): FlowStatus {
  if (statuses.includes('error')) return 'error';
  if (statuses.includes('failed')) return 'failed';
  return 'passed';
}

/**
 * The CLI exit code of a run: 130 interrupted, 3 the environment failed (sink,
 * cluster, network), 2 a flow problem only found at run time, 1 an
 * expectation or action failed, 0 all passed.
 */
export function exitCodeOf(report: RunReport, exitOf: (code: string) => number): number {
  const codes = [
    ...report.flows.flatMap((f) =>
      f.steps.filter((s) => s.status === 'error').map((s) => s.errorCode ?? 'EV_ERR_FLOW_STEP'),
    ),
    ...report.flows.filter((f) => f.error).map((f) => (f.error as { code: string }).code),
  ].map(exitOf);
  if (codes.includes(130)) return 130;
  if (codes.includes(3)) return 3;
  if (codes.includes(2)) return 2;
  if (codes.length > 0) return 3;
  return report.status === 'passed' ? 0 : 1;
}
