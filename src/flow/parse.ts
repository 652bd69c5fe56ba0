/**
 * Flow file parsing and validation. Every problem is reported as
 * `file:line:col: path: message`, where path names the field
 * (`steps[2].expect.subject`), so a user finds the mistake without guessing.
 * All problems are collected (up to a bound), not only the first.
 */
import { stringify as toYaml } from 'yaml';
import { evError, isEmailValidateError, type EmailValidateError } from '../errors.ts';
import { parseRules } from '../rules-schema.ts';
import { DURATION_HINT, formatDuration, readDuration } from '../duration.ts';
import {
  DKIM_VERDICTS,
  EVENT_TYPES,
  FLOW_FIELDS,
  HTTP_METHODS,
  LIST_UNSUBSCRIBE_STATES,
  MAX_FLOW_STEPS,
  MAX_JOB_UID,
  MAX_SEND_COUNT,
  MAX_SEND_RETRIES,
  MAX_SPAM_SCORE,
  MAX_STEP_TIMEOUT_MS,
} from './format.ts';
import { isStatusSpecItem, MatcherError, textMatcher } from './matchers.ts';
import {
  PLACEHOLDER_VARS,
  renderDeep,
  renderTemplate,
  templateVariables,
  TemplateError,
} from './template.ts';
import {
  FLOW_API_VERSION,
  FLOW_KIND,
  STEP_KINDS,
  type AttachmentMatcherSpec,
  type FlowSpec,
  type FlowStep,
  type HeaderMatcherSpec,
  type LinkMatcherSpec,
  type MessageCriteria,
  type SourceRef,
  type StatusSpec,
  type StepAction,
  type TemplateRef,
} from './types.ts';
import {
  childPath,
  MAX_FLOW_FILE_BYTES,
  parseLocatedYaml,
  type LocatedYaml,
} from './yaml-source.ts';
import { isOneOf } from '../guards.ts';

/** Problems listed before giving up: more would bury the first, which usually causes the rest. */
export const MAX_REPORTED_PROBLEMS = 20;

export const DEFAULT_TIMEOUTS_MS = Object.freeze({
  send: 30_000,
  http: 30_000,
  job: 300_000,
  expect: 30_000,
  expectEvent: 30_000,
  expectNone: 3_000,
});
export const DEFAULT_SENDER = 'flow+{{run.id}}@email-validate.test';

export interface FlowProblem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  /** 'template' for an unknown or malformed `{{variable}}` (EV_ERR_FLOW_TEMPLATE when every problem is one). */
  kind?: 'template';
}

export function formatProblem(p: FlowProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/**
 * Builds the error that carries the problems: EV_ERR_FLOW_TEMPLATE when every
 * problem is a template problem (as docs/errors.md promises for an unknown
 * variable), else EV_ERR_FLOW_INVALID. At most {@link MAX_REPORTED_PROBLEMS}
 * are listed, first by position; `details.omitted` counts the rest (a hostile
 * file cannot print thousands of lines).
 */
export function flowInvalid(unsorted: FlowProblem[], omittedBefore = 0): EmailValidateError {
  const sorted = [...unsorted].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col,
  );
  const problems = sorted.slice(0, MAX_REPORTED_PROBLEMS);
  const omitted = omittedBefore + sorted.length - problems.length;
  const total = problems.length + omitted;
  const first = formatProblem(problems[0]);
  const more = total > 1 ? ` (and ${total - 1} more problem${total > 2 ? 's' : ''})` : '';
  const template = unsorted.every((p) => p.kind === 'template') && omittedBefore === 0;
  return evError(template ? 'EV_ERR_FLOW_TEMPLATE' : 'EV_ERR_FLOW_INVALID', `${first}${more}`, {
    hint: template
      ? 'templates know run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url and env.NAME; see docs/flows.md'
      : 'see docs/flows.md, or point your editor at schema/email-flow.schema.json',
    details: { problems: problems.map((p) => ({ ...p, text: formatProblem(p) })), omitted },
  });
}

