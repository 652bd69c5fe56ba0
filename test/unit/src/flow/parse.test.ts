import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { isEmailValidateError } from '../../../../src/errors.ts';
import { parseFlow, type FlowProblem } from '../../../../src/flow/parse.ts';

const HEAD = 'apiVersion: email-validate.dev/v1\nkind: EmailFlow\n';

function problemsOf(source: string, code = 'EV_ERR_FLOW_INVALID'): FlowProblem[] {
  try {
    parseFlow(source, 'flow.yaml');
  } catch (err) {
    assert.ok(isEmailValidateError(err), 'an EmailValidateError');
    assert.equal(err.code, code);
    return err.details?.problems as FlowProblem[];
  }
  assert.fail('expected the flow to be rejected');
}

/** Each malformed file and the first problem it must produce: `line:col: path: message`. */
const MALFORMED: Array<{
  name: string;
  source: string;
  at: string;
  message: RegExp;
  code?: string;
}> = [
  { name: 'empty file', source: '', at: '1:1:', message: /the file is empty/ },
  {
    name: 'YAML syntax error',
    source: `${HEAD}steps:\n  - send: { to: a@b\n`,
    at: '5:1:',
    message: /YAML syntax error/,
  },
  {
    name: 'duplicate key',
    source: `${HEAD}steps:\n  - send:\n      to: a@b.test\n      to: c@d.test\n`,
    at: '6:7:',
    message: /YAML syntax error: Map keys must be unique/,
  },
  {
    name: 'wrong apiVersion',
    source: 'apiVersion: v0\nkind: EmailFlow\nsteps: [{ send: { to: a@b.test } }]\n',
    at: '1:13: apiVersion:',
    message: /unsupported apiVersion "v0"/,
  },
  {
    name: 'wrong kind',
    source: 'apiVersion: email-validate.dev/v1\nkind: Flow\nsteps: [{ send: { to: a@b.test } }]\n',
    at: '2:7: kind:',
    message: /kind must be EmailFlow/,
  },
  { name: 'missing steps', source: HEAD, at: '1:1:', message: /"steps" is required/ },
  {
    name: 'empty steps',
    source: `${HEAD}steps: []\n`,
    at: '3:8: steps:',
    message: /at least one step/,
  },
  {
    name: 'unknown top-level key, with a suggestion',
    source: `${HEAD}stpes: []\n`,
    at: '3:1: stpes:',
    message: /unknown field "stpes"; did you mean "steps"\?/,
  },
  {
    name: 'step without an action',
    source: `${HEAD}steps:\n  - name: nothing\n`,
    at: '4:5: steps[0]:',
    message: /needs exactly one action/,
  },
  {
    name: 'step with two actions',
    source: `${HEAD}steps:\n  - send: { to: a@b.test }\n    expect: { to: a@b.test }\n`,
    at: '5:5: steps[0].expect:',
    message: /exactly one action, found send and expect/,
  },
  {
    name: 'misspelt matcher',
    source: `${HEAD}steps:\n  - send: { to: a@b.test }\n  - expect:\n      to: a@b.test\n      subjet: Hi\n`,
    at: '7:7: steps[1].expect.subjet:',
    message: /did you mean "subject"/,
  },
  {
    name: 'deadline inside the action',
    source: `${HEAD}steps:\n  - expect:\n      to: a@b.test\n      within: 5s\n`,
    at: '6:7: steps[0].expect.within:',
    message:
      /unknown field "within"; a deadline is the step's "timeout", written next to the action/,
  },
  {
    name: 'timeout inside the action',
    source: `${HEAD}steps:\n  - expectNone:\n      timeout: 5s\n`,
    at: '5:7: steps[0].expectNone.timeout:',
    message: /a deadline is the step's "timeout"/,
  },
  {
    name: 'bad regular expression',
    source: `${HEAD}steps:\n  - expect:\n      subject: /Welcome (/\n`,
    at: '5:16: steps[0].expect.subject:',
    message: /invalid regular expression \/Welcome \(\/: missing closing \)/,
  },
  {
    name: 'unknown template variable',
    source: `${HEAD}steps:\n  - send:\n      to: "{{run.uid}}@b.test"\n`,
    at: '5:11: steps[0].send.to:',
    message: /unknown template variable "\{\{run\.uid\}\}"/,
    code: 'EV_ERR_FLOW_TEMPLATE',
  },
  {
    name: 'unclosed template',
    source: `${HEAD}steps:\n  - send:\n      to: "{{run.id@b.test"\n`,
    at: '5:11: steps[0].send.to:',
    message: /unclosed "\{\{"/,
    code: 'EV_ERR_FLOW_TEMPLATE',
  },
  {
    name: 'send without recipient',
    source: `${HEAD}steps:\n  - send:\n      subject: Hi\n`,
    at: '5:7: steps[0].send:',
    message: /"to" is required/,
  },
  {
    name: 'count out of range',
    source: `${HEAD}steps:\n  - send: { to: a@b.test, count: 0 }\n`,
    at: '4:34: steps[0].send.count:',
    message: /whole number from 1 to 10000, got number 0/,
  },
  {
    name: 'bad rate',
    source: `${HEAD}steps:\n  - send: { to: a@b.test, rate: fast }\n`,
    at: '4:33: steps[0].send.rate:',
    message: /messages per second/,
  },
  {
    name: 'bad timeout',
    source: `${HEAD}steps:\n  - timeout: soon\n    expect: { to: a@b.test }\n`,
    at: '4:14: steps[0].timeout:',
    message: /"soon" is not a duration/,
  },
  {
    name: 'bad http url',
    source: `${HEAD}steps:\n  - http: { url: "ftp://x" }\n`,
    at: '4:18: steps[0].http.url:',
    message: /http or https URL/,
  },
  {
    name: 'bad http status',
    source: `${HEAD}steps:\n  - http: { url: "http://x.test", status: 700 }\n`,
    at: '4:43: steps[0].http.status:',
    message: /HTTP status such as 200/,
  },
  {
    name: 'json and body',
    source: `${HEAD}steps:\n  - http: { url: "http://x.test", json: {}, body: x }\n`,
    at: '4:45: steps[0].http.body:',
    message: /either json or body/,
  },
  {
    name: 'bad event type',
    source: `${HEAD}steps:\n  - expectEvent: { type: bounce }\n`,
    at: '4:26: steps[0].expectEvent.type:',
    message: /one of rejected, deferred, bounced, webhook/,
  },
  {
    name: 'bad SMTP code',
    source: `${HEAD}steps:\n  - expectEvent: { type: rejected, code: 99 }\n`,
    at: '4:42: steps[0].expectEvent.code:',
    message: /SMTP reply code/,
  },
  {
    name: 'status on a non-webhook event',
    source: `${HEAD}steps:\n  - expectEvent: { type: rejected, status: 200 }\n`,
    at: '4:36: steps[0].expectEvent.status:',
    message: /applies only to type: webhook/,
  },
  {
    name: 'bad verdict',
    source: `${HEAD}steps:\n  - expect: { dkim: maybe }\n`,
    at: '4:21: steps[0].expect.dkim:',
    message: /one of pass, fail, none/,
  },
  {
    name: 'bad sink rules, positioned in the flow file',
    source:
      `${HEAD}sink:\n  rules:\n    - match: { recipient: "x*" }\n      reject: { code: 450 }\n steps: []\n`.replace(
        '\n steps: []',
        '\nsteps: [{ send: { to: a@b.test } }]',
      ),
    at: '6:23: sink.rules[0].reject.code:',
    message: /must be a 5xx SMTP reply code/,
  },
  {
    name: 'job without image',
    source: `${HEAD}steps:\n  - job: { command: [sh] }\n`,
    at: '4:5: steps[0].job:',
    message: /"image" is required/,
  },
];

