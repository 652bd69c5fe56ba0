/**
 * Runs one parsed flow against a driver: the steps in order, each within its
 * deadline. The driver does the I/O (SMTP, HTTP, Kubernetes Jobs, link
 * probes); the history is fed by the caller from the sink's event stream,
 * starting at the sequence number the sink had reached when the flow began.
 *
 * Failed expectations do not stop a flow (every expectation gets reported);
 * a failed or broken action (send, http, job) does, because the steps after
 * it would only report the same cause again.
 */
import { evError, isEmailValidateError, type EmailValidateError } from '../errors.ts';
import { sleep, type Clock } from '../clock.ts';
import { compileCriteria, compileEventCriteria, type LinkProbe } from './criteria.ts';
import { formatDuration } from '../duration.ts';
import { watchEvents, watchMessages, type ExpectationOutcome } from './expectations.ts';
import type { FlowHistory } from './history.ts';
import { describeStatus, MatcherError, quote, statusMatches, textMatcher } from './matchers.ts';
import { formatProblem, type FlowProblem } from './parse.ts';
import { worstStatus, type FlowResult, type StepResult } from './result.ts';
import { renderDeep, renderTemplate, TemplateError, type TemplateVars } from './template.ts';
import type { FlowSpec, FlowStep, HttpStep, JobStep, SendStep } from './types.ts';

/** Bytes of an HTTP response body kept for matching and reports. */
export const MAX_HTTP_BODY_BYTES = 256 * 1024;
/** Characters of a job's log shown in a failure report. */
export const MAX_JOB_LOG_TAIL = 2_000;

export interface OutgoingMail {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
  attachments: Array<{ filename: string; content: string; contentType: string | null }>;
}

export interface RecipientFailure {
  recipient: string;
  code: number | null;
  response: string;
}

/** What the sink answered to one message (RCPT-level outcomes per recipient). */
export interface SendOutcome {
  accepted: string[];
  rejected: RecipientFailure[];
  deferred: RecipientFailure[];
}