/** The problems (and the count left out) carried by an error from {@link flowInvalid}. */
export function flowProblemsOf(err: EmailValidateError): {
  problems: FlowProblem[];
  omitted: number;
} {
  const d = err.details as { problems?: FlowProblem[]; omitted?: number } | undefined;
  return { problems: d?.problems ?? [], omitted: d?.omitted ?? 0 };
}

type Obj = Record<string, unknown>;

class Checker {
  readonly problems: FlowProblem[] = [];
  readonly templates: TemplateRef[] = [];
  readonly file: string;
  readonly src: LocatedYaml;

  constructor(file: string, src: LocatedYaml) {
    this.file = file;
    this.src = src;
  }

  ref(path: string): SourceRef {
    const p = this.src.locate(path);
    return { file: this.file, path, line: p.line, col: p.col };
  }

  /** Problems beyond the reported ones, counted only. */
  omitted = 0;

  fail(path: string, message: string, atKey = false, kind?: 'template'): void {
    if (this.problems.length >= MAX_REPORTED_PROBLEMS) {
      this.omitted++;
      return;
    }
    const p = atKey ? this.src.locateKey(path) : this.src.locate(path);
    this.problems.push({
      file: this.file,
      line: p.line,
      col: p.col,
      path,
      message,
      ...(kind ? { kind } : {}),
    });
  }

