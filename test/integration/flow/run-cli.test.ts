/**
 * `run` end to end through the built CLI (`npm run build` first; `npm test`
 * does it): the examples pass with --local, failures are reported and exit 1,
 * broken files exit 2 with their position, JUnit is written and parses, and
 * Ctrl-C / failures leave a sink we were given with its rules restored.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, type RunningSink } from '../../../sink/index.ts';
import { cleanEnv, RUN_JS, runCli } from '../cli/cli-harness.ts';
import { childrenNamed, parseXml } from '../../unit/src/flow/xml-parse.ts';

const dir = mkdtempSync(join(tmpdir(), 'ev-flow-'));
const HEAD = 'apiVersion: email-validate.dev/v1\nkind: EmailFlow\n';

function flowFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, HEAD + body);
  return path;
}

describe('run (built CLI)', function () {
  this.timeout(60_000);

  for (const example of readdirSync('examples').filter((f) => f.endsWith('.yaml'))) {
    it(`passes examples/${example} with --local`, async () => {
      const r = await runCli(['run', '--local', `examples/${example}`]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^PASSED /m);
      assert.doesNotMatch(r.stdout, /✗/);
    });
  }

  it('fails with exit 1, explains the closest mismatch, and writes JUnit that parses', async () => {
    const file = flowFile(
      'failing.yaml',
      `metadata: { name: failing }
steps:
  - send: { to: "user+{{run.id}}@example.test", subject: Welcome aboard }
  - name: wrong subject
    timeout: 1s
    expect: { to: "user+{{run.id}}@example.test", subject: "/^Confirm/" }
  - name: still runs after a failed expectation
    expect: { to: "user+{{run.id}}@example.test" }
`,
    );
    const junit = join(dir, 'report.xml');
    const r = await runCli(['run', '--local', file, '--junit', junit]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^FAILED failing /m);
    assert.match(
      r.stdout,
      /✗ wrong subject: expected a matching message within 1s; none arrived \(1 seen\)/,
    );
    assert.match(
      r.stdout,
      /closest: message \S+ from \S+ to user\+\w+@example\.test, subject "Welcome aboard" \(1\/2 criteria matched\)/,
    );
    assert.match(r.stdout, /✗ subject: expected \/\^Confirm\/, got "Welcome aboard"/);
    assert.match(r.stdout, /✓ still runs after a failed expectation/);
    const root = parseXml(readFileSync(junit, 'utf8'));
    assert.equal(root.attrs.failures, '1');
    const cases = childrenNamed(childrenNamed(root, 'testsuite')[0], 'testcase');
    assert.equal(cases.length, 3);
    assert.match(childrenNamed(cases[1], 'failure')[0].text, /got "Welcome aboard"/);
  });

  it('prints the report as JSON with -o json', async () => {
    const r = await runCli(['run', '--local', '-o', 'json', 'examples/articles-flow.yaml']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      status: string;
      sink: { mode: string };
      flows: Array<{ runId: string; steps: Array<{ status: string; kind: string }> }>;
    };
    assert.equal(report.status, 'passed');
    assert.equal(report.sink.mode, 'local');
    assert.match(report.flows[0].runId, /^[0-9a-z]{10}$/);
    assert.ok(report.flows[0].steps.every((s) => s.status === 'passed'));
  });

  it('exits 2 with every problem and its position for a broken flow file, before starting a sink', async () => {
    const file = flowFile(
      'broken.yaml',
      'steps:\n  - send: { to: a@b.test, count: 0 }\n  - expect:\n      subjet: Hi\n',
    );
    const r = await runCli(['run', '--local', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(
        `error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:34: steps\\[0\\]\\.send\\.count: must be a whole number from 1 to 10000`,
      ),
    );
    assert.match(
      r.stderr,
      /:6:7: steps\[1\]\.expect\.subjet: unknown field "subjet"; did you mean "subject"\?/,
    );
    assert.match(r.stderr, /^hint: /m);
    assert.doesNotMatch(r.stderr, /embedded sink/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('hostile flow files: a capped problem list, a named depth limit, EV_ERR_FLOW_TEMPLATE for an unknown variable', async () => {
    const aliases = flowFile(
      'aliases.yaml',
      `x: &a { to: a@b.test }\nsteps:\n${Array.from({ length: 5001 }, () => '  - send: *a').join('\n')}\n`,
    );
    const r1 = await runCli(['run', '--local', aliases]);
    assert.equal(r1.code, 2);
    const errorLines = r1.stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.ok(errorLines.length <= 21, `${errorLines.length} error lines`);
    assert.match(r1.stderr, /more than 100 aliases \(MAX_FLOW_ALIAS_COUNT\)/);
    assert.ok(r1.stderr.length < 10_000, `${r1.stderr.length} bytes on stderr`);
    const many = flowFile(
      'many.yaml',
      `steps:\n${Array.from({ length: 300 }, (_, i) => `  - bogus${i}: 1`).join('\n')}\n`,
    );
    const r2 = await runCli(['run', '--local', many]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /^error: … and \d+ more problems \[EV_ERR_FLOW_INVALID\]$/m);
    const deep = flowFile('deep.yaml', `steps: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const r3 = await runCli(['run', '--local', deep]);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /:3:\d+: nested more than 64 levels deep \(MAX_FLOW_NESTING\)/);
    assert.doesNotMatch(r3.stderr, /call stack/i);
    const tmpl = flowFile('tmpl.yaml', 'steps:\n  - send: { to: "{{nope.x}}@b.test" }\n');
    const r4 = await runCli(['run', '--local', tmpl]);
    assert.equal(r4.code, 2);
    assert.match(
      r4.stderr,
      /:4:\d+: steps\[0\]\.send\.to: unknown template variable "\{\{nope\.x\}\}".*\[EV_ERR_FLOW_TEMPLATE\]/,
    );
  });

  it('exits 2 for a missing {{env.X}} and for job steps without a cluster', async () => {
    const env = flowFile(
      'env.yaml',
      'steps:\n  - http: { url: "{{env.EV_FLOW_TEST_APP_URL}}/healthz" }\n',
    );
    const r1 = await runCli(['run', '--local', env]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /environment variable EV_FLOW_TEST_APP_URL is not set/);
    assert.match(r1.stderr, /hint: set EV_FLOW_TEST_APP_URL/);
    const r2 = await runCli(['run', '--local', env], {
      env: { EV_FLOW_TEST_APP_URL: 'http://127.0.0.1:1' },
    });
    assert.equal(r2.code, 3, 'a refused connection is an environment failure');
    const job = flowFile('job.yaml', 'steps:\n  - job: { image: busybox }\n');
    const r3 = await runCli(['run', '--local', job]);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /:4:5: steps\[0\]\.job: job steps run in a Kubernetes cluster/);
  });

  it('runs several files in one invocation, each with its own run id and rules', async () => {
    const a = flowFile(
      'a.yaml',
      `metadata: { name: a }
sink:
  rules:
    - { name: block-x, match: { recipient: "x+*@example.test" }, reject: { code: 550 } }
steps:
  - send: { to: "x+{{run.id}}@example.test" }
  - expectEvent: { type: rejected, to: "x+{{run.id}}@example.test" }
`,
    );
    const b = flowFile(
      'b.yaml',
      `metadata: { name: b }
steps:
  - send: { to: "x+{{run.id}}@example.test" }
  - name: delivered, because the first flow's rules are gone
    expect: { to: "x+{{run.id}}@example.test" }
`,
    );
    const r = await runCli(['run', '--local', '-o', 'json', a, b]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      flows: Array<{ name: string; runId: string; status: string }>;
    };
    assert.deepEqual(
      report.flows.map((f) => [f.name, f.status]),
      [
        ['a', 'passed'],
        ['b', 'passed'],
      ],
    );
    assert.notEqual(report.flows[0].runId, report.flows[1].runId);
  });

  it('--junit into a missing directory exits 2 before starting a sink', async () => {
    const r = await runCli([
      'run',
      '--local',
      'examples/articles-flow.yaml',
      '--junit',
      join(dir, 'no-such-dir', 'report.xml'),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: --junit \S+: cannot write in \S+no-such-dir \(ENOENT\) \[EV_ERR_INVALID_OPTION\]\nhint: /m,
    );
    assert.doesNotMatch(r.stderr, /embedded sink/);
  });

  it('--timeout cuts the run short: the step in progress fails, the next is failed (exit 1, not a sink error), the rest skipped', async () => {
    const file = flowFile(
      'budget.yaml',
      `metadata: { name: budget }
steps:
  - timeout: 1m
    expect: { subject: never }
  - send: { to: a@example.test }
  - send: { to: b@example.test }
`,
    );
    const r = await runCli(['run', '--local', '--timeout', '500ms', '-o', 'json', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      status: string;
      flows: Array<{ steps: Array<{ status: string; summary: string; errorCode?: string }> }>;
    };
    assert.equal(report.status, 'failed');
    const steps = report.flows[0].steps;
    assert.deepEqual(
      steps.map((s) => s.status),
      ['failed', 'skipped', 'skipped'],
      'the cut step failed, the steps that never ran skipped',
    );
    // Where the 500 ms run out depends on how long the local sink took to start (a loaded machine may
    // spend them all there): both are right, and test/unit/plugin/lib/flow/run-flows.test.ts pins each on a FakeClock.
    assert.match(
      steps[0].summary,
      /^expected a matching message within \d+ms|reached its --timeout/,
    );
    assert.match(steps[1].summary, /^skipped: the run reached its --timeout/);
    assert.ok(
      steps.every((s) => s.errorCode === undefined),
      'a budget running out is no sink error',
    );
  });

  it('rejects --local together with --sink', async () => {
    const r = await runCli([
      'run',
      '--local',
      '--sink',
      'http://127.0.0.1:1',
      'examples/articles-flow.yaml',
    ]);
    assert.equal(r.code, 2);
  });

  it('a sink that dies mid-run ends the run with exit 3 (EV_ERR_SINK_UNREACHABLE), not with failed expectations', async () => {
    // A real `sink` process, killed with SIGKILL once the flow waits on its expectation.
    const token = 'flow-test-token-0123456789';
    const sinkProc = spawn(
      process.execPath,
      [
        RUN_JS,
        'sink',
        '--smtp-port',
        '0',
        '--http-port',
        '0',
        '--token',
        token,
        '--log-level',
        'info',
      ],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let log = '';
        const onData = (d: string): void => {
          log += d;
          const m = /http:\/\/127\.0\.0\.1:\d+/.exec(log);
          if (m) resolve(m[0]);
        };
        sinkProc.stdout.setEncoding('utf8').on('data', onData);
        sinkProc.stderr.setEncoding('utf8').on('data', onData);
        sinkProc.on('close', () => reject(new Error(`sink exited early: ${log}`)));
      });
      const file = flowFile(
        'sink-dies.yaml',
        `metadata: { name: sink-dies }
steps:
  - send: { to: "a+{{run.id}}@example.test" }
  - timeout: 5m
    expect: { subject: never }
  - expect: { to: "a+{{run.id}}@example.test" }
`,
      );
      // -o json: the report on stdout, each step's line on stderr as it ends.
      const child = spawn(
        process.execPath,
        [RUN_JS, 'run', '--sink', url, '--token', token, '-o', 'json', file],
        { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/✓ send 1 to/.test(stderr) && sinkProc.exitCode === null) sinkProc.kill('SIGKILL');
      });
      const code = await new Promise<number | null>((resolve) =>
        child.on('close', (c) => resolve(c)),
      );
      assert.equal(code, 3, stdout + stderr);
      const report = JSON.parse(stdout) as {
        status: string;
        flows: Array<{ steps: Array<{ status: string; summary: string; errorCode?: string }> }>;
      };
      assert.equal(report.status, 'error');
      const [send, waiting, after] = report.flows[0].steps;
      assert.equal(send.status, 'passed');
      assert.deepEqual([waiting.status, waiting.errorCode], ['error', 'EV_ERR_SINK_UNREACHABLE']);
      assert.match(waiting.summary, /^cannot reach the sink at http:\/\/127\.0\.0\.1:\d+/);
      assert.equal(after.status, 'skipped');
    } finally {
      sinkProc.kill('SIGKILL');
    }
  });

  describe('against a sink we were given (--sink)', () => {
    let sink: RunningSink;
    const ORIGINAL =
      'rules:\n  - name: original\n    match: { recipient: "never*@x.test" }\n    reject: true\n';
    before(async () => {
      sink = await startSink({ rules: ORIGINAL });
    });
    after(async () => {
      await sink.stop();
    });

    const withRules = (name: string, steps: string): string =>
      flowFile(
        name,
        `sink:
  rules:
    - name: flow-rule
      match: { recipient: "blocked+*@x.test" }
      reject: { code: 554, enhanced: 5.7.1, text: Blocked by the flow }
steps:
${steps}`,
      );

    it("uses the flow's rules, and restores the sink's own rules after a failure", async () => {
      const file = withRules(
        'rules.yaml',
        `  - send: { to: "blocked+{{run.id}}@x.test" }
  - expectEvent: { type: rejected, to: "blocked+{{run.id}}@x.test", code: 554 }
  - timeout: 300ms
    expect: { subject: never }
`,
      );
      const r = await runCli(['run', '--sink', sink.url, '--token', sink.token ?? '', file]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /✓ expect rejected/);
      assert.equal(sink.context.rules.source(), ORIGINAL);
    });

    it('reads the token from --token-file and passes the articles flow', async () => {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, `${sink.token}\n`);
      const r = await runCli([
        'run',
        '--sink',
        sink.url,
        '--token-file',
        tokenFile,
        'examples/articles-flow.yaml',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const bad = await runCli([
        'run',
        '--sink',
        sink.url,
        '--token',
        'wrong',
        'examples/articles-flow.yaml',
      ]);
      assert.equal(bad.code, 3, 'a refused token is an environment failure');
      assert.match(bad.stderr, /EV_ERR_UNAUTHORIZED/);
    });

    it('Ctrl-C ends the run with 130 and restores the rules', async () => {
      const file = withRules('interrupt.yaml', '  - timeout: 1m\n    expect: { subject: never }\n');
      const child = spawn(
        process.execPath,
        [RUN_JS, 'run', '--sink', sink.url, '--token', sink.token ?? '', file],
        { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      const started = new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          if (/flow interrupt .* steps/.test(stderr)) resolve();
        });
        child.on('close', () => reject(new Error(`exited early: ${stderr}`)));
      });
      await started;
      assert.equal(
        sink.context.rules.source().includes('flow-rule'),
        true,
        "the flow's rules are in force while it runs",
      );
      const exited = new Promise<number | null>((resolve) =>
        child.on('close', (code) => resolve(code)),
      );
      child.kill('SIGINT');
      assert.equal(await exited, 130);
      assert.match(stderr, /interrupted: cleaning up/);
      assert.equal(sink.context.rules.source(), ORIGINAL);
    });
  });
});
