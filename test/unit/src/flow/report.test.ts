import assert from 'node:assert/strict';
import { renderJunit, xmlAttr, xmlText } from '../../../../src/flow/report-junit.ts';
import { renderTextReport } from '../../../../src/flow/report-text.ts';
import { totalsOf, type FlowResult, type RunReport } from '../../../../src/flow/result.ts';
import { childrenNamed, parseXml } from './xml-parse.ts';

const NASTY = 'a < b & "c" \'d\' > e\u0000\u001b[31m\ud800 ]]> \n\ttabbed';

function report(): RunReport {
  const flows: FlowResult[] = [
    {
      file: 'flows/signup.yaml',
      name: 'signup <&>',
      runId: 'r1',
      status: 'failed',
      startedAt: '2026-11-28T01:02:03.456Z',
      durationMs: 2500,
      steps: [
        {
          index: 0,
          name: 'send',
          kind: 'send',
          status: 'passed',
          durationMs: 12,
          location: 'flows/signup.yaml:5:5',
          summary: 'sent 1 message: 1 accepted',
        },
        {
          index: 1,
          name: `confirmation ${NASTY}`,
          kind: 'expect',
          status: 'failed',
          durationMs: 1000,
          location: 'flows/signup.yaml:9:5',
          summary: 'expected a matching message within 1s; none arrived (2 seen)',
          expectation: {
            ok: false,
            wanted: 1,
            matched: [],
            matchedDescriptions: [],
            considered: 2,
            lost: 0,
            interrupted: false,
            candidates: [
              {
                description: 'message m2 from a@x to u@x, subject "Welcome"',
                seq: 2,
                passed: 1,
                total: 2,
                checks: [
                  { field: 'to', expected: 'u@x', actual: '"u@x"', ok: true },
                  {
                    field: 'subject',
                    expected: '/Confirm/',
                    actual: `"Welcome ${NASTY}"`,
                    ok: false,
                  },
                ],
              },
              {
                description: 'message m1 from a@x to v@x, subject "Other"',
                seq: 1,
                passed: 0,
                total: 2,
                checks: [
                  { field: 'to', expected: 'u@x', actual: '"v@x"', ok: false },
                  { field: 'subject', expected: '/Confirm/', actual: '"Other"', ok: false },
                ],
              },
            ],
          },
        },
        {
          index: 2,
          name: 'app',
          kind: 'http',
          status: 'error',
          errorCode: 'EV_ERR_FLOW_STEP',
          durationMs: 3,
          location: 'flows/signup.yaml:14:5',
          summary: 'GET http://app failed: ECONNREFUSED',
        },
        {
          index: 3,
          name: 'later',
          kind: 'expect',
          status: 'skipped',
          durationMs: 0,
          location: 'flows/signup.yaml:18:5',
          summary: 'skipped: step 3 (app) could not run',
        },
      ],
    },
    {
      file: 'flows/down.yaml',
      name: 'down',
      runId: 'r2',
      status: 'error',
      startedAt: '2026-11-28T01:02:05.000Z',
      durationMs: 10,
      steps: [],
      error: { code: 'EV_ERR_RULES_INVALID', message: 'sink: rules[0] bad' },
    },
  ];
  return {
    status: 'error',
    durationMs: 2600,
    sink: { url: 'http://127.0.0.1:1', smtp: '127.0.0.1:2', mode: 'local' },
    flows,
    totals: totalsOf(flows),
  };
}