  /** A mapping with only the `allowed` keys; unknown keys are reported at the key. */
  obj(value: unknown, path: string, allowed: readonly string[], what = 'a mapping'): Obj | null {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(path, `must be ${what}, got ${describe(value)}`);
      return null;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        const close = suggest(key, allowed);
        // A deadline inside a step's action is the commonest slip: it belongs to the step.
        const deadline =
          !close && !allowed.includes('timeout') && DEADLINE_WORDS.includes(key.toLowerCase())
            ? '; a deadline is the step\'s "timeout", written next to the action (e.g. `- timeout: 30s` then `expect: …`)'
            : '';
        this.fail(
          childPath(path, key),
          `unknown field "${key}"${close ? `; did you mean "${close}"?` : deadline} (allowed: ${allowed.join(', ')})`,
          true,
        );
      }
    }
    return value as Obj;
  }

  /** A string field; templates are checked and recorded. */
  str(
    fields: Obj,
    key: string,
    path: string,
    opts: { required?: boolean; template?: boolean; def?: string } = {},
  ): string | null {
    const p = childPath(path, key);
    const v = fields[key];
    if (v === undefined || v === null) {
      if (opts.required)
        this.fail(
          v === null ? p : path,
          `${v === null ? 'must not be empty' : `"${key}" is required`}`,
          v !== null,
        );
      return opts.def ?? null;
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      this.fail(p, `must be a string, got ${describe(v)}`);
      return null;
    }
    const s = String(v);
    if (opts.template !== false) this.template(s, p);
    return s;
  }

  template(s: string, path: string): boolean {
    try {
      for (const variable of templateVariables(s))
        this.templates.push({ variable, ref: this.ref(path) });
      return true;
    } catch (err) {
      if (err instanceof TemplateError) {
        this.fail(path, err.message, false, 'template');
        return false;
      }
      throw err;
    }
  }

  strList(fields: Obj, key: string, path: string, opts: { required?: boolean } = {}): string[] {
    const p = childPath(path, key);
    const v = fields[key];
    if (v === undefined || v === null) {
      if (opts.required) this.fail(path, `"${key}" is required`);
      return [];
    }
    const items = Array.isArray(v) ? v : [v];
    if (Array.isArray(v) && v.length === 0 && opts.required) this.fail(p, 'must not be empty');
    const out: string[] = [];
    items.forEach((item, i) => {
      const ip = Array.isArray(v) ? childPath(p, i) : p;
      if (typeof item !== 'string' && typeof item !== 'number') {
        this.fail(ip, `must be a string, got ${describe(item)}`);
        return;
      }
      this.template(String(item), ip);
      out.push(String(item));
    });
    return out;
  }

  strMap(fields: Obj, key: string, path: string): Record<string, string> {
    const p = childPath(path, key);
    const v = fields[key];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(p, `must be a mapping of names to strings, got ${describe(v)}`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v as Obj)) {
      const ip = childPath(p, k);
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        this.fail(ip, `must be a string, got ${describe(item)}`);
        continue;
      }
      this.template(String(item), ip);
      out[k] = String(item);
    }
    return out;
  }

  int(fields: Obj, key: string, path: string, min: number, max: number, def: number): number {
    const v = fields[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(
        childPath(path, key),
        `must be a whole number from ${min} to ${max}, got ${describe(v)}`,
      );
      return def;
    }
    return v;
  }

  num(fields: Obj, key: string, path: string, min: number, max: number): number | null {
    const v = fields[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(childPath(path, key), `must be a number from ${min} to ${max}, got ${describe(v)}`);
      return null;
    }
    return v;
  }

  duration(fields: Obj, key: string, path: string, def: number): number {
    const v = fields[key];
    if (v === undefined || v === null) return def;
    const ms = readDuration(v);
    if (ms === null) {
      this.fail(childPath(path, key), `${describe(v)} is not a duration; ${DURATION_HINT}`);
      return def;
    }
    if (ms > MAX_STEP_TIMEOUT_MS) {
      this.fail(childPath(path, key), `must be at most ${formatDuration(MAX_STEP_TIMEOUT_MS)}`);
      return def;
    }
    return ms;
  }

  oneOf<T extends string>(
    fields: Obj,
    key: string,
    path: string,
    allowed: readonly T[],
    opts: { required?: boolean } = {},
  ): T | null {
    const v = fields[key];
    if (v === undefined || v === null) {
      if (opts.required) this.fail(path, `"${key}" is required (one of: ${allowed.join(', ')})`);
      return null;
    }
    if (!isOneOf(allowed, v)) {
      this.fail(childPath(path, key), `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
      return null;
    }
    return v;
  }

  /** A matcher: text or `/regex/`, templated; the regex is compiled with placeholder values now. */
  matcher(fields: Obj, key: string, path: string): string | null {
    const v = fields[key];
    if (v === undefined || v === null) return null;
    return this.matcherValue(v, childPath(path, key));
  }

  matcherValue(v: unknown, path: string): string | null {
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.fail(path, `must be text or a /regular expression/, got ${describe(v)}`);
      return null;
    }
    const s = String(v);
    if (s === '') {
      this.fail(path, 'must not be empty');
      return null;
    }
    if (!this.template(s, path)) return null;
    try {
      const rendered = renderTemplate(s, PLACEHOLDER_VARS);
      textMatcher(rendered);
    } catch (err) {
      if (err instanceof MatcherError || err instanceof TemplateError) {
        this.fail(path, err.message);
        return null;
      }
      throw err;
    }
    return s;
  }

  status(v: unknown, path: string): StatusSpec | null {
    const items = Array.isArray(v) ? v : [v];
    if (items.length === 0 || !items.every(isStatusSpecItem)) {
      this.fail(
        path,
        `must be an HTTP status such as 200 or "2xx" (or a list of them), got ${describe(v)}`,
      );
      return null;
    }
    return items;
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return `${typeof v} ${String(v)}`;
  return typeof v;
}

/** Names people give a step's deadline when they put it inside the action. */
const DEADLINE_WORDS = ['timeout', 'within', 'deadline', 'wait', 'waitfor', 'after', 'window'];

/** The allowed name closest to a misspelt one (edit distance <= 2), for "did you mean". */
function suggest(key: string, allowed: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Parses and validates one flow file. Throws EV_ERR_FLOW_INVALID listing every
 * problem with its position.
 */
export function parseFlow(source: string, file: string): FlowSpec {
  if (Buffer.byteLength(source) > MAX_FLOW_FILE_BYTES) {
    throw flowInvalid([
      {
        file,
        line: 1,
        col: 1,
        path: '',
        message: `file is larger than ${MAX_FLOW_FILE_BYTES} bytes`,
      },
    ]);
  }
  const src = parseLocatedYaml(source);
  if (src.problems.length > 0) throw flowInvalid(src.problems.map((p) => ({ file, ...p })));
  const checker = new Checker(file, src);
  const spec = checkFlow(checker, src.value, file);
  if (checker.problems.length > 0 || spec === null) {
    if (checker.problems.length === 0) checker.fail('', 'the file is empty');
    throw flowInvalid(checker.problems, checker.omitted);
  }
  return spec;
}

function checkFlow(checker: Checker, value: unknown, file: string): FlowSpec | null {
  if (value === null || value === undefined) {
    checker.fail(
      '',
      `the file is empty; a flow starts with "apiVersion: ${FLOW_API_VERSION}" and "kind: ${FLOW_KIND}"`,
    );
    return null;
  }
  const top = checker.obj(
    value,
    '',
    FLOW_FIELDS.flow,
    'a mapping with apiVersion, kind, metadata and steps',
  );
  if (!top) return null;
  if (top.apiVersion !== FLOW_API_VERSION) {
    checker.fail(
      top.apiVersion === undefined ? '' : 'apiVersion',
      top.apiVersion === undefined
        ? `"apiVersion" is required: apiVersion: ${FLOW_API_VERSION}`
        : `unsupported apiVersion ${describe(top.apiVersion)}; this version reads ${FLOW_API_VERSION}`,
    );
  }
  if (top.kind !== FLOW_KIND) {
    checker.fail(
      top.kind === undefined ? '' : 'kind',
      top.kind === undefined
        ? `"kind" is required: kind: ${FLOW_KIND}`
        : `kind must be ${FLOW_KIND}, got ${describe(top.kind)}`,
    );
  }
  let name = file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, '');
  let description: string | null = null;
  if (top.metadata !== undefined) {
    const meta = checker.obj(top.metadata, 'metadata', FLOW_FIELDS.metadata);
    if (meta) {
      name = checker.str(meta, 'name', 'metadata', { template: false }) ?? name;
      description = checker.str(meta, 'description', 'metadata', { template: false });
    }
  }
  let sinkRules: string | null = null;
  if (top.sink !== undefined && top.sink !== null) {
    if (typeof top.sink !== 'object' || Array.isArray(top.sink))
      checker.fail(
        'sink',
        `must be a rules mapping (the sink's rules file format), got ${describe(top.sink)}`,
      );
    else {
      checkTemplatesDeep(checker, top.sink, 'sink');
      sinkRules = toYaml(top.sink);
      checkSinkRules(checker, top.sink);
    }
  }
  let defaultTimeout: number | null = null;
  let defaultFrom = DEFAULT_SENDER;
  if (top.defaults !== undefined) {
    const defaults = checker.obj(top.defaults, 'defaults', FLOW_FIELDS.defaults);
    if (defaults) {
      if (defaults.timeout !== undefined)
        defaultTimeout = checker.duration(defaults, 'timeout', 'defaults', 0);
      defaultFrom = checker.str(defaults, 'from', 'defaults') ?? defaultFrom;
    }
  }
  const steps: FlowStep[] = [];
  if (!Array.isArray(top.steps)) {
    checker.fail(
      top.steps === undefined ? '' : 'steps',
      top.steps === undefined
        ? '"steps" is required: a list of send, http, job, expect, expectEvent and expectNone steps'
        : `must be a list of steps, got ${describe(top.steps)}`,
    );
  } else if (top.steps.length === 0) {
    checker.fail('steps', 'must have at least one step');
  } else if (top.steps.length > MAX_FLOW_STEPS) {
    checker.fail('steps', `has ${top.steps.length} steps; at most ${MAX_FLOW_STEPS} are allowed`);
  } else {
    top.steps.forEach((raw, i) => {
      const step = checkStep(checker, raw, i, { defaultTimeout, defaultFrom });
      if (step) steps.push(step);
    });
  }
  return {
    file,
    name,
    description,
    sinkRules,
    sinkRulesData: top.sink ?? null,
    steps,
    templates: checker.templates,
    needsCluster: steps.some((s) => s.action.kind === 'job'),
  };
}

/** The `sink:` section is the sink's rules file: validate it with the sink's own parser, positioned in this file. */
function checkSinkRules(checker: Checker, sink: unknown): void {
  let rendered: string;
  try {
    rendered = toYaml(renderDeep(sink, PLACEHOLDER_VARS));
  } catch {
    return; // template problems are already reported
  }
  try {
    parseRules(rendered, 'sink');
  } catch (err) {
    if (!isEmailValidateError(err) || err.code !== 'EV_ERR_RULES_INVALID') throw err;
    const field = typeof err.details?.field === 'string' ? err.details.field : '';
    const problem = err.message
      .replace(/^[^:]*(:\d+)?: /, '')
      .replace(field ? `${field} ` : '', '');
    checker.fail(field ? `sink.${field}` : 'sink', problem);
  }
}

function checkTemplatesDeep(checker: Checker, value: unknown, path: string): void {
  if (typeof value === 'string') checker.template(value, path);
  else if (Array.isArray(value))
    value.forEach((v, i) => checkTemplatesDeep(checker, v, childPath(path, i)));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkTemplatesDeep(checker, v, childPath(path, k));
  }
}

