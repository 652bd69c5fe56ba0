/**
 * The flow file format's vocabulary, declared once: the fields each mapping
 * allows, the enumerations and the bounds. The parser (parse.ts) checks flow
 * files against it, and the JSON Schema for editors (json-schema.ts, written
 * to schema/email-flow.schema.json) is generated from it, so the two cannot
 * drift apart.
 */
import { STEP_KINDS, type ExpectedEventType } from './types.ts';

/** A flow with more steps than this is a load test, not a smoke test. */
export const MAX_FLOW_STEPS = 500;
/** One send step sends at most this many messages (bulk load belongs in `send --count`/benchmarks). */
export const MAX_SEND_COUNT = 10_000;
/** Deferred messages are retried at most this often; greylisting needs one. */
export const MAX_SEND_RETRIES = 10;
/** The longest step deadline a flow may ask for: a smoke test waiting longer is stuck. */
export const MAX_STEP_TIMEOUT_MS = 60 * 60 * 1000;
/** Largest uid a job container may run as (Linux's uid_t range as Kubernetes validates it). */
export const MAX_JOB_UID = 2_147_483_647;
/** The analysis's spam-signal score tops out well below this. */
export const MAX_SPAM_SCORE = 1000;

const CRITERIA = [
  'to',
  'from',
  'subject',
  'text',
  'html',
  'headers',
  'link',
  'attachment',
  'dkim',
  'listUnsubscribe',
  'maxSpamScore',
] as const;

/** The fields each mapping of a flow file allows (anything else is reported with a "did you mean"). */
export const FLOW_FIELDS = Object.freeze({
  flow: ['apiVersion', 'kind', 'metadata', 'sink', 'defaults', 'steps'],
  metadata: ['name', 'description', 'labels'],
  defaults: ['timeout', 'from'],
  step: ['name', 'timeout', ...STEP_KINDS],
  send: [
    'to',
    'cc',
    'bcc',
    'from',
    'subject',
    'text',
    'html',
    'headers',
    'attachments',
    'count',
    'rate',
    'retries',
    'retryDelay',
  ],
  sendAttachment: ['filename', 'content', 'contentType'],
  http: ['method', 'url', 'headers', 'json', 'body', 'status', 'responseBody'],
  job: ['image', 'command', 'args', 'env', 'runAsUser'],
  /** What expect and expectNone match a message on. */
  criteria: CRITERIA,
  expect: [...CRITERIA, 'count'],
  link: ['url', 'status'],
  attachment: ['filename', 'contentType'],
  expectEvent: ['type', 'to', 'from', 'code', 'url', 'format', 'status', 'count'],
} as const);

export type FlowObject = keyof typeof FLOW_FIELDS;
/** The fields of one mapping, as a union of names. */
export type FieldOf<K extends FlowObject> = (typeof FLOW_FIELDS)[K][number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const EVENT_TYPES: readonly ExpectedEventType[] = [
  'rejected',
  'deferred',
  'bounced',
  'webhook',
];
export const DKIM_VERDICTS = ['pass', 'fail', 'none'] as const;
/** `true` and `false` are accepted too, as `present` and `absent`. */
export const LIST_UNSUBSCRIBE_STATES = ['present', 'one-click', 'absent'] as const;