describe('flow file parsing', () => {
  it('parses every example', () => {
    for (const file of readdirSync('examples').filter((f) => f.endsWith('.yaml'))) {
      const flow = parseFlow(readFileSync(`examples/${file}`, 'utf8'), `examples/${file}`);
      assert.ok(flow.steps.length > 0, file);
      assert.equal(flow.needsCluster, false, `${file} runs with --local`);
    }
  });

  it('parses the flow examples in docs/flows.md', () => {
    const section = readFileSync('docs/flows.md', 'utf8');
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1])
      .filter((b) => b.includes('kind: EmailFlow'));
    assert.ok(blocks.length > 0);
    for (const block of blocks) assert.ok(parseFlow(block, 'docs/flows.md').steps.length > 0);
  });

  for (const c of MALFORMED) {
    it(`points at the problem: ${c.name}`, () => {
      const problems = problemsOf(c.source, c.code);
      const all = problems as Array<FlowProblem & { text: string }>;
      const hit = all.find((p) => p.text.startsWith(`flow.yaml:${c.at}`));
      assert.ok(hit, `no problem at ${c.at}; got:\n${all.map((p) => p.text).join('\n')}`);
      assert.match(hit.message, c.message);
    });
  }

  it('reports every problem, in file order', () => {
    const problems = problemsOf(
      `${HEAD}steps:\n  - expect:\n      dkim: maybe\n  - send: { to: a@b.test, count: -1 }\n  - bogus: 1\n`,
    );
    assert.deepEqual([...new Set(problems.map((p) => p.line))], [5, 6, 7]);
  });

  it('reads step timeouts in the one duration grammar (a bare number, YAML or quoted, is seconds)', () => {
    const flow = parseFlow(
      `${HEAD}steps:\n  - timeout: 5\n    expect: { to: a@b.test }\n  - timeout: "1.5"\n    expect: { to: a@b.test }\n  - timeout: 1m30s\n    expect: { to: a@b.test }\n`,
      'f.yaml',
    );
    assert.deepEqual(
      flow.steps.map((s) => s.timeoutMs),
      [5000, 1500, 90_000],
    );
  });

  it('fills defaults and keeps templates for the run', () => {
    const flow = parseFlow(
      `${HEAD}defaults: { timeout: 2s, from: "app@{{env.D}}" }\nsteps:\n  - send: { to: "u+{{run.id}}@x.test" }\n  - expect: { to: "u+{{run.id}}@x.test" }\n  - expectNone: { subject: x }\n  - name: slow\n    timeout: 1m\n    http: { url: "http://x.test", json: { a: "{{run.id}}" } }\n`,
      'f.yaml',
    );
    const [send, expect, none, http] = flow.steps;
    assert.equal(send.action.kind === 'send' && send.action.from, 'app@{{env.D}}');
    assert.equal(send.action.kind === 'send' && send.action.subject, 'Validation Email');
    assert.equal(expect.timeoutMs, 2000);
    assert.equal(none.timeoutMs, 3000, 'expectNone keeps its own short window');
    assert.equal(http.timeoutMs, 60_000);
    assert.equal(
      http.action.kind === 'http' && http.action.method,
      'POST',
      'a JSON body implies POST',
    );
    assert.equal(http.name, 'slow');
    assert.match(expect.name, /expect a message to u\+\{\{run\.id\}\}@x\.test/);
    assert.deepEqual([...new Set(flow.templates.map((t) => t.variable))].sort(), [
      'env.D',
      'run.id',
    ]);
    assert.equal(flow.templates.find((t) => t.variable === 'env.D')?.ref.line, 3);
  });

  it('marks flows with job steps as needing a cluster', () => {
    const flow = parseFlow(
      `${HEAD}steps:\n  - job: { image: "busybox", command: [sh, -c, "echo hi"] }\n`,
      'f.yaml',
    );
    assert.equal(flow.needsCluster, true);
  });

  it('refuses files above the size bound', () => {
    const problems = problemsOf(`${HEAD}# ${'x'.repeat(1024 * 1024)}\nsteps: []\n`);
    assert.match(problems[0].message, /larger than/);
  });

  it('bounds alias expansion', () => {
    const lines = ['a0: &a0 [x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]`,
      );
    const problems = problemsOf(
      `${HEAD}metadata:\n  labels:\n${lines.map((l) => `    ${l}`).join('\n')}\nsteps: [{ send: { to: a@b.test } }]\n`,
    );
    assert.ok(problems.some((p) => /aliases/.test(p.message)));
  });
});
