/**
 * `run FLOW.yaml…`: validates every flow file first (nothing is created for a
 * broken file), gets a sink (embedded, given, or created in the cluster),
 * runs each flow with its own run id and rules, and always releases what it
 * created, also on failure and interrupt.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { stringify as toYaml } from 'yaml';
import { evError, isEmailValidateError, type EmailValidateError } from '../../../src/errors.ts';
import type { Clock } from '../../../src/clock.ts';
import { FlowHistory } from '../../../src/flow/history.ts';
import {
  flowInvalid,
  flowProblemsOf,
  parseFlow,
  type FlowProblem,
} from '../../../src/flow/parse.ts';
import {
  totalsOf,
  worstStatus,
  type FlowResult,
  type RunReport,
  type StepResult,
} from '../../../src/flow/result.ts';
import {
  checkTemplateVariables,
  runFlow,
  type JobOutcome,
  type JobRequest,
} from '../../../src/flow/runner.ts';
import { renderDeep, type TemplateVars } from '../../../src/flow/template.ts';
import type { FlowSpec } from '../../../src/flow/types.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import type { EventsOptions, SinkClient, SinkInfo } from '../sink-client.ts';
import { createFlowDriver, type FlowMailTransport, type HttpRouter } from './flow-driver.ts';
import { startMockApp, type MockApp } from './mock-app.ts';
import { systemClock } from '../../../src/system-clock.ts';
import { codeOrMessage, errorMessage } from '../../../src/guards.ts';

/** How long the event feed may take to say hello before the sink counts as unreachable. */
export const FEED_CONNECT_TIMEOUT_MS = 15_000;

/**
 * The part of {@link SinkClient} a run uses, narrowed where an in-process sink
 * (flow/acquire-sink.ts, read from its context) cannot or need not say more.
 */
export type FlowSinkApi = Pick<SinkClient, 'get' | 'rules' | 'setRules'> & {
  info(): Promise<Pick<SinkInfo, 'lastSeq' | 'smtp'>>;
  events(options: Pick<EventsOptions, 'since' | 'signal' | 'onEvent' | 'onHello'>): Promise<void>;
  close?(): Promise<void>;
};

/** A sink the run can use, and how to let go of it. */
export interface AcquiredSink {
  mode: 'local' | 'external' | 'cluster';
  /** The sink's namespace (cluster runs), for `{{sink.namespace}}`. */
  namespace?: string;
  url: string;
  smtp: { host: string; port: number };
  api: FlowSinkApi;
  /** Put the original rules back at the end (a sink we did not create). */
  restoreRules: boolean;
  route?: HttpRouter;
  runJob?: (request: JobRequest, signal: AbortSignal) => Promise<JobOutcome>;
  release(): Promise<void>;
}

export interface RunFlowsOptions {
  files: string[];
  /** `jobSteps`: some flow has a `job` step (its rights are pre-checked with the sink's). */
  acquireSink(signal: AbortSignal, needs: { jobSteps: boolean }): Promise<AcquiredSink>;
  /** True when the sink will be in a cluster (job steps allowed). */
  cluster: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** Whole-run budget (`--timeout`), ms. */
  timeoutMs: number | null;
  signal: AbortSignal;
  /** Registers a cleanup with the interrupt handler; returns the unregister function. */
  registerCleanup(label: string, run: () => Promise<void>): () => void;
  onStatus?: (line: string) => void;
  onStep?(flow: FlowSpec, result: StepResult): void;
  clock?: Clock;
  readFile?: (path: string) => Promise<string>;
  /** Tests: a fake SMTP transport. */
  transport?: FlowMailTransport;
  newRunId?(): string;
}

/** 10 lowercase base-36 characters: safe in a local part, unique enough per run. */
export function newRunId(): string {
  const n = randomBytes(8).readBigUInt64BE();
  return n.toString(36).padStart(10, '0').slice(-10);
}

