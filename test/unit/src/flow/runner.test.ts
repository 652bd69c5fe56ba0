import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';
import { parseFlow } from '../../../../src/flow/parse.ts';
import { exitCodeOf, totalsOf, type FlowResult } from '../../../../src/flow/result.ts';
import {
  checkTemplateVariables,
  runFlow,
  type FlowDriver,
  type HttpRequestSpec,
  type JobRequest,
  type OutgoingMail,
  type SendOutcome,
} from '../../../../src/flow/runner.ts';
import { ERROR_CODES, evError } from '../../../../src/errors.ts';
import { FakeSink } from './helpers.ts';

const HEAD = 'apiVersion: email-validate.dev/v1\nkind: EmailFlow\n';

/** A driver that "delivers" sent mail into a fake sink (the way the real sink would announce it). */
class FakeDriver implements FlowDriver {
  readonly sent: OutgoingMail[] = [];
  readonly requests: HttpRequestSpec[] = [];
  readonly jobs: JobRequest[] = [];
  readonly sink: FakeSink;
  clock: FakeClock;
  sentAt: number[] = [];
  http: (r: HttpRequestSpec) => { status: number; body: string } = () => ({
    status: 200,
    body: 'ok',
  });
  job:
    | ((r: JobRequest) => {
        succeeded: boolean;
        exitCode: number | null;
        reason: string | null;
        logs: string;
      })
    | null = null;
  runJob?: FlowDriver['runJob'];

  constructor(sink: FakeSink, clock: FakeClock) {
    this.sink = sink;
    this.clock = clock;
  }

  withJobs(fn: NonNullable<FakeDriver['job']>): this {
    this.job = fn;
    this.runJob = async (r) => {
      this.jobs.push(r);
      return fn(r);
    };
    return this;
  }

  async sendMail(mail: OutgoingMail): Promise<SendOutcome> {
    this.sent.push(mail);
    this.sentAt.push(this.clock.now());
    const outcome: SendOutcome = { accepted: [], rejected: [], deferred: [] };
    for (const to of mail.to) {
      if (to.startsWith('bounce')) {
        outcome.rejected.push({ recipient: to, code: 550, response: '550 5.1.1 no such user' });
        this.sink.reject(to);
      } else if (
        to.startsWith('defer') &&
        this.sent.filter((m) => m.to.includes(to)).length === 1
      ) {
        outcome.deferred.push({ recipient: to, code: 451, response: '451 4.7.1 greylisted' });
        this.sink.reject(to, 451, '4.7.1', 'message.deferred');
      } else {
        outcome.accepted.push(to);
      }
    }
    if (outcome.accepted.length)
      this.sink.deliver({
        from: mail.from,
        to: outcome.accepted,
        subject: mail.subject,
        text: mail.text,
      });
    return outcome;
  }

  async httpRequest(r: HttpRequestSpec): Promise<{ status: number; body: string }> {
    this.requests.push(r);
    return this.http(r);
  }

  async probeLink(): Promise<{ status: number; error: null }> {
    return { status: 200, error: null };
  }
}

async function run(
  yaml: string,
  options: {
    driver?: (d: FakeDriver) => void;
    env?: Record<string, string>;
    signal?: AbortSignal;
    deadline?: number;
    advance?: number;
  } = {},
): Promise<{ result: FlowResult; driver: FakeDriver }> {
  const flow = parseFlow(HEAD + yaml, 'flow.yaml');
  const sink = new FakeSink();
  const clock = new FakeClock();
  const driver = new FakeDriver(sink, clock);
  options.driver?.(driver);
  const promise = runFlow({
    flow,
    driver,
    history: sink.history,
    clock,
    startedAt: '2026-11-28T00:00:00.000Z',
    vars: { run: { id: 'abc' }, env: options.env ?? {}, mock: { url: 'http://mock.test' } },
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
  });
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  for (let i = 0; i < 200 && !settled; i++) await clock.advance(options.advance ?? 100);
  return { result: await promise, driver };
}