function checkStep(
  checker: Checker,
  raw: unknown,
  i: number,
  defaults: { defaultTimeout: number | null; defaultFrom: string },
): FlowStep | null {
  const path = childPath('steps', i);
  const fields = checker.obj(
    raw,
    path,
    FLOW_FIELDS.step,
    `a step mapping with one of ${STEP_KINDS.join(', ')}`,
  );
  if (!fields) return null;
  const kinds = STEP_KINDS.filter((k) => fields[k] !== undefined);
  if (kinds.length !== 1) {
    checker.fail(
      kinds.length > 1 ? childPath(path, kinds[1]) : path,
      kinds.length === 0
        ? `a step needs exactly one action: ${STEP_KINDS.join(', ')}`
        : `a step has exactly one action, found ${kinds.join(' and ')}; split it into two steps`,
      kinds.length > 1,
    );
    return null;
  }
  const kind = kinds[0];
  const ap = childPath(path, kind);
  const name = checker.str(fields, 'name', path, { template: false });
  const fallback =
    kind === 'expectNone'
      ? DEFAULT_TIMEOUTS_MS.expectNone
      : (defaults.defaultTimeout ?? DEFAULT_TIMEOUTS_MS[kind]);
  const timeoutMs = checker.duration(fields, 'timeout', path, fallback);
  let action: StepAction | null = null;
  const body = fields[kind];
  switch (kind) {
    case 'send':
      action = checkSend(checker, body, ap, defaults.defaultFrom);
      break;
    case 'http':
      action = checkHttp(checker, body, ap);
      break;
    case 'job':
      action = checkJob(checker, body, ap);
      break;
    case 'expect': {
      const e = checker.obj(body, ap, FLOW_FIELDS.expect);
      if (e)
        action = {
          kind: 'expect',
          criteria: checkCriteria(checker, e, ap),
          count: checker.int(e, 'count', ap, 1, MAX_SEND_COUNT, 1),
        };
      break;
    }
    case 'expectNone': {
      const e = checker.obj(body, ap, FLOW_FIELDS.criteria);
      if (e) action = { kind: 'expectNone', criteria: checkCriteria(checker, e, ap) };
      break;
    }
    case 'expectEvent':
      action = checkExpectEvent(checker, body, ap);
      break;
  }
  if (!action) return null;
  return {
    index: i,
    name: name ?? defaultStepName(action),
    timeoutMs,
    action,
    ref: checker.ref(path),
  };
}