/** Reads and validates every flow; all problems of all files in one error. */
export async function loadFlows(
  files: string[],
  options: {
    cluster: boolean;
    env: Readonly<Record<string, string | undefined>>;
    readFile?: (path: string) => Promise<string>;
  },
): Promise<FlowSpec[]> {
  const read = options.readFile ?? ((p: string) => readFile(p, 'utf8'));
  const flows: FlowSpec[] = [];
  const problems: FlowProblem[] = [];
  let omitted = 0;
  for (const file of files) {
    let source: string;
    try {
      source = await read(file);
    } catch (err) {
      throw evError('EV_ERR_FILE_READ', `cannot read flow file ${file}: ${codeOrMessage(err)}`, {
        hint: 'check the path',
        cause: err,
      });
    }
    try {
      flows.push(parseFlow(source, file));
    } catch (err) {
      if (
        !isEmailValidateError(err) ||
        (err.code !== 'EV_ERR_FLOW_INVALID' && err.code !== 'EV_ERR_FLOW_TEMPLATE')
      )
        throw err;
      const got = flowProblemsOf(err);
      problems.push(...got.problems);
      omitted += got.omitted;
    }
  }
  if (problems.length > 0) throw flowInvalid(problems, omitted);
  for (const flow of flows) {
    if (!options.cluster) {
      const jobs = flow.steps.filter((s) => s.action.kind === 'job');
      if (jobs.length > 0) {
        const e = flowInvalid(
          jobs.map((s) => ({
            ...s.ref,
            path: `${s.ref.path}.job`,
            message:
              'job steps run in a Kubernetes cluster; they cannot run with --local or --sink',
          })),
        );
        throw Object.assign(e, {
          hint: 'run the flow against a cluster (drop --local/--sink), or replace the job with an http or send step',
        });
      }
    }
    const missing = checkTemplateVariables(flow, options.env);
    if (missing) throw missing;
  }
  return flows;
}

function waitForHello(
  api: FlowSinkApi,
  since: number,
  signal: AbortSignal,
  onEvent: (e: SinkEvent) => void,
  clock: Clock,
  onFailure: (err: EmailValidateError) => void,
): { ready: Promise<void>; done: Promise<void> } {
  let helloResolve!: () => void;
  let helloReject!: (err: EmailValidateError) => void;
  const ready = new Promise<void>((resolve, reject) => {
    helloResolve = resolve;
    helloReject = reject;
  });
  let instance: string | undefined;
  const timer = clock.setTimeout(
    () =>
      helloReject(
        evError(
          'EV_ERR_SINK_UNREACHABLE',
          `the sink's event feed did not answer within ${FEED_CONNECT_TIMEOUT_MS / 1000}s`,
          {
            hint: 'check the sink (kubectl email-validate status) and the --sink URL and token',
          },
        ),
      ),
    FEED_CONNECT_TIMEOUT_MS,
  );
  const done = api
    .events({
      since,
      signal,
      onEvent,
      onHello: (hello) => {
        clock.clearTimeout(timer);
        helloResolve();
        // A different instance is a restarted sink: its messages and this flow's rules are gone,
        // so what follows would fail (or pass) for the wrong reason.
        const id = (hello as { instance?: unknown } | null)?.instance;
        if (typeof id !== 'string') return;
        if (instance === undefined) instance = id;
        else if (id !== instance) {
          onFailure(
            evError(
              'EV_ERR_SINK_UNREACHABLE',
              "the sink restarted during the run (its messages and this flow's rules were lost)",
              {
                hint: 'check why the sink pod restarted (`kubectl describe pod -n NAMESPACE`, e.g. OOMKilled), then run the flow again',
              },
            ),
          );
        }
      },
    })
    .catch((err: unknown) => {
      clock.clearTimeout(timer);
      const e = isEmailValidateError(err)
        ? err
        : evError('EV_ERR_SINK_UNREACHABLE', `the sink's event feed failed: ${errorMessage(err)}`, {
            cause: err,
          });
      helloReject(e);
      onFailure(e);
    });
  ready.catch(() => undefined);
  return { ready, done };
}