export interface HttpRequestSpec {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export interface JobRequest {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  /** uid to run as; null or absent: the image's USER (which must not be root). */
  runAsUser?: number | null;
  timeoutMs: number;
}

export interface JobOutcome {
  succeeded: boolean;
  exitCode: number | null;
  reason: string | null;
  logs: string;
}

/** The I/O a flow needs. Errors it throws should be EmailValidateErrors (EV_ERR_FLOW_STEP, EV_ERR_SINK_*). */
export interface FlowDriver {
  sendMail(mail: OutgoingMail, signal: AbortSignal): Promise<SendOutcome>;
  httpRequest(request: HttpRequestSpec, signal: AbortSignal): Promise<HttpResponse>;
  /** Absent when no cluster is available (`--local`, `--sink`). */
  runJob?: (request: JobRequest, signal: AbortSignal) => Promise<JobOutcome>;
  probeLink(url: string): Promise<LinkProbe>;
}

export interface RunFlowOptions {
  flow: FlowSpec;
  driver: FlowDriver;
  history: FlowHistory;
  vars: TemplateVars;
  clock: Clock;
  /** ISO time the flow started (wall clock, for reports). */
  startedAt: string;
  /** Clock time by which the whole run must end (`--timeout`). */
  deadline?: number;
  signal?: AbortSignal;
  /** Called as each step finishes (progress on stderr). */
  onStep?: (result: StepResult) => void;
}

/**
 * Checks up front that every `{{env.NAME}}` is set, so a run never fails half
 * way through for a missing variable. Returns EV_ERR_FLOW_TEMPLATE or null.
 */
export function checkTemplateVariables(
  flow: FlowSpec,
  env: Readonly<Record<string, string | undefined>>,
): EmailValidateError | null {
  const problems: FlowProblem[] = [];
  for (const t of flow.templates) {
    if (t.variable.startsWith('env.') && env[t.variable.slice(4)] === undefined) {
      problems.push({
        ...t.ref,
        message: `environment variable ${t.variable.slice(4)} is not set (used as {{${t.variable}}})`,
      });
    }
  }
  if (problems.length === 0) return null;
  const names = [...new Set(problems.map((p) => p.message.split(' ')[2]))];
  return evError(
    'EV_ERR_FLOW_TEMPLATE',
    formatProblem(problems[0]) + (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
    {
      hint: `set ${names.join(', ')} in the environment before running the flow`,
      details: { problems: problems.map((p) => ({ ...p, text: formatProblem(p) })) },
    },
  );
}

function location(step: FlowStep): string {
  return `${step.ref.file}:${step.ref.line}:${step.ref.col}`;
}

/** Step names may quote templated fields (`expect a message to u+{{run.id}}@…`): show them rendered when possible. */
function displayName(name: string, vars: TemplateVars): string {
  try {
    return renderTemplate(name, vars);
  } catch {
    return name;
  }
}

function errorCodeOf(err: unknown): string {
  if (isEmailValidateError(err)) return err.code;
  if (err instanceof TemplateError || err instanceof MatcherError) return 'EV_ERR_FLOW_TEMPLATE';
  return 'EV_ERR_FLOW_STEP';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs every step of `flow` in order and returns its result (never throws for step failures). */
export async function runFlow(options: RunFlowOptions): Promise<FlowResult> {
  const { flow, clock } = options;
  const started = clock.now();
  const steps: StepResult[] = [];
  let stopReason: string | null = null;

  for (const step of flow.steps) {
    const base = {
      index: step.index,
      name: displayName(step.name, options.vars),
      kind: step.action.kind,
      location: location(step),
    };
    if (stopReason !== null || options.signal?.aborted) {
      const why = options.signal?.aborted
        ? isEmailValidateError(options.signal.reason)
          ? options.signal.reason.message
          : 'the run was interrupted'
        : stopReason;
      steps.push({ ...base, status: 'skipped', durationMs: 0, summary: `skipped: ${why}` });
      continue;
    }
    const remaining = options.deadline === undefined ? Infinity : options.deadline - clock.now();
    if (remaining <= 0) {
      // Running out of the run's budget is the flow not finishing in time (exit 1), not a
      // cluster or sink failure (exit 3). When a step of this flow already failed (the one
      // the budget cut short), the steps that never ran are skipped, as JUnit readers expect.
      const cut = steps.some((s) => s.status === 'failed' || s.status === 'error');
      const result: StepResult = cut
        ? {
            ...base,
            status: 'skipped',
            durationMs: 0,
            summary: 'skipped: the run reached its --timeout',
          }
        : {
            ...base,
            status: 'failed',
            durationMs: 0,
            summary: 'the run reached its --timeout before this step',
          };
      steps.push(result);
      options.onStep?.(result);
      stopReason = 'the run reached its --timeout';
      continue;
    }
    const timeoutMs = Math.min(step.timeoutMs, remaining);
    const t0 = clock.now();
    let partial: Omit<StepResult, keyof typeof base | 'durationMs'>;
    try {
      partial = await runStep(step, timeoutMs, options);
    } catch (err) {
      // An abort is either Ctrl-C or the caller giving up on the sink (its reason says which).
      const reason: unknown = options.signal?.aborted ? options.signal.reason : undefined;
      const cause = isEmailValidateError(reason) ? reason : options.signal?.aborted ? null : err;
      partial = {
        status: 'error',
        errorCode: cause === null ? 'EV_ERR_INTERRUPTED' : errorCodeOf(cause),
        summary: cause === null ? 'interrupted' : messageOf(cause),
        ...(isEmailValidateError(cause) && cause.hint ? { details: [`hint: ${cause.hint}`] } : {}),
      };
    }
    const result: StepResult = { ...base, ...partial, durationMs: clock.now() - t0 };
    steps.push(result);
    options.onStep?.(result);
    const isAction =
      step.action.kind === 'send' || step.action.kind === 'http' || step.action.kind === 'job';
    if (result.status === 'error' || (isAction && result.status === 'failed'))
      stopReason = `step ${step.index + 1} (${step.name}) ${result.status === 'error' ? 'could not run' : 'failed'}`;
  }
  return {
    file: flow.file,
    name: flow.name,
    runId: options.vars.run.id,
    status: worstStatus(steps.map((s) => s.status)),
    startedAt: options.startedAt,
    durationMs: clock.now() - started,
    steps,
  };
}

type StepOutcome = Omit<StepResult, 'index' | 'name' | 'kind' | 'location' | 'durationMs'>;

async function runStep(
  step: FlowStep,
  timeoutMs: number,
  options: RunFlowOptions,
): Promise<StepOutcome> {
  const action = step.action;
  switch (action.kind) {
    case 'send':
      return withDeadline(
        options,
        timeoutMs,
        (signal) => runSend(action, options, signal),
        `sending did not finish within ${formatDuration(timeoutMs)}`,
        'error',
      );
    case 'http':
      return withDeadline(
        options,
        timeoutMs,
        (signal) => runHttp(action, options, signal),
        `no response within ${formatDuration(timeoutMs)}`,
        'failed',
      );
    case 'job':
      return withDeadline(
        options,
        timeoutMs,
        (signal) => runJob(step, action, timeoutMs, options, signal),
        `the job did not finish within ${formatDuration(timeoutMs)}`,
        'failed',
      );
    case 'expect': {
      const outcome = await watchMessages({
        history: options.history,
        clock: options.clock,
        timeoutMs,
        signal: options.signal,
        criteria: compileCriteria(action.criteria, options.vars),
        mode: 'expect',
        count: action.count,
        probeLink: (url) => options.driver.probeLink(url),
      });
      return expectationResult(
        outcome,
        timeoutMs,
        action.count === 1 ? 'a matching message' : `${action.count} matching messages`,
      );
    }
    case 'expectNone': {
      const outcome = await watchMessages({
        history: options.history,
        clock: options.clock,
        timeoutMs,
        signal: options.signal,
        criteria: compileCriteria(action.criteria, options.vars),
        mode: 'none',
        count: 0,
        probeLink: (url) => options.driver.probeLink(url),
      });
      if (outcome.interrupted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
      return outcome.ok
        ? {
            status: 'passed',
            summary: `no matching message within ${formatDuration(timeoutMs)} (${outcome.considered} seen)`,
            expectation: outcome,
          }
        : {
            status: 'failed',
            summary: `expected no matching message, but ${outcome.matched.length === 1 ? 'one' : outcome.matched.length} arrived`,
            expectation: outcome,
          };
    }
    case 'expectEvent': {
      const outcome = await watchEvents({
        history: options.history,
        clock: options.clock,
        timeoutMs,
        signal: options.signal,
        criteria: compileEventCriteria(action, options.vars),
        count: action.count,
      });
      const one = action.count === 1;
      const noun =
        action.type === 'webhook'
          ? `webhook deliver${one ? 'y' : 'ies'}`
          : `${action.type} event${one ? '' : 's'}`;
      const what = `${one ? 'a' : action.count} matching ${noun}`;
      return expectationResult(outcome, timeoutMs, what);
    }
  }
}

function expectationResult(
  outcome: ExpectationOutcome,
  timeoutMs: number,
  what: string,
): StepOutcome {
  if (outcome.interrupted) throw evError('EV_ERR_INTERRUPTED', 'interrupted');
  if (outcome.ok) {
    return {
      status: 'passed',
      summary: `matched ${outcome.matched.length} of ${outcome.wanted}: ${outcome.matchedDescriptions.slice(0, 1).join('')}${outcome.matched.length > 1 ? ', …' : ''}`,
      expectation: outcome,
    };
  }
  const got =
    outcome.matched.length === 0 ? 'none arrived' : `only ${outcome.matched.length} arrived`;
  return {
    status: 'failed',
    summary: `expected ${what} within ${formatDuration(timeoutMs)}; ${got} (${outcome.considered} seen)`,
    expectation: outcome,
  };
}

/** Runs `fn` with a signal that aborts at the deadline or on interrupt. */
async function withDeadline(
  options: RunFlowOptions,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<StepOutcome>,
  timeoutMessage: string,
  timeoutStatus: 'failed' | 'error',
): Promise<StepOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = options.clock.setTimeout(() => {
    timedOut = true;
    controller.abort(evError('EV_ERR_FLOW_STEP', timeoutMessage));
  }, timeoutMs);
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(controller.signal);
  } catch (err) {
    if (timedOut)
      return {
        status: timeoutStatus,
        summary: timeoutMessage,
        ...(timeoutStatus === 'error' ? { errorCode: 'EV_ERR_FLOW_STEP' } : {}),
      };
    throw err;
  } finally {
    options.clock.clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function runSend(
  action: SendStep,
  options: RunFlowOptions,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const counts = { messages: 0, accepted: 0, rejected: 0, deferred: 0, retried: 0 };
  const notes: string[] = [];
  const start = options.clock.now();
  for (let index = 1; index <= action.count; index++) {
    if (action.rate !== null) {
      const due = start + ((index - 1) * 1000) / action.rate;
      await sleep(options.clock, due - options.clock.now(), signal);
    }
    const vars = { ...options.vars, index };
    const r = (s: string): string => renderTemplate(s, vars);
    let mail: OutgoingMail = {
      from: r(action.from),
      to: action.to.map(r),
      cc: action.cc.map(r),
      bcc: action.bcc.map(r),
      subject: r(action.subject),
      text: action.text === null ? null : r(action.text),
      html: action.html === null ? null : r(action.html),
      headers: Object.fromEntries(Object.entries(action.headers).map(([k, v]) => [k, r(v)])),
      attachments: action.attachments.map((a) => ({
        filename: r(a.filename),
        content: r(a.content),
        contentType: a.contentType,
      })),
    };
    counts.messages++;
    for (let attempt = 0; ; attempt++) {
      const outcome = await options.driver.sendMail(mail, signal);
      counts.accepted += outcome.accepted.length;
      counts.rejected += outcome.rejected.length;
      for (const f of outcome.rejected)
        if (notes.length < 5) notes.push(`rejected ${f.recipient}: ${f.response}`);
      if (outcome.deferred.length === 0) break;
      if (attempt >= action.retries) {
        counts.deferred += outcome.deferred.length;
        for (const f of outcome.deferred)
          if (notes.length < 5) notes.push(`deferred ${f.recipient}: ${f.response}`);
        break;
      }
      counts.retried += outcome.deferred.length;
      const again = new Set(outcome.deferred.map((f) => f.recipient));
      mail = {
        ...mail,
        to: mail.to.filter((a) => again.has(a)),
        cc: mail.cc.filter((a) => again.has(a)),
        bcc: mail.bcc.filter((a) => again.has(a)),
      };
      await sleep(options.clock, action.retryDelayMs, signal);
    }
  }
  const parts = [`${counts.accepted} accepted`];
  if (counts.rejected) parts.push(`${counts.rejected} rejected`);
  if (counts.deferred) parts.push(`${counts.deferred} deferred`);
  if (counts.retried) parts.push(`${counts.retried} retried after deferral`);
  return {
    status: 'passed',
    summary: `sent ${counts.messages} message${counts.messages === 1 ? '' : 's'}: ${parts.join(', ')}`,
    sent: counts,
    ...(notes.length ? { details: notes } : {}),
  };
}

async function runHttp(
  action: HttpStep,
  options: RunFlowOptions,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const url = renderTemplate(action.url, options.vars);
  const headers = Object.fromEntries(
    Object.entries(action.headers).map(([k, v]) => [k, renderTemplate(v, options.vars)]),
  );
  let body: string | null = null;
  if (action.json !== null) {
    body = JSON.stringify(renderDeep(action.json, options.vars));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  } else if (action.body !== null) body = renderTemplate(action.body, options.vars);
  const response = await options.driver.httpRequest(
    { method: action.method, url, headers, body },
    signal,
  );
  const problems: string[] = [];
  if (!statusMatches(response.status, action.status))
    problems.push(`status ${response.status}, expected ${describeStatus(action.status)}`);
  if (action.responseBody !== null) {
    const m = textMatcher(renderTemplate(action.responseBody, options.vars));
    if (!m.test(response.body)) problems.push(`response body does not match ${m.source}`);
  }
  const excerpt = `response ${response.status}: ${quote(response.body, 200)}`;
  if (problems.length > 0)
    return {
      status: 'failed',
      summary: `${action.method} ${url}: ${problems.join('; ')}`,
      details: [excerpt],
    };
  return { status: 'passed', summary: `${action.method} ${url} answered ${response.status}` };
}

async function runJob(
  step: FlowStep,
  action: JobStep,
  timeoutMs: number,
  options: RunFlowOptions,
  signal: AbortSignal,
): Promise<StepOutcome> {
  if (!options.driver.runJob) {
    throw evError(
      'EV_ERR_FLOW_STEP',
      'job steps run in a Kubernetes cluster and cannot run with --local or --sink',
      {
        hint: 'run the flow without --local (it needs a kubeconfig), or replace the job with an http or send step',
      },
    );
  }
  const r = (s: string): string => renderTemplate(s, options.vars);
  const image = r(action.image);
  const outcome = await options.driver.runJob(
    {
      name: step.name,
      image,
      command: action.command.map(r),
      args: action.args.map(r),
      env: Object.fromEntries(Object.entries(action.env).map(([k, v]) => [k, r(v)])),
      runAsUser: action.runAsUser,
      timeoutMs,
    },
    signal,
  );
  const tail =
    outcome.logs.length > MAX_JOB_LOG_TAIL
      ? `…${outcome.logs.slice(-MAX_JOB_LOG_TAIL)}`
      : outcome.logs;
  const details = tail.trim()
    ? tail
        .trimEnd()
        .split('\n')
        .map((l) => `log: ${l}`)
    : undefined;
  if (outcome.succeeded)
    return {
      status: 'passed',
      summary: `job ${image} completed${outcome.exitCode !== null ? ` (exit ${outcome.exitCode})` : ''}`,
    };
  return {
    status: 'failed',
    summary: `job ${image} failed${outcome.exitCode !== null ? ` with exit code ${outcome.exitCode}` : ''}${outcome.reason ? `: ${outcome.reason}` : ''}`,
    ...(details ? { details } : {}),
  };
}
