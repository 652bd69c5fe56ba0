/**
 * JUnit XML in the shape Jenkins (junit plugin), GitLab (artifacts:reports:junit)
 * and GitHub test-report actions all read: `testsuites > testsuite > testcase`
 * with `failure`, `error` and `skipped` children, times in seconds, and
 * `file`/`line` attributes on test cases for annotations.
 * One test suite per flow, one test case per step.
 */
import type { FlowResult, RunReport, StepResult } from './result.ts';
import { stepDetailLines } from './report-text.ts';

/** What XML 1.0's Char production excludes: C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates. */
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex -- matching the characters XML forbids is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text for XML 1.0: characters XML cannot carry at all (C0 controls except
 * tab/newline/return, U+FFFE/U+FFFF, lone surrogates) become U+FFFD; markup
 * characters are escaped.
 */
export function xmlText(value: string): string {
  return value
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** An attribute value: text escaping plus quotes and whitespace that attributes would normalise away. */
export function xmlAttr(value: string): string {
  return xmlText(value)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function attrs(pairs: Record<string, string | number | undefined>): string {
  return Object.entries(pairs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

function testcase(flow: FlowResult, step: StepResult): string {
  const [file, line] = splitLocation(step.location);
  const open = `    <testcase${attrs({ name: `${String(step.index + 1).padStart(2, '0')} ${step.name}`, classname: flow.name, time: seconds(step.durationMs), file, line })}`;
  const body = [`${step.summary}`, ...stepDetailLines(step)].join('\n');
  switch (step.status) {
    case 'passed':
      return `${open}/>`;
    case 'skipped':
      return `${open}>\n      <skipped${attrs({ message: step.summary })}/>\n    </testcase>`;
    case 'failed':
      return `${open}>\n      <failure${attrs({ message: step.summary, type: step.kind })}>${xmlText(body)}</failure>\n    </testcase>`;
    case 'error':
      return `${open}>\n      <error${attrs({ message: step.summary, type: step.errorCode ?? 'error' })}>${xmlText(body)}</error>\n    </testcase>`;
  }
}

function splitLocation(location: string): [string, number | undefined] {
  const m = /^(.*):(\d+):(\d+)$/.exec(location);
  return m ? [m[1], Number(m[2])] : [location, undefined];
}

function testsuite(flow: FlowResult): string {
  const count = (s: StepResult['status']): number =>
    flow.steps.filter((x) => x.status === s).length;
  const setupError = flow.error ? 1 : 0;
  const head = `  <testsuite${attrs({
    name: flow.name,
    tests: flow.steps.length + setupError,
    failures: count('failed'),
    errors: count('error') + setupError,
    skipped: count('skipped'),
    time: seconds(flow.durationMs),
    timestamp: flow.startedAt.replace(/\.\d+Z$/, 'Z'),
    file: flow.file,
  })}>`;
  const lines = [
    head,
    `    <properties>\n      <property${attrs({ name: 'run.id', value: flow.runId })}/>\n    </properties>`,
  ];
  if (flow.error) {
    lines.push(
      `    <testcase${attrs({ name: '00 set up the flow', classname: flow.name, time: '0.000', file: flow.file })}>\n      <error${attrs({ message: flow.error.message, type: flow.error.code })}>${xmlText(flow.error.message)}</error>\n    </testcase>`,
    );
  }
  for (const step of flow.steps) lines.push(testcase(flow, step));
  lines.push('  </testsuite>');
  return lines.join('\n');
}

export function renderJunit(report: RunReport): string {
  const t = report.totals;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'kubectl email-validate run', tests: t.steps + report.flows.filter((f) => f.error).length, failures: t.failed, errors: t.errors, skipped: t.skipped, time: seconds(report.durationMs) })}>`,
    ...report.flows.map(testsuite),
    '</testsuites>',
    '',
  ].join('\n');
}