function checkSend(
  checker: Checker,
  body: unknown,
  path: string,
  defaultFrom: string,
): StepAction | null {
  const fields = checker.obj(body, path, FLOW_FIELDS.send);
  if (!fields) return null;
  const to = checker.strList(fields, 'to', path, { required: true });
  const text = checker.str(fields, 'text', path);
  const html = checker.str(fields, 'html', path);
  const attachments: Array<{ filename: string; content: string; contentType: string | null }> = [];
  if (fields.attachments !== undefined) {
    const ap = childPath(path, 'attachments');
    if (!Array.isArray(fields.attachments))
      checker.fail(
        ap,
        `must be a list of {filename, content, contentType}, got ${describe(fields.attachments)}`,
      );
    else {
      fields.attachments.forEach((a, i) => {
        const ip = childPath(ap, i);
        const ao = checker.obj(a, ip, FLOW_FIELDS.sendAttachment);
        if (!ao) return;
        attachments.push({
          filename: checker.str(ao, 'filename', ip, { required: true }) ?? '',
          content: checker.str(ao, 'content', ip, { def: '' }) ?? '',
          contentType: checker.str(ao, 'contentType', ip),
        });
      });
    }
  }
  let rate: number | null = null;
  if (fields.rate !== undefined && fields.rate !== null) {
    rate = parseRate(fields.rate);
    if (rate === null)
      checker.fail(
        childPath(path, 'rate'),
        `must be messages per second (a number) or "N/s", "N/m", got ${describe(fields.rate)}`,
      );
  }
  return {
    kind: 'send',
    to,
    cc: checker.strList(fields, 'cc', path),
    bcc: checker.strList(fields, 'bcc', path),
    from: checker.str(fields, 'from', path) ?? defaultFrom,
    subject: checker.str(fields, 'subject', path) ?? 'Validation Email',
    text: text === null && html === null ? 'Test email for validation' : text,
    html,
    headers: checker.strMap(fields, 'headers', path),
    attachments,
    count: checker.int(fields, 'count', path, 1, MAX_SEND_COUNT, 1),
    rate,
    retries: checker.int(fields, 'retries', path, 0, MAX_SEND_RETRIES, 0),
    retryDelayMs: checker.duration(fields, 'retryDelay', path, 0),
  };
}