describe('flow runner', () => {
  it('send: count, templates per message, then expect sees them all', async () => {
    const { result, driver } = await run(`steps:
  - send: { to: "u+{{run.id}}-{{index}}@x.test", subject: "n{{index}}", count: 3 }
  - expect: { to: "/^u\\\\+abc-\\\\d@x\\\\.test$/", count: 3 }
`);
    assert.equal(result.status, 'passed', JSON.stringify(result.steps, null, 1));
    assert.deepEqual(
      driver.sent.map((m) => m.to[0]),
      ['u+abc-1@x.test', 'u+abc-2@x.test', 'u+abc-3@x.test'],
    );
    assert.deepEqual(
      driver.sent.map((m) => m.subject),
      ['n1', 'n2', 'n3'],
    );
    assert.deepEqual(result.steps[0].sent, {
      messages: 3,
      accepted: 3,
      rejected: 0,
      deferred: 0,
      retried: 0,
    });
  });

  it('send: paces messages at the given rate on the injected clock', async () => {
    const { driver } = await run('steps:\n  - send: { to: a@x.test, count: 4, rate: 2/s }\n', {
      advance: 50,
    });
    assert.deepEqual(driver.sentAt, [0, 500, 1000, 1500]);
  });

  it('send: rejections are results, deferrals are retried when asked', async () => {
    const { result, driver } = await run(`steps:
  - send: { to: bounce@x.test }
  - send: { to: defer@x.test, retries: 1, retryDelay: 1s }
  - expectEvent: { type: rejected, to: bounce@x.test, code: 550 }
  - expectEvent: { type: deferred, to: defer@x.test, code: 451 }
  - expect: { to: defer@x.test }
`);
    assert.equal(result.status, 'passed', JSON.stringify(result.steps, null, 1));
    assert.match(result.steps[0].summary, /0 accepted, 1 rejected/);
    assert.match(result.steps[1].summary, /1 accepted, 1 retried after deferral/);
    assert.equal(driver.sent.length, 3);
  });

  it('send: a deferral without retries is counted as deferred', async () => {
    const { result } = await run('steps:\n  - send: { to: defer@x.test }\n');
    assert.equal(result.steps[0].sent?.deferred, 1);
    assert.match(result.steps[0].details?.[0] ?? '', /deferred defer@x\.test: 451 4\.7\.1/);
  });

  it('http: method, templated headers and JSON body; status and body checked', async () => {
    const { result, driver } = await run(
      `steps:
  - http:
      url: "{{mock.url}}/signup"
      headers: { authorization: "Bearer {{env.TOKEN}}" }
      json: { email: "s+{{run.id}}@x.test", n: 1 }
      status: 201
      responseBody: /"id":\\d+/
`,
      {
        env: { TOKEN: 't0k' },
        driver: (d) => {
          d.http = () => ({ status: 201, body: '{"id":7}' });
        },
      },
    );
    assert.equal(result.status, 'passed', JSON.stringify(result.steps, null, 1));
    const r = driver.requests[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, 'http://mock.test/signup');
    assert.equal(r.headers.authorization, 'Bearer t0k');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body ?? ''), { email: 's+abc@x.test', n: 1 });
  });

  it('http: a wrong status fails the step, shows the response and skips the rest', async () => {
    const { result } = await run(
      `steps:
  - http: { url: "http://app.test/signup", method: POST, status: [200, 201] }
  - expect: { to: a@x.test }
`,
      {
        driver: (d) => {
          d.http = () => ({ status: 500, body: 'database is down' });
        },
      },
    );
    assert.equal(result.status, 'failed');
    assert.equal(result.steps[0].status, 'failed');
    assert.match(result.steps[0].summary, /status 500, expected 200 or 201/);
    assert.match(result.steps[0].details?.[0] ?? '', /database is down/);
    assert.equal(result.steps[1].status, 'skipped');
    assert.match(result.steps[1].summary, /step 1 .* failed/);
  });

  it('http: a response body mismatch fails', async () => {
    const { result } = await run(
      'steps:\n  - http: { url: "http://app.test/", responseBody: ready }\n',
      {
        driver: (d) => {
          d.http = () => ({ status: 200, body: 'starting' });
        },
      },
    );
    assert.equal(result.steps[0].status, 'failed');
    assert.match(result.steps[0].summary, /does not match ready/);
  });

  it('http: a connection failure is an error (exit 3)', async () => {
    const { result } = await run('steps:\n  - http: { url: "http://app.test/" }\n', {
      driver: (d) => {
        d.http = () => {
          throw evError('EV_ERR_FLOW_STEP', 'GET http://app.test/ failed: ECONNREFUSED');
        };
      },
    });
    assert.equal(result.steps[0].status, 'error');
    assert.equal(result.steps[0].errorCode, 'EV_ERR_FLOW_STEP');
  });

  it('http: no answer within the step timeout fails the step', async () => {
    const { result } = await run(
      'steps:\n  - timeout: 2s\n    http: { url: "http://app.test/" }\n',
      {
        driver: (d) => {
          d.httpRequest = (_r: HttpRequestSpec, signal?: AbortSignal) =>
            new Promise<{ status: number; body: string }>((_, reject) =>
              signal?.addEventListener('abort', () => reject(signal.reason)),
            );
        },
      },
    );
    assert.equal(result.steps[0].status, 'failed');
    assert.match(result.steps[0].summary, /no response within 2s/);
  });

  it('job: runs through the driver; a failing job shows its log', async () => {
    const ok = await run(
      'steps:\n  - job: { image: "busybox:1", command: [sh, -c], args: ["echo {{run.id}}"], env: { A: "{{run.id}}" } }\n',
      {
        driver: (d) =>
          d.withJobs(() => ({ succeeded: true, exitCode: 0, reason: null, logs: 'abc\n' })),
      },
    );
    assert.equal(ok.result.status, 'passed');
    assert.deepEqual(ok.driver.jobs[0].args, ['echo abc']);
    assert.equal(ok.driver.jobs[0].env.A, 'abc');
    const bad = await run('steps:\n  - job: { image: "busybox:1" }\n', {
      driver: (d) =>
        d.withJobs(() => ({
          succeeded: false,
          exitCode: 2,
          reason: 'Error',
          logs: 'line 1\nboom\n',
        })),
    });
    assert.equal(bad.result.steps[0].status, 'failed');
    assert.match(bad.result.steps[0].summary, /exit code 2: Error/);
    assert.deepEqual(bad.result.steps[0].details, ['log: line 1', 'log: boom']);
  });

  it('job: without a cluster the step is an error with a hint', async () => {
    const { result } = await run('steps:\n  - job: { image: "busybox:1" }\n');
    assert.equal(result.steps[0].status, 'error');
    assert.match(result.steps[0].summary, /cannot run with --local or --sink/);
  });

  it('a failed expectation does not stop the flow', async () => {
    const { result } = await run(`steps:
  - timeout: 1s
    expect: { subject: never }
  - send: { to: a@x.test }
  - expect: { to: a@x.test }
`);
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ['failed', 'passed', 'passed'],
    );
    assert.equal(result.status, 'failed');
    assert.match(result.steps[0].summary, /expected a matching message within 1s; none arrived/);
  });

  it('the run deadline (--timeout) cuts steps short', async () => {
    const { result } = await run(
      'steps:\n  - timeout: 1m\n    expect: { subject: never }\n  - send: { to: a@x.test }\n',
      { deadline: 2_000 },
    );
    assert.equal(result.steps[0].status, 'failed');
    assert.match(result.steps[0].summary, /within 2s/);
    assert.equal(
      result.steps[1].status,
      'skipped',
      'the cut step failed (exit 1); the steps that never ran are skipped',
    );
    assert.equal(result.steps[1].errorCode, undefined);
    assert.match(result.steps[1].summary, /^skipped: the run reached its --timeout/);
    assert.equal(result.status, 'failed');
  });

  it('a deadline passed before a flow starts fails its first step (never a silent pass), and skips the rest', async () => {
    const { result } = await run(
      'steps:\n  - send: { to: a@x.test }\n  - send: { to: b@x.test }\n',
      { deadline: -1 },
    );
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ['failed', 'skipped'],
    );
    assert.equal(result.status, 'failed');
  });

  it('an interrupt ends the current step and skips the rest', async () => {
    const controller = new AbortController();
    const flow = parseFlow(
      `${HEAD}steps:\n  - expect: { subject: never }\n  - send: { to: a@x.test }\n`,
      'flow.yaml',
    );
    const sink = new FakeSink();
    const clock = new FakeClock();
    const promise = runFlow({
      flow,
      driver: new FakeDriver(sink, clock),
      history: sink.history,
      clock,
      startedAt: '',
      vars: { run: { id: 'x' }, env: {} },
      signal: controller.signal,
    });
    await flushMicrotasks();
    controller.abort();
    const result = await promise;
    assert.deepEqual(
      result.steps.map((s) => s.status),
      ['error', 'skipped'],
    );
    assert.equal(result.steps[0].errorCode, 'EV_ERR_INTERRUPTED');
    const report = {
      status: result.status,
      durationMs: 0,
      sink: { url: '', smtp: '', mode: 'local' as const },
      flows: [result],
      totals: totalsOf([result]),
    };
    assert.equal(
      exitCodeOf(report, (c) => ERROR_CODES[c as keyof typeof ERROR_CODES].exit),
      130,
    );
  });

  it('a lost event feed (abort with a sink error) ends the flow as an environment error, not as "nothing arrived"', async () => {
    const controller = new AbortController();
    const flow = parseFlow(
      `${HEAD}steps:\n  - expect: { subject: never }\n  - expect: { subject: never }\n`,
      'flow.yaml',
    );
    const sink = new FakeSink();
    const clock = new FakeClock();
    const promise = runFlow({
      flow,
      driver: new FakeDriver(sink, clock),
      history: sink.history,
      clock,
      startedAt: '',
      vars: { run: { id: 'x' }, env: {} },
      signal: controller.signal,
    });
    await flushMicrotasks();
    controller.abort(
      evError('EV_ERR_SINK_UNREACHABLE', 'cannot reach the sink at http://127.0.0.1:1'),
    );
    const result = await promise;
    assert.deepEqual(
      result.steps.map((s) => [s.status, s.errorCode ?? null]),
      [
        ['error', 'EV_ERR_SINK_UNREACHABLE'],
        ['skipped', null],
      ],
    );
    assert.match(result.steps[1].summary, /skipped: cannot reach the sink/);
    const report = {
      status: result.status,
      durationMs: 0,
      sink: { url: '', smtp: '', mode: 'local' as const },
      flows: [result],
      totals: totalsOf([result]),
    };
    assert.equal(
      exitCodeOf(report, (c) => ERROR_CODES[c as keyof typeof ERROR_CODES].exit),
      3,
    );
  });

  it('exit codes: 0 passed, 1 failed, 3 environment error', async () => {
    const exit = (r: FlowResult): number =>
      exitCodeOf(
        {
          status: r.status,
          durationMs: 0,
          sink: { url: '', smtp: '', mode: 'local' },
          flows: [r],
          totals: totalsOf([r]),
        },
        (c) => ERROR_CODES[c as keyof typeof ERROR_CODES].exit,
      );
    assert.equal(exit((await run('steps:\n  - send: { to: a@x.test }\n')).result), 0);
    assert.equal(
      exit((await run('steps:\n  - timeout: 1s\n    expect: { to: b@x.test }\n')).result),
      1,
    );
    assert.equal(
      exit(
        (
          await run('steps:\n  - http: { url: "http://x.test" }\n', {
            driver: (d) => {
              d.http = () => {
                throw evError('EV_ERR_SINK_UNREACHABLE', 'down');
              };
            },
          })
        ).result,
      ),
      3,
    );
  });

  it('checks every {{env.X}} before running', () => {
    const flow = parseFlow(
      `${HEAD}steps:\n  - send: { to: "a@{{env.DOMAIN}}", subject: "{{env.SUBJECT}}" }\n`,
      'flow.yaml',
    );
    const err = checkTemplateVariables(flow, { DOMAIN: 'x.test' });
    assert.equal(err?.code, 'EV_ERR_FLOW_TEMPLATE');
    assert.match(
      err?.message ?? '',
      /^flow\.yaml:4:\d+: steps\[0\]\.send\.subject: environment variable SUBJECT is not set/,
    );
    assert.match(err?.hint ?? '', /set SUBJECT/);
    assert.equal(checkTemplateVariables(flow, { DOMAIN: 'x', SUBJECT: 'y' }), null);
  });
});
