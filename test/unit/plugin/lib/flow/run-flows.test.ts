import assert from 'node:assert/strict';
import { runFlowFiles, type FlowSinkApi } from '../../../../../plugin/lib/flow/run-flows.ts';
import { sleep } from '../../../../../src/clock.ts';
import { FakeClock } from '../../../../support/fake-clock.ts';

const FLOW = `apiVersion: email-validate.dev/v1
kind: EmailFlow
metadata: { name: restart }
steps:
  - timeout: 1m
    expect: { subject: never }
  - expect: { subject: never }
`;

/**
 * A sink API whose feed says hello as `first`, then, 50 ms later on `clock`, as `second`
 * (`hellos` counts the hellos sent, so a test can tell that the second one was delivered).
 */
function feedApi(
  first: string,
  second: string,
  clock: FakeClock,
): FlowSinkApi & { hellos: () => number } {
  let hellos = 0;
  const hello = (instance: string) => {
    hellos++;
    return { type: 'hello', protocol: 1, instance, oldestSeq: 1, lastSeq: 0 } as const;
  };
  return {
    hellos: () => hellos,
    info: async () => ({ lastSeq: 0, smtp: { host: '127.0.0.1', port: 1 } }),
    get: async () => {
      throw new Error('no messages');
    },
    rules: async () => '',
    setRules: async () => ({ count: 0 }),
    events: (o) =>
      new Promise<void>((resolve) => {
        o.onHello?.(hello(first));
        const timer = clock.setTimeout(() => o.onHello?.(hello(second)), 50);
        o.signal?.addEventListener(
          'abort',
          () => {
            clock.clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      }),
  };
}

/**
 * Awaits `p` while moving `clock` to its next timer whenever the run waits on it: fake time
 * passes only as the run asks for it, and nothing waits on real time.
 */
async function drive<T>(p: Promise<T>, clock: FakeClock): Promise<T> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 10_000 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    const next = clock.nextAt();
    if (next !== undefined) await clock.advanceTo(next);
  }
  return p;
}

async function run(first: string, second: string, timeoutMs: number | null) {
  const clock = new FakeClock(1_000);
  const api = feedApi(first, second, clock);
  const report = await drive(
    runFlowFiles({
      files: ['restart.yaml'],
      readFile: async () => FLOW,
      cluster: false,
      env: {},
      timeoutMs,
      clock,
      signal: new AbortController().signal,
      registerCleanup: () => () => undefined,
      acquireSink: async () => ({
        mode: 'external',
        url: 'http://sink.test',
        smtp: { host: '127.0.0.1', port: 1 },
        api,
        restoreRules: false,
        release: async () => undefined,
      }),
    }),
    clock,
  );
  return { report, clock, hellos: api.hellos() };
}

describe('runFlowFiles: the sink restarting mid-run', () => {
  it('ends the flow as a sink error (exit 3) at once, not as expectations failing at their deadline', async () => {
    const { report, clock, hellos } = await run('pod-a', 'pod-b', null);
    const steps = report.flows[0].steps;
    assert.equal(report.status, 'error');
    assert.deepEqual(
      steps.map((s) => s.status),
      ['error', 'skipped'],
    );
    assert.equal(steps[0].errorCode, 'EV_ERR_SINK_UNREACHABLE');
    assert.match(steps[0].summary, /restarted during the run/);
    assert.equal(hellos, 2);
    assert.equal(clock.now(), 1_050, "at the second hello, not at the step's 1m deadline");
  });

  it('a reconnect to the same instance is no restart', async () => {
    const { report, clock, hellos } = await run('pod-a', 'pod-a', 300);
    assert.equal(hellos, 2, 'the second hello came within the run');
    assert.deepEqual(
      report.flows[0].steps.map((s) => s.status),
      ['failed', 'skipped'],
      'ran until the --timeout budget, no sink error',
    );
    assert.ok(
      report.flows[0].steps.every((s) => s.errorCode === undefined),
      'no step is a sink error',
    );
    assert.equal(clock.now(), 1_300, 'the run ended at its 300 ms budget');
  });
});

const BUDGET_FLOW = `apiVersion: email-validate.dev/v1
kind: EmailFlow
metadata: { name: budget }
steps:
  - timeout: 1m
    expect: { subject: never }
  - send: { to: a@example.test }
  - send: { to: b@example.test }
`;

/** Runs BUDGET_FLOW with a 500 ms --timeout on a FakeClock; acquiring the sink takes `startMs` of that clock. */
async function runBudget(startMs: number) {
  const clock = new FakeClock(5_000);
  const api = feedApi('pod-a', 'pod-a', clock);
  const p = runFlowFiles({
    files: ['budget.yaml'],
    readFile: async () => BUDGET_FLOW,
    cluster: false,
    env: {},
    timeoutMs: 500,
    clock,
    signal: new AbortController().signal,
    registerCleanup: () => () => undefined,
    acquireSink: async () => {
      await sleep(clock, startMs);
      return {
        mode: 'external',
        url: 'http://sink.test',
        smtp: { host: '127.0.0.1', port: 1 },
        api,
        restoreRules: false,
        release: async () => undefined,
      };
    },
  });
  return { report: await drive(p, clock), clock };
}

describe('runFlowFiles: the --timeout budget on the injected clock', () => {
  it('the step in progress is cut to what is left of the budget and fails, the steps that never ran are skipped', async () => {
    const { report, clock } = await runBudget(200);
    const steps = report.flows[0].steps;
    assert.equal(report.status, 'failed');
    assert.deepEqual(
      steps.map((s) => s.status),
      ['failed', 'skipped', 'skipped'],
    );
    assert.match(
      steps[0].summary,
      /^expected a matching message within 300ms/,
      'the 500 ms budget less the 200 ms the sink took to start',
    );
    assert.equal(steps[0].durationMs, 300);
    assert.match(steps[1].summary, /^skipped: the run reached its --timeout/);
    assert.match(steps[2].summary, /^skipped: the run reached its --timeout/);
    assert.equal(clock.now(), 5_500, 'the run ended exactly at its budget');
  });

  it('a sink that takes the whole budget to start: the first step fails before it begins (a loaded machine), never a sink error', async () => {
    const { report } = await runBudget(600);
    const steps = report.flows[0].steps;
    assert.equal(report.status, 'failed');
    assert.deepEqual(
      steps.map((s) => s.status),
      ['failed', 'skipped', 'skipped'],
    );
    assert.match(steps[0].summary, /the run reached its --timeout before this step/);
    assert.ok(
      steps.every((s) => s.errorCode === undefined),
      'no step is a sink error',
    );
  });
});