function parseRate(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0) return null;
  return Number(m[1]) / { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

function checkHttp(checker: Checker, body: unknown, path: string): StepAction | null {
  const fields = checker.obj(body, path, FLOW_FIELDS.http);
  if (!fields) return null;
  const url = checker.str(fields, 'url', path, { required: true });
  // A URL that starts with a template ({{env.APP_URL}}/...) is only known at run time.
  if (url !== null && !url.trimStart().startsWith('{{')) {
    try {
      const u = new URL(renderTemplate(url, PLACEHOLDER_VARS));
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        checker.fail(childPath(path, 'url'), `must be an http or https URL, got ${u.protocol}`);
    } catch (err) {
      if (!(err instanceof TemplateError))
        checker.fail(childPath(path, 'url'), `is not a valid URL: ${describe(url)}`);
    }
  }
  if (fields.json !== undefined && fields.body !== undefined)
    checker.fail(childPath(path, 'body'), 'give either json or body, not both', true);
  if (fields.json !== undefined) checkTemplatesDeep(checker, fields.json, childPath(path, 'json'));
  const method = typeof fields.method === 'string' ? fields.method.toUpperCase() : null;
  if (
    fields.method !== undefined &&
    (method === null || !(HTTP_METHODS as readonly string[]).includes(method))
  ) {
    checker.fail(
      childPath(path, 'method'),
      `must be one of ${HTTP_METHODS.join(', ')}, got ${describe(fields.method)}`,
    );
  }
  const hasBody = fields.json !== undefined || fields.body !== undefined;
  return {
    kind: 'http',
    method: method ?? (hasBody ? 'POST' : 'GET'),
    url: url ?? '',
    headers: checker.strMap(fields, 'headers', path),
    json: fields.json ?? null,
    body: checker.str(fields, 'body', path),
    status:
      fields.status === undefined
        ? ['2xx']
        : (checker.status(fields.status, childPath(path, 'status')) ?? ['2xx']),
    responseBody: checker.matcher(fields, 'responseBody', path),
  };
}

function checkJob(checker: Checker, body: unknown, path: string): StepAction | null {
  const fields = checker.obj(body, path, FLOW_FIELDS.job);
  if (!fields) return null;
  return {
    kind: 'job',
    image: checker.str(fields, 'image', path, { required: true }) ?? '',
    command: checker.strList(fields, 'command', path),
    args: checker.strList(fields, 'args', path),
    env: checker.strMap(fields, 'env', path),
    // 0 is root, which restricted Pod Security refuses (runAsUser=0): not accepted here either.
    runAsUser:
      fields.runAsUser === undefined
        ? null
        : checker.int(fields, 'runAsUser', path, 1, MAX_JOB_UID, 1),
  };
}

function checkCriteria(checker: Checker, fields: Obj, path: string): MessageCriteria {
  const headers: HeaderMatcherSpec[] = [];
  if (fields.headers !== undefined) {
    const hp = childPath(path, 'headers');
    if (
      fields.headers === null ||
      typeof fields.headers !== 'object' ||
      Array.isArray(fields.headers)
    ) {
      checker.fail(
        hp,
        `must map header names to a matcher (or true for "present"), got ${describe(fields.headers)}`,
      );
    } else {
      for (const [name, v] of Object.entries(fields.headers as Obj)) {
        const ip = childPath(hp, name);
        if (v === true) headers.push({ name, value: null });
        else {
          const m = checker.matcherValue(v, ip);
          if (m !== null) headers.push({ name, value: m });
        }
      }
    }
  }
  const links: LinkMatcherSpec[] = [];
  for (const [item, ip] of listOf(fields.link, childPath(path, 'link'))) {
    if (typeof item === 'string') {
      const m = checker.matcherValue(item, ip);
      if (m !== null) links.push({ url: m, status: null });
      continue;
    }
    const lo = checker.obj(item, ip, FLOW_FIELDS.link, 'a URL matcher or {url, status}');
    if (!lo) continue;
    const url = lo.url === undefined ? '/./' : checker.matcher(lo, 'url', ip);
    const status =
      lo.status === undefined ? null : checker.status(lo.status, childPath(ip, 'status'));
    if (url !== null) links.push({ url, status });
  }
  const attachments: AttachmentMatcherSpec[] = [];
  for (const [item, ip] of listOf(fields.attachment, childPath(path, 'attachment'))) {
    if (typeof item === 'string') {
      const m = checker.matcherValue(item, ip);
      if (m !== null) attachments.push({ filename: m, contentType: null });
      continue;
    }
    const ao = checker.obj(
      item,
      ip,
      FLOW_FIELDS.attachment,
      'a file name matcher or {filename, contentType}',
    );
    if (!ao) continue;
    attachments.push({
      filename: checker.matcher(ao, 'filename', ip),
      contentType: checker.matcher(ao, 'contentType', ip),
    });
  }
  let listUnsubscribe = null as MessageCriteria['listUnsubscribe'];
  if (fields.listUnsubscribe === true) listUnsubscribe = 'present';
  else if (fields.listUnsubscribe === false) listUnsubscribe = 'absent';
  else listUnsubscribe = checker.oneOf(fields, 'listUnsubscribe', path, LIST_UNSUBSCRIBE_STATES);
  const criteria: MessageCriteria = {
    to: checker.matcher(fields, 'to', path),
    from: checker.matcher(fields, 'from', path),
    subject: checker.matcher(fields, 'subject', path),
    text: checker.matcher(fields, 'text', path),
    html: checker.matcher(fields, 'html', path),
    headers,
    links,
    attachments,
    dkim: checker.oneOf(fields, 'dkim', path, DKIM_VERDICTS),
    listUnsubscribe,
    maxSpamScore: checker.num(fields, 'maxSpamScore', path, 0, MAX_SPAM_SCORE),
  };
  return criteria;
}

function listOf(v: unknown, path: string): Array<[unknown, string]> {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((item, i) => [item, childPath(path, i)]);
  return [[v, path]];
}

function checkExpectEvent(checker: Checker, body: unknown, path: string): StepAction | null {
  const fields = checker.obj(body, path, FLOW_FIELDS.expectEvent);
  if (!fields) return null;
  const type = checker.oneOf(fields, 'type', path, EVENT_TYPES, { required: true });
  let code: number | string | null = null;
  if (fields.code !== undefined && fields.code !== null) {
    const v = fields.code;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 200 && v <= 599) code = v;
    else if (typeof v === 'string' && /^[245]\.\d{1,3}\.\d{1,3}$/.test(v)) code = v;
    else if (typeof v === 'string' && /^[245]\d\d$/.test(v)) code = Number(v);
    else
      checker.fail(
        childPath(path, 'code'),
        `must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got ${describe(v)}`,
      );
  }
  if (type !== 'webhook') {
    for (const k of ['url', 'format', 'status']) {
      if (fields[k] !== undefined)
        checker.fail(childPath(path, k), `"${k}" applies only to type: webhook`, true);
    }
  } else if (fields.code !== undefined) {
    checker.fail(
      childPath(path, 'code'),
      'webhook events have a "status" (the application\'s HTTP response), not an SMTP "code"',
      true,
    );
  }
  return {
    kind: 'expectEvent',
    type: type ?? 'rejected',
    to: checker.matcher(fields, 'to', path),
    from: checker.matcher(fields, 'from', path),
    code,
    url: checker.matcher(fields, 'url', path),
    format: checker.str(fields, 'format', path, { template: false }),
    status:
      fields.status === undefined ? null : checker.status(fields.status, childPath(path, 'status')),
    count: checker.int(fields, 'count', path, 1, MAX_SEND_COUNT, 1),
  };
}

function defaultStepName(action: StepAction): string {
  switch (action.kind) {
    case 'send':
      return `send ${action.count} to ${action.to.join(', ')}`;
    case 'http':
      return `${action.method} ${action.url}`;
    case 'job':
      return `job ${action.image}`;
    case 'expect': {
      const checker = action.criteria;
      const what = [
        checker.to && `to ${checker.to}`,
        checker.subject && `subject ${checker.subject}`,
        checker.from && `from ${checker.from}`,
      ]
        .filter(Boolean)
        .join(', ');
      return `expect ${action.count > 1 ? `${action.count} messages` : 'a message'}${what ? ` ${what}` : ''}`;
    }
    case 'expectNone': {
      const checker = action.criteria;
      const what = [
        checker.to && `to ${checker.to}`,
        checker.subject && `subject ${checker.subject}`,
      ]
        .filter(Boolean)
        .join(', ');
      return `expect no message${what ? ` ${what}` : ''}`;
    }
    case 'expectEvent':
      return `expect ${action.type}${action.to ? ` for ${action.to}` : ''}${action.code !== null ? ` (${action.code})` : ''}`;
  }
}