describe('flow reports', () => {
  it('text: each step, and for a failure what arrived instead, closest first', () => {
    const text = renderTextReport(report());
    const lines = text.split('\n');
    assert.match(lines[0], /^FAILED signup <&> \(flows\/signup\.yaml, run r1, 2\.5s\)$/);
    assert.ok(lines.some((l) => /^ {2}✓ send: sent 1 message: 1 accepted/.test(l)));
    const closest = lines.findIndex((l) =>
      /closest: message m2 .*\(1\/2 criteria matched\)/.test(l),
    );
    const also = lines.findIndex((l) => /also: message m1/.test(l));
    assert.ok(closest > 0 && also > closest, 'closest mismatch listed first');
    assert.ok(lines.some((l) => /✗ subject: expected \/Confirm\/, got "Welcome/.test(l)));
    assert.ok(lines.some((l) => /✓ to u@x/.test(l)));
    assert.ok(lines.some((l) => /at flows\/signup\.yaml:9:5/.test(l)));
    assert.ok(lines.some((l) => /! app: GET http:\/\/app failed: ECONNREFUSED/.test(l)));
    assert.ok(lines.some((l) => /\[EV_ERR_FLOW_STEP\] at flows\/signup\.yaml:14:5/.test(l)));
    assert.ok(lines.some((l) => /- later: skipped: step 3/.test(l)));
    assert.ok(lines.some((l) => /ERROR down .*\n?/.test(l)));
    assert.ok(lines.some((l) => /! sink: rules\[0\] bad \[EV_ERR_RULES_INVALID\]/.test(l)));
    assert.match(
      lines.filter(Boolean).at(-1) ?? '',
      /^ERROR: 2 flows, 4 steps: 1 passed, 1 failed, 2 errors, 1 skipped in 2\.6s$/,
    );
  });

  it('text: control characters from mail content never reach the terminal', () => {
    const text = renderTextReport(report());
    // eslint-disable-next-line no-control-regex -- asserting no control character is left
    assert.doesNotMatch(text.replace(/\n/g, ''), /[\u0000-\u001f]/);
    assert.match(text, /e\\u0000\\u001b\[31m/);
  });

  it('text: colours only when asked', () => {
    // eslint-disable-next-line no-control-regex -- asserting on terminal colour escapes
    assert.doesNotMatch(renderTextReport(report()), /\u001b\[3/);
    // eslint-disable-next-line no-control-regex -- as above
    assert.match(renderTextReport(report(), { color: true }), /\u001b\[31m✗\u001b\[0m/);
  });

  it('JUnit: parses back with the counts, cases and failure details', () => {
    const xml = renderJunit(report());
    const root = parseXml(xml);
    assert.equal(root.name, 'testsuites');
    assert.deepEqual(
      {
        tests: root.attrs.tests,
        failures: root.attrs.failures,
        errors: root.attrs.errors,
        skipped: root.attrs.skipped,
        time: root.attrs.time,
      },
      { tests: '5', failures: '1', errors: '2', skipped: '1', time: '2.600' },
    );
    const suites = childrenNamed(root, 'testsuite');
    assert.equal(suites.length, 2);
    const [signup, down] = suites;
    assert.equal(signup.attrs.name, 'signup <&>');
    assert.equal(signup.attrs.timestamp, '2026-11-28T01:02:03Z');
    assert.deepEqual(
      [signup.attrs.tests, signup.attrs.failures, signup.attrs.errors, signup.attrs.skipped],
      ['4', '1', '1', '1'],
    );
    assert.equal(
      childrenNamed(childrenNamed(signup, 'properties')[0], 'property')[0].attrs.value,
      'r1',
    );
    const cases = childrenNamed(signup, 'testcase');
    assert.deepEqual(
      cases.map((c) => c.attrs.classname),
      ['signup <&>', 'signup <&>', 'signup <&>', 'signup <&>'],
    );
    assert.equal(cases[0].children.length, 0, 'a passed case has no children');
    assert.equal(cases[0].attrs.time, '0.012');
    assert.equal(cases[1].attrs.file, 'flows/signup.yaml');
    assert.equal(cases[1].attrs.line, '9');
    const failure = childrenNamed(cases[1], 'failure')[0];
    assert.equal(failure.attrs.type, 'expect');
    assert.match(failure.attrs.message, /none arrived/);
    assert.match(failure.text, /closest: message m2/);
    assert.match(
      failure.text,
      /✗ subject: expected \/Confirm\/, got "Welcome a < b & "c" 'd' > e\\u0000\\u001b\[31m\uFFFD \]\]>/,
    );
    assert.ok(cases[1].attrs.name.startsWith('02 confirmation a < b & "c" \'d\' > e\uFFFD'));
    assert.ok(
      cases[1].attrs.name.includes('\n\ttabbed'),
      'newlines and tabs in attributes survive',
    );
    assert.equal(childrenNamed(cases[2], 'error')[0].attrs.type, 'EV_ERR_FLOW_STEP');
    assert.match(childrenNamed(cases[3], 'skipped')[0].attrs.message, /skipped: step 3/);
    const setup = childrenNamed(down, 'testcase');
    assert.equal(setup.length, 1);
    assert.equal(childrenNamed(setup[0], 'error')[0].attrs.type, 'EV_ERR_RULES_INVALID');
  });

  it('escapes text and attributes for XML 1.0', () => {
    assert.equal(xmlText('a<b&c>d'), 'a&lt;b&amp;c&gt;d');
    assert.equal(xmlText('x\u0000y\u0008z\u000bq'), 'x\uFFFDy\uFFFDz\uFFFDq');
    assert.equal(
      xmlText('\ud83d\ude00 ok \udc00'),
      '\ud83d\ude00 ok \uFFFD',
      'pairs kept, lone surrogates replaced',
    );
    assert.equal(xmlAttr('"a"\n\'b\'\t\r'), '&quot;a&quot;&#10;&apos;b&apos;&#9;&#13;');
    assert.throws(() => parseXml('<a>x < y</a>'), /bad element name/);
    assert.throws(() => parseXml('<a t="x < y"/>'), /raw "<"/);
    assert.throws(() => parseXml('<a><b></a>'), /closes/);
  });
});