/** Runs the flows; throws only for problems before any flow ran (bad files, no sink). */
export async function runFlowFiles(options: RunFlowsOptions): Promise<RunReport> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const status = options.onStatus ?? (() => undefined);
  const flows = await loadFlows(options.files, {
    cluster: options.cluster,
    env: options.env,
    ...(options.readFile ? { readFile: options.readFile } : {}),
  });
  const deadline = options.timeoutMs === null ? undefined : started + options.timeoutMs;

  const releases: Array<() => Promise<void>> = [];
  const unregisters: Array<() => void> = [];
  const hold = (label: string, release: () => Promise<void>): void => {
    // One release, shared: the interrupt handler and this function's finally may both ask, and
    // the second must wait for the first to finish (the process exits after both).
    let pending: Promise<void> | null = null;
    const once = (): Promise<void> => (pending ??= release());
    releases.push(once);
    unregisters.push(options.registerCleanup(label, once));
  };

  try {
    const sink = await options.acquireSink(options.signal, {
      jobSteps: flows.some((f) => f.needsCluster),
    });
    hold(
      sink.mode === 'cluster'
        ? 'the sink in the cluster'
        : sink.mode === 'local'
          ? 'the local sink'
          : 'the sink connection',
      () => sink.release(),
    );
    const mock = await startMockApp();
    hold('the mock application', () => mock.close());
    const driver = createFlowDriver({
      smtp: sink.smtp,
      ...(options.transport ? { transport: options.transport } : {}),
      ...(sink.route ? { route: sink.route } : {}),
      ...(sink.runJob ? { runJob: sink.runJob } : {}),
    });
    hold('SMTP and HTTP connections', () => driver.close());
    const originalRules = sink.restoreRules ? await sink.api.rules() : '';
    const rulesState = { changed: false };
    if (sink.restoreRules)
      hold("restoring the sink's rules", async () => {
        if (rulesState.changed) await sink.api.setRules(originalRules);
      });

    const results: FlowResult[] = [];
    for (const flow of flows) {
      if (options.signal.aborted) break;
      results.push(
        await runOne(flow, {
          sink,
          mock,
          driver,
          originalRules,
          clock,
          deadline,
          options,
          rulesState,
        }),
      );
    }
    const report: RunReport = {
      status: worstStatus(results.map((r) => r.status)),
      durationMs: clock.now() - started,
      sink: { url: sink.url, smtp: `${sink.smtp.host}:${sink.smtp.port}`, mode: sink.mode },
      flows: results,
      totals: totalsOf(results),
    };
    status(
      `ran ${results.length} flow${results.length === 1 ? '' : 's'} against the ${sink.mode} sink`,
    );
    return report;
  } finally {
    for (const release of releases.reverse()) {
      try {
        await release();
      } catch (err) {
        status(`warning: cleanup failed: ${errorMessage(err)}`);
      }
    }
    for (const u of unregisters) u();
  }
}

interface RunContext {
  sink: AcquiredSink;
  mock: MockApp;
  driver: ReturnType<typeof createFlowDriver>;
  originalRules: string;
  clock: Clock;
  deadline: number | undefined;
  options: RunFlowsOptions;
  /** Whether an earlier flow replaced the rules (a later flow without `sink:` then gets the original ones back). */
  rulesState: { changed: boolean };
}

async function runOne(flow: FlowSpec, ctx: RunContext): Promise<FlowResult> {
  const { sink, clock, options } = ctx;
  const runId = (options.newRunId ?? newRunId)();
  const startedAt = new Date().toISOString();
  const t0 = clock.now();
  const vars: TemplateVars = {
    run: { id: runId },
    env: options.env,
    sink: {
      url: sink.url,
      smtp: `${sink.smtp.host}:${sink.smtp.port}`,
      host: sink.smtp.host,
      port: sink.smtp.port,
      ...(sink.namespace ? { namespace: sink.namespace } : {}),
    },
    mock: { url: ctx.mock.url },
  };
  const feed = new AbortController();
  // The flow stops on Ctrl-C, and also when the event feed is lost for good: waiting for
  // deadlines then would only report every expectation as "nothing arrived".
  const flowSignal = new AbortController();
  const onAbort = (): void => {
    feed.abort();
    flowSignal.abort(options.signal.reason);
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const rules =
      flow.sinkRulesData === null
        ? ctx.originalRules
        : toYaml(renderDeep(flow.sinkRulesData, vars));
    if (flow.sinkRulesData !== null || ctx.rulesState.changed) {
      await sink.api.setRules(rules);
      ctx.rulesState.changed = flow.sinkRulesData !== null;
    }
    const { lastSeq } = await sink.api.info();
    const history = new FlowHistory((id) => sink.api.get(id));
    const { ready } = waitForHello(
      sink.api,
      lastSeq,
      feed.signal,
      (e) => history.ingest(e),
      clock,
      (err) => {
        if (!feed.signal.aborted) flowSignal.abort(err);
      },
    );
    await ready;
    options.onStatus?.(
      `flow ${flow.name} (${flow.file}): run ${runId}, ${flow.steps.length} steps`,
    );
    return await runFlow({
      flow,
      driver: ctx.driver,
      history,
      vars,
      clock,
      startedAt,
      signal: flowSignal.signal,
      ...(ctx.deadline === undefined ? {} : { deadline: ctx.deadline }),
      onStep: (r) => options.onStep?.(flow, r),
    });
  } catch (err) {
    const e = isEmailValidateError(err)
      ? err
      : evError('EV_ERR_FLOW_STEP', errorMessage(err), { cause: err });
    return {
      file: flow.file,
      name: flow.name,
      runId,
      status: 'error',
      startedAt,
      durationMs: clock.now() - t0,
      steps: [],
      error: { code: e.code, message: e.message },
    };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    feed.abort();
  }
}
