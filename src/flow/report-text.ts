import { terminalLine } from '../terminal-text.ts';
import { formatDuration } from '../duration.ts';
import type { Candidate } from './expectations.ts';
import type { FlowResult, RunReport, StepResult } from './result.ts';

export interface TextReportOptions {
  /** ANSI colours (only when stdout is a terminal). */
  color?: boolean;
  /**
   * Each step was already printed live on the same terminal: a passed flow is
   * then one line (its steps are not repeated); a failed one keeps every detail.
   */
  stepsShown?: boolean;
}

const MARK: Record<StepResult['status'], string> = {
  passed: '✓',
  failed: '✗',
  error: '!',
  skipped: '-',
};
const COLOR: Record<StepResult['status'], string> = {
  passed: '32',
  failed: '31',
  error: '31',
  skipped: '90',
};

/** Mail content is untrusted: unsafe characters are shown as \uXXXX (src/terminal-text.ts), so a report says what arrived. */
function clean(text: string): string {
  return terminalLine(text, { show: 'escape' });
}

function paint(on: boolean, code: string, text: string): string {
  return on ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** The candidate lines under a failed expectation: what arrived instead, closest first. */
function candidateLines(c: Candidate, first: boolean): string[] {
  const lines = [
    `${first ? 'closest' : 'also'}: ${clean(c.description)} (${c.passed}/${c.total} criteria matched)`,
  ];
  for (const check of c.checks) {
    lines.push(
      check.ok
        ? `  ✓ ${clean(check.field)} ${clean(check.expected)}`
        : `  ✗ ${clean(check.field)}: expected ${clean(check.expected)}, got ${clean(check.actual)}`,
    );
  }
  return lines;
}

/** Lines explaining a step's outcome (empty for a plain pass). */
export function stepDetailLines(step: StepResult): string[] {
  const lines: string[] = [];
  const e = step.expectation;
  if (e && step.status === 'failed') {
    if (step.kind === 'expectNone') {
      for (const c of e.candidates) lines.push(`arrived: ${clean(c.description)}`);
    } else if (e.candidates.length === 0) {
      lines.push(
        e.considered === 0
          ? 'nothing arrived at the sink during the run'
          : 'nothing that arrived came close',
      );
    } else {
      e.candidates.forEach((c, i) => lines.push(...candidateLines(c, i === 0)));
    }
    if (e.lost > 0)
      lines.push(
        `note: ${e.lost} event(s) were lost or forgotten by the event feed; the match may have been among them`,
      );
  }
  if (step.details && (step.status !== 'passed' || step.kind === 'send'))
    lines.push(...step.details.map(clean));
  if (step.status === 'error' && step.errorCode)
    lines.push(`[${step.errorCode}] at ${step.location}`);
  else if (step.status === 'failed') lines.push(`at ${step.location}`);
  return lines;
}

export function renderStepLine(step: StepResult, color = false): string {
  const mark = paint(color, COLOR[step.status], MARK[step.status]);
  const time =
    step.status === 'skipped' ? '' : paint(color, '90', ` (${formatDuration(step.durationMs)})`);
  return `  ${mark} ${clean(step.name)}: ${clean(step.summary)}${time}`;
}

export function renderFlowText(flow: FlowResult, options: TextReportOptions = {}): string {
  const color = options.color ?? false;
  const out: string[] = [];
  const status =
    flow.status === 'passed'
      ? paint(color, '32', 'PASSED')
      : paint(color, '31', flow.status === 'failed' ? 'FAILED' : 'ERROR');
  out.push(
    `${status} ${clean(flow.name)} (${clean(flow.file)}, run ${flow.runId}, ${formatDuration(flow.durationMs)})`,
  );
  if (flow.error) out.push(`  ! ${clean(flow.error.message)} [${flow.error.code}]`);
  if (options.stepsShown && flow.status === 'passed') return out.join('\n');
  for (const step of flow.steps) {
    out.push(renderStepLine(step, color));
    for (const line of stepDetailLines(step)) out.push(`      ${line}`);
  }
  return out.join('\n');
}

/** The whole readable report: one block per flow, then the totals. */
export function renderTextReport(report: RunReport, options: TextReportOptions = {}): string {
  const blocks = report.flows.map((f) => renderFlowText(f, options));
  const t = report.totals;
  const parts = [`${t.passed} passed`, `${t.failed} failed`];
  if (t.errors) parts.push(`${t.errors} error${t.errors === 1 ? '' : 's'}`);
  if (t.skipped) parts.push(`${t.skipped} skipped`);
  blocks.push(
    `${report.status === 'passed' ? 'PASSED' : report.status === 'failed' ? 'FAILED' : 'ERROR'}: ${t.flows} flow${t.flows === 1 ? '' : 's'}, ${t.steps} steps: ${parts.join(', ')} in ${formatDuration(report.durationMs)}`,
  );
  return `${blocks.join('\n\n')}\n`;
}
