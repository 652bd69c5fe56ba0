/**
 * The flow file model (`kind: EmailFlow`) after parsing and validation.
 *
 * String fields that may hold templates (`{{run.id}}`, `{{env.NAME}}`,
 * `{{index}}`, `{{mock.url}}`, `{{sink.url}}`, `{{sink.smtp}}`) are kept as
 * written; the runner renders them once the run's variables are known.
 * Matchers are kept as source text for the same reason and compiled after
 * rendering (see matchers.ts). Every node remembers where it came from, so
 * errors found at run time still point at a line and column.
 */

export const FLOW_API_VERSION = 'email-validate.dev/v1';
export const FLOW_KIND = 'EmailFlow';

/** Where a value was written: `steps[2].expect.subject` at `file:line:col`. */
export interface SourceRef {
  file: string;
  path: string;
  line: number;
  col: number;
}

/** Plain text (substring), or `/regex/flags`, possibly templated. */
export type MatcherSource = string;

/** `200`, `"2xx"`, or a list of either. */
export type StatusSpec = Array<number | string>;

export interface SendStep {
  kind: 'send';
  to: string[];
  cc: string[];
  bcc: string[];
  from: string;
  subject: string;
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
  attachments: Array<{ filename: string; content: string; contentType: string | null }>;
  /** How many messages; `{{index}}` is 1..count in every field. */
  count: number;
  /** Messages per second; null sends as fast as the SMTP session allows. */
  rate: number | null;
  /** Retries of a message the sink deferred (4xx), e.g. greylisting. */
  retries: number;
  retryDelayMs: number;
}

export interface HttpStep {
  kind: 'http';
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A JSON body (sent with content-type application/json); templates rendered in every string. */
  json: unknown;
  body: string | null;
  status: StatusSpec;
  /** The response body must match (text or /regex/). */
  responseBody: MatcherSource | null;
}

export interface JobStep {
  kind: 'job';
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  /**
   * uid the container runs as. The Job's pod passes restricted Pod Security
   * (runAsNonRoot), so an image whose USER is root (node:*, most official
   * images) needs one; null leaves it to the image.
   */
  runAsUser: number | null;
}

export interface HeaderMatcherSpec {
  name: string;
  /** null: the header must be present, whatever its value. */
  value: MatcherSource | null;
}

export interface LinkMatcherSpec {
  url: MatcherSource;
  /** When set, the first matching link must answer this status (e.g. `2xx`). */
  status: StatusSpec | null;
}

export interface AttachmentMatcherSpec {
  filename: MatcherSource | null;
  contentType: MatcherSource | null;
}

export type ListUnsubscribeVerdict = 'present' | 'one-click' | 'absent';

/** Criteria a captured message must meet; every field that is set must match. */
export interface MessageCriteria {
  to: MatcherSource | null;
  from: MatcherSource | null;
  subject: MatcherSource | null;
  text: MatcherSource | null;
  html: MatcherSource | null;
  headers: HeaderMatcherSpec[];
  links: LinkMatcherSpec[];
  attachments: AttachmentMatcherSpec[];
  dkim: 'pass' | 'fail' | 'none' | null;
  listUnsubscribe: ListUnsubscribeVerdict | null;
  maxSpamScore: number | null;
}

export interface ExpectStep {
  kind: 'expect';
  criteria: MessageCriteria;
  /** At least this many messages must match. */
  count: number;
}

export interface ExpectNoneStep {
  kind: 'expectNone';
  criteria: MessageCriteria;
}

export type ExpectedEventType = 'rejected' | 'deferred' | 'bounced' | 'webhook';

export interface ExpectEventStep {
  kind: 'expectEvent';
  type: ExpectedEventType;
  to: MatcherSource | null;
  from: MatcherSource | null;
  /** SMTP reply code (550) or enhanced status code (`5.1.1`). */
  code: number | string | null;
  /** Webhook events only: the target URL, provider format and the application's response status. */
  url: MatcherSource | null;
  format: string | null;
  status: StatusSpec | null;
  count: number;
}

export type StepAction =
  SendStep | HttpStep | JobStep | ExpectStep | ExpectNoneStep | ExpectEventStep;
export type StepKind = StepAction['kind'];

export interface FlowStep {
  index: number;
  name: string;
  /** Deadline of the step; for `expectNone` the window that must stay quiet. */
  timeoutMs: number;
  action: StepAction;
  ref: SourceRef;
}

/** A template reference, kept so a run can check every `{{env.X}}` up front. */
export interface TemplateRef {
  variable: string;
  ref: SourceRef;
}

export interface FlowSpec {
  file: string;
  name: string;
  description: string | null;
  /** The sink rules document for this run, as YAML text (null: the sink's defaults). */
  sinkRules: string | null;
  /** The `sink:` section as data (for display and JSON output). */
  sinkRulesData: unknown;
  steps: FlowStep[];
  templates: TemplateRef[];
  /** Uses a `job` step, which needs a cluster. */
  needsCluster: boolean;
}

export const STEP_KINDS: readonly StepKind[] = Object.freeze([
  'send',
  'http',
  'job',
  'expect',
  'expectEvent',
  'expectNone',
]);
