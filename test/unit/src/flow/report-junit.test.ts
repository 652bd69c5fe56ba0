import assert from 'node:assert/strict';
import { renderJunit } from '../../../../src/flow/report-junit.ts';
import type { FlowResult, RunReport, StepResult } from '../../../../src/flow/result.ts';

function step(over: Partial<StepResult>): StepResult {
  return {
    index: 0,
    name: 'step',
    kind: 'http',
    status: 'passed',
    durationMs: 1500,
    location: 'f.yaml:12:34',
    summary: 'ok',
    ...over,
  };
}

describe('flow JUnit report: exact output', () => {
  it('renders suites, cases, set-up errors, locations and times exactly', () => {
    const withError: FlowResult = {
      file: 'flows/a.yaml',
      name: 'a "flow"',
      runId: 'r1',
      status: 'error',
      startedAt: '2026-11-28T00:00:00.123Z',
      durationMs: 2500,
      steps: [
        step({ index: 0, name: 'one', location: 'flows/a.yaml:4:5' }),
        step({
          index: 9,
          name: 'two',
          status: 'failed',
          summary: 'bad <x>',
          location: 'no-location',
          details: ['d1'],
        }),
        step({ index: 2, name: 'three', status: 'error', summary: 'boom', location: 'x:1:2:33' }),
        step({
          index: 3,
          name: 'four',
          status: 'skipped',
          summary: 'skipped: y',
          location: 'a:1:',
        }),
      ],
      error: { code: 'EV_ERR_FLOW_RULES', message: 'rules & more' },
    };
    const plain: FlowResult = {
      file: 'b.yaml',
      name: 'b',
      runId: 'r2',
      status: 'passed',
      startedAt: '2026-11-28T00:00:01Z',
      durationMs: 0,
      steps: [],
    };
    const report: RunReport = {
      status: 'error',
      durationMs: 4000,
      sink: { url: '', smtp: '', mode: 'local' },
      flows: [withError, plain],
      totals: { flows: 2, steps: 4, passed: 1, failed: 1, errors: 1, skipped: 1 },
    };
    assert.equal(
      renderJunit(report),
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="kubectl email-validate run" tests="5" failures="1" errors="1" skipped="1" time="4.000">',
        '  <testsuite name="a &quot;flow&quot;" tests="5" failures="1" errors="2" skipped="1" time="2.500" timestamp="2026-11-28T00:00:00Z" file="flows/a.yaml">',
        '    <properties>',
        '      <property name="run.id" value="r1"/>',
        '    </properties>',
        '    <testcase name="00 set up the flow" classname="a &quot;flow&quot;" time="0.000" file="flows/a.yaml">',
        '      <error message="rules &amp; more" type="EV_ERR_FLOW_RULES">rules &amp; more</error>',
        '    </testcase>',
        '    <testcase name="01 one" classname="a &quot;flow&quot;" time="1.500" file="flows/a.yaml" line="4"/>',
        '    <testcase name="10 two" classname="a &quot;flow&quot;" time="1.500" file="no-location">',
        '      <failure message="bad &lt;x&gt;" type="http">bad &lt;x&gt;',
        'd1',
        'at no-location</failure>',
        '    </testcase>',
        '    <testcase name="03 three" classname="a &quot;flow&quot;" time="1.500" file="x:1" line="2">',
        '      <error message="boom" type="error">boom</error>',
        '    </testcase>',
        '    <testcase name="04 four" classname="a &quot;flow&quot;" time="1.500" file="a:1:">',
        '      <skipped message="skipped: y"/>',
        '    </testcase>',
        '  </testsuite>',
        '  <testsuite name="b" tests="0" failures="0" errors="0" skipped="0" time="0.000" timestamp="2026-11-28T00:00:01Z" file="b.yaml">',
        '    <properties>',
        '      <property name="run.id" value="r2"/>',
        '    </properties>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('takes a line number only from a whole `file:line:col`: any digits, nothing after, one line', () => {
    const flow: FlowResult = {
      file: 'f.yaml',
      name: 'f',
      runId: 'r1',
      status: 'passed',
      startedAt: '2026-11-28T00:00:00.000Z',
      durationMs: 0,
      steps: [
        step({ index: 0, location: 'f.yaml:12:3' }),
        step({ index: 1, location: 'f.yaml:3:4 (template)' }),
        step({ index: 2, location: 'dir\nf.yaml:3:4' }),
      ],
    };
    const report: RunReport = {
      status: 'passed',
      durationMs: 0,
      sink: { url: '', smtp: '', mode: 'local' },
      flows: [flow],
      totals: { flows: 1, steps: 3, passed: 3, failed: 0, errors: 0, skipped: 0 },
    };
    const cases = renderJunit(report)
      .split('\n')
      .filter((l) => l.includes('<testcase'))
      .map((l) => l.replace(/^.* time="1\.500" /, ''));
    assert.deepEqual(cases, [
      'file="f.yaml" line="12"/>',
      'file="f.yaml:3:4 (template)"/>',
      'file="dir&#10;f.yaml:3:4"/>',
    ]);
  });
});
