import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';
import { parseFlow } from '../../../../src/flow/parse.ts';
import { exitCodeOf, totalsOf, type FlowResult } from '../../../../src/flow/result.ts';
import {
  checkTemplateVariables,
  MAX_JOB_LOG_TAIL,
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
    start?: number;
  } = {},
): Promise<{ result: FlowResult; driver: FakeDriver; clock: FakeClock }> {
  const flow = parseFlow(HEAD + yaml, 'flow.yaml');
  const sink = new FakeSink();
  const clock = new FakeClock(options.start ?? 0);
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
  return { result: await promise, driver, clock };
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

describe('flow runner: exact step results', () => {
  const brief = (r: FlowResult): Array<[string, string, string | null]> =>
    r.steps.map((s) => [s.status, s.summary, s.errorCode ?? null]);

  it('reports every missing {{env.X}} once, ignoring other variables', () => {
    const flow = parseFlow(
      `${HEAD}steps:\n  - send: { to: "a+{{run.id}}@{{env.B}}", subject: "{{env.A}} {{env.B}} {{env.C}}" }\n`,
      'flow.yaml',
    );
    const err = checkTemplateVariables(flow, { C: 'set' });
    assert.match(
      err?.message ?? '',
      /environment variable B is not set \(used as \{\{env\.B\}\}\) \(and 2 more\)$/,
    );
    assert.equal(err?.hint, 'set B, A in the environment before running the flow');
    const problems = (err?.details as { problems: Array<{ message: string; text: string }> })
      .problems;
    assert.deepEqual(
      problems.map((p) => p.message),
      [
        'environment variable B is not set (used as {{env.B}})',
        'environment variable A is not set (used as {{env.A}})',
        'environment variable B is not set (used as {{env.B}})',
      ],
    );
    assert.ok(
      problems.every((p) => p.text.startsWith('flow.yaml:4:') && p.text.endsWith(p.message)),
    );
    const one = checkTemplateVariables(flow, { B: 'b', C: 'c' });
    assert.match(
      one?.message ?? '',
      /environment variable A is not set \(used as \{\{env\.A\}\}\)$/,
    );
    assert.equal(checkTemplateVariables(flow, { A: 'a', B: 'b', C: 'c' }), null);
  });

  it('names steps with their templates rendered, and locates them', async () => {
    const { result } = await run(`steps:
  - name: "send to {{run.id}}"
    send: { to: a@x.test }
  - name: "then {{env.NOPE}}"
    send: { to: b@x.test }
`);
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.location]),
      [
        ['send to abc', 'flow.yaml:4:5'],
        ['then {{env.NOPE}}', 'flow.yaml:6:5'],
      ],
    );
  });

  it('a template or matcher failing at run time is EV_ERR_FLOW_TEMPLATE; other errors EV_ERR_FLOW_STEP', async () => {
    const t = await run('steps:\n  - send: { to: "a@{{env.NOPE}}" }\n  - send: { to: a@x.test }\n');
    assert.equal(t.result.steps[0].status, 'error');
    assert.equal(t.result.steps[0].errorCode, 'EV_ERR_FLOW_TEMPLATE');
    assert.deepEqual(
      t.result.steps[1].summary,
      `skipped: step 1 (${t.result.steps[0].name}) could not run`,
    );
    const plain = await run('steps:\n  - http: { url: "http://x.test" }\n', {
      driver: (d) => {
        d.http = () => {
          throw new Error('socket hang up');
        };
      },
    });
    assert.deepEqual(brief(plain.result), [['error', 'socket hang up', 'EV_ERR_FLOW_STEP']]);
    assert.equal(plain.result.steps[0].details, undefined);
    const str = await run('steps:\n  - http: { url: "http://x.test" }\n', {
      driver: (d) => {
        d.http = () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw 'a string';
        };
      },
    });
    assert.deepEqual(brief(str.result), [['error', 'a string', 'EV_ERR_FLOW_STEP']]);
  });

  it('an error with a hint shows it in the details', async () => {
    const { result } = await run('steps:\n  - job: { image: "busybox:1" }\n');
    assert.deepEqual(result.steps[0].details, [
      'hint: run the flow without --local (it needs a kubeconfig), or replace the job with an http or send step',
    ]);
    assert.equal(result.steps[0].errorCode, 'EV_ERR_FLOW_STEP');
  });

  it('measures the run on the injected clock', async () => {
    const { result } = await run('steps:\n  - timeout: 1s\n    expect: { subject: never }\n', {
      start: 50_000,
    });
    assert.equal(result.durationMs, 1_000);
    assert.equal(result.steps[0].durationMs, 1_000);
  });

  it('a failed job stops the flow; a failed expectation does not', async () => {
    const { result } = await run(
      'steps:\n  - name: build\n    job: { image: "busybox:1" }\n  - send: { to: a@x.test }\n',
      {
        driver: (d) =>
          d.withJobs(() => ({ succeeded: false, exitCode: null, reason: null, logs: '' })),
      },
    );
    assert.deepEqual(brief(result), [
      ['failed', 'job busybox:1 failed', null],
      ['skipped', 'skipped: step 1 (build) failed', null],
    ]);
    assert.equal(result.steps[0].details, undefined);
  });

  it('job: request, exit codes and the tail of a long log', async () => {
    const long = `${'x'.repeat(10)}\n${'y'.repeat(MAX_JOB_LOG_TAIL)}\n\n`;
    const { result, driver } = await run(
      `steps:
  - name: migrate
    timeout: 30s
    job: { image: "busybox:{{run.id}}", command: ["{{run.id}}"] }
  - job: { image: "b:2" }
  - job: { image: "b:3" }
`,
      {
        driver: (d) => {
          let n = 0;
          d.withJobs(() => {
            n++;
            if (n === 1) return { succeeded: true, exitCode: 0, reason: null, logs: '' };
            if (n === 2) return { succeeded: true, exitCode: null, reason: null, logs: 'x' };
            return { succeeded: false, exitCode: 3, reason: null, logs: long };
          });
        },
      },
    );
    assert.equal(driver.jobs[0].name, 'migrate');
    assert.equal(driver.jobs[0].image, 'busybox:abc');
    assert.deepEqual(driver.jobs[0].command, ['abc']);
    assert.equal(driver.jobs[0].timeoutMs, 30_000);
    assert.deepEqual(brief(result), [
      ['passed', 'job busybox:abc completed (exit 0)', null],
      ['passed', 'job b:2 completed', null],
      ['failed', 'job b:3 failed with exit code 3', null],
    ]);
    assert.deepEqual(result.steps[2].details, [`log: …${'y'.repeat(MAX_JOB_LOG_TAIL - 2)}`]);
  });

  it('job: a log of exactly the tail length is shown whole', async () => {
    const logs = `a\n${'b'.repeat(MAX_JOB_LOG_TAIL - 2)}`;
    const { result } = await run('steps:\n  - job: { image: "b:1" }\n', {
      driver: (d) => d.withJobs(() => ({ succeeded: false, exitCode: 1, reason: 'Error', logs })),
    });
    assert.deepEqual(result.steps[0].details, [
      'log: a',
      `log: ${'b'.repeat(MAX_JOB_LOG_TAIL - 2)}`,
    ]);
  });

  it('timeouts: send is an error, http and job fail; no timer is left behind', async () => {
    const never = <T>(_r: unknown, signal?: AbortSignal): Promise<T> =>
      new Promise<T>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    const send = await run('steps:\n  - timeout: 2s\n    send: { to: a@x.test }\n', {
      driver: (d) => {
        d.sendMail = never;
      },
    });
    assert.deepEqual(brief(send.result), [
      ['error', 'sending did not finish within 2s', 'EV_ERR_FLOW_STEP'],
    ]);
    const job = await run('steps:\n  - timeout: 3s\n    job: { image: "b:1" }\n', {
      driver: (d) => {
        d.withJobs(() => ({ succeeded: true, exitCode: 0, reason: null, logs: '' }));
        d.runJob = never;
      },
    });
    assert.deepEqual(brief(job.result), [['failed', 'the job did not finish within 3s', null]]);
    const http = await run('steps:\n  - timeout: 1m\n    http: { url: "http://x.test" }\n');
    assert.equal(http.result.status, 'passed');
    assert.equal(http.clock.pending, 0);
  });

  it('expect: exact summaries for one and several messages', async () => {
    const { result } = await run(`steps:
  - send: { to: a@x.test, subject: "s{{index}}", count: 2 }
  - expect: { to: a@x.test }
  - expect: { to: a@x.test, count: 2 }
  - timeout: 1s
    expect: { to: a@x.test, count: 3 }
  - timeout: 1s
    expect: { to: b@x.test, count: 2 }
`);
    assert.deepEqual(
      result.steps.map((s) => s.summary),
      [
        'sent 2 messages: 2 accepted',
        `matched 1 of 1: ${result.steps[1].expectation?.matchedDescriptions[0]}`,
        `matched 2 of 2: ${result.steps[2].expectation?.matchedDescriptions[0]}, …`,
        'expected 3 matching messages within 1s; only 2 arrived (2 seen)',
        'expected 2 matching messages within 1s; none arrived (2 seen)',
      ],
    );
    assert.match(result.steps[1].summary, /^matched 1 of 1: message \S+ from /);
  });

  it('expectNone: passes quietly, fails with how many arrived', async () => {
    const { result } = await run(`steps:
  - timeout: 1s
    expectNone: { to: a@x.test }
  - send: { to: a@x.test }
  - timeout: 1s
    expectNone: { to: a@x.test }
  - send: { to: a@x.test }
  - timeout: 1s
    expectNone: { to: a@x.test }
`);
    assert.deepEqual(
      result.steps.map((s) => [s.status, s.summary]),
      [
        ['passed', 'no matching message within 1s (0 seen)'],
        ['passed', 'sent 1 message: 1 accepted'],
        ['failed', 'expected no matching message, but one arrived'],
        ['passed', 'sent 1 message: 1 accepted'],
        ['failed', 'expected no matching message, but one arrived'],
      ],
    );
  });

  it('expectNone: interrupted', async () => {
    const controller = new AbortController();
    const flow = parseFlow(`${HEAD}steps:\n  - expectNone: { subject: x }\n`, 'flow.yaml');
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
    assert.deepEqual(brief(await promise), [['error', 'interrupted', 'EV_ERR_INTERRUPTED']]);
  });

  it('expectEvent: exact summaries, singular and plural', async () => {
    const { result } = await run(`steps:
  - send: { to: bounce@x.test }
  - expectEvent: { type: rejected, to: bounce@x.test }
  - timeout: 1s
    expectEvent: { type: rejected, count: 2 }
  - timeout: 1s
    expectEvent: { type: deferred }
  - timeout: 1s
    expectEvent: { type: webhook }
  - timeout: 1s
    expectEvent: { type: webhook, count: 2 }
`);
    assert.deepEqual(
      result.steps.map((s) => s.summary),
      [
        'sent 1 message: 0 accepted, 1 rejected',
        `matched 1 of 1: ${result.steps[1].expectation?.matchedDescriptions[0]}`,
        'expected 2 matching rejected events within 1s; only 1 arrived (1 seen)',
        'expected a matching deferred event within 1s; none arrived (1 seen)',
        'expected a matching webhook delivery within 1s; none arrived (1 seen)',
        'expected 2 matching webhook deliveries within 1s; none arrived (1 seen)',
      ],
    );
  });

  it('send: at most five notes, retried recipients only (to, cc and bcc), retries counted', async () => {
    const { result, driver } = await run(
      `steps:
  - send: { to: [r1@x.test, r2@x.test, r3@x.test, r4@x.test, r5@x.test, r6@x.test, r7@x.test] }
  - send: { to: [ok@x.test, d1@x.test], cc: [c-ok@x.test, d2@x.test], bcc: [b-ok@x.test, d3@x.test], retries: 2, retryDelay: 1s }
  - send: { to: [fine@x.test], retries: 3 }
`,
      {
        driver: (d) => {
          d.sendMail = async (mail) => {
            d.sent.push(mail);
            const all = [...mail.to, ...mail.cc, ...mail.bcc];
            const f = (recipient: string, code: number) => ({
              recipient,
              code,
              response: `${code} ${recipient}`,
            });
            return {
              accepted: all.filter((a) => !/^[rd]\d/.test(a)),
              rejected: all.filter((a) => a.startsWith('r')).map((a) => f(a, 550)),
              deferred: all.filter((a) => /^d\d/.test(a)).map((a) => f(a, 451)),
            };
          };
        },
      },
    );
    assert.deepEqual(brief(result), [
      ['passed', 'sent 1 message: 0 accepted, 7 rejected', null],
      ['passed', 'sent 1 message: 3 accepted, 3 deferred, 6 retried after deferral', null],
      ['passed', 'sent 1 message: 1 accepted', null],
    ]);
    assert.deepEqual(result.steps[0].details, [
      'rejected r1@x.test: 550 r1@x.test',
      'rejected r2@x.test: 550 r2@x.test',
      'rejected r3@x.test: 550 r3@x.test',
      'rejected r4@x.test: 550 r4@x.test',
      'rejected r5@x.test: 550 r5@x.test',
    ]);
    assert.deepEqual(result.steps[1].details, [
      'deferred d1@x.test: 451 d1@x.test',
      'deferred d2@x.test: 451 d2@x.test',
      'deferred d3@x.test: 451 d3@x.test',
    ]);
    assert.equal(result.steps[2].details, undefined);
    assert.deepEqual(
      driver.sent.slice(1).map((m) => [m.to, m.cc, m.bcc]),
      [
        [
          ['ok@x.test', 'd1@x.test'],
          ['c-ok@x.test', 'd2@x.test'],
          ['b-ok@x.test', 'd3@x.test'],
        ],
        [['d1@x.test'], ['d2@x.test'], ['d3@x.test']],
        [['d1@x.test'], ['d2@x.test'], ['d3@x.test']],
        [['fine@x.test'], [], []],
      ],
    );
    assert.deepEqual(result.steps[1].sent, {
      messages: 1,
      accepted: 3,
      rejected: 0,
      deferred: 3,
      retried: 6,
    });
  });

  it('an interrupt aborts the request of the running step at once', async () => {
    const controller = new AbortController();
    const flow = parseFlow(`${HEAD}steps:\n  - http: { url: "http://x.test" }\n`, 'flow.yaml');
    const sink = new FakeSink();
    const clock = new FakeClock();
    const driver = new FakeDriver(sink, clock);
    let aborted = false;
    driver.httpRequest = (_r: HttpRequestSpec, signal?: AbortSignal) =>
      new Promise((_, reject) =>
        signal?.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        }),
      );
    const promise = runFlow({
      flow,
      driver,
      history: sink.history,
      clock,
      startedAt: '',
      vars: { run: { id: 'x' }, env: {} },
      signal: controller.signal,
    });
    await flushMicrotasks();
    controller.abort();
    await flushMicrotasks();
    assert.equal(aborted, true, 'the request saw the abort without any clock time passing');
    assert.deepEqual(brief(await promise), [['error', 'interrupted', 'EV_ERR_INTERRUPTED']]);
    assert.equal(clock.pending, 0);
  });

  it('http: exact summaries; a content type given in the headers is kept; a text body is sent', async () => {
    const { result, driver } = await run(
      `steps:
  - http:
      url: "http://x.test/{{run.id}}"
      method: PUT
      headers: { Content-Type: "application/merge-patch+json" }
      json: { a: 1 }
  - http: { url: "http://x.test/t", method: POST, body: "id={{run.id}}" }
  - http: { url: "http://x.test/f", status: [200, 201], responseBody: ready }
`,
      {
        driver: (d) => {
          d.http = (r) =>
            r.url.endsWith('/f')
              ? { status: 500, body: ' down \n now ' }
              : { status: 200, body: '' };
        },
      },
    );
    assert.deepEqual(driver.requests[0].headers, {
      'Content-Type': 'application/merge-patch+json',
    });
    assert.equal(driver.requests[1].body, 'id=abc');
    assert.deepEqual(driver.requests[1].headers, {});
    assert.deepEqual(brief(result), [
      ['passed', 'PUT http://x.test/abc answered 200', null],
      ['passed', 'POST http://x.test/t answered 200', null],
      [
        'failed',
        'GET http://x.test/f: status 500, expected 200 or 201; response body does not match ready',
        null,
      ],
    ]);
    assert.deepEqual(result.steps[2].details, ['response 500: "down now"']);
  });
});
