/**
 * The JSON Schema of flow files (schema/email-flow.schema.json, for editors),
 * generated from the format's one definition (format.ts): each mapping lists
 * exactly the fields the parser allows (the types below fail to compile when
 * a field is missing or extra), with the parser's enumerations and bounds.
 * Regenerate with `npm run generate`; test/unit/src/flow/json-schema.test.ts fails
 * when the committed file differs.
 *
 * The schema checks structure; the parser checks more (templates, regular
 * expressions, the sink's rules), with positions and suggestions.
 */
import { DURATION_UNITS_MS, formatDuration } from '../duration.ts';
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
  type FieldOf,
  type FlowObject,
} from './format.ts';
import { DEFAULT_TIMEOUTS_MS } from './parse.ts';
import { FLOW_API_VERSION, FLOW_KIND, STEP_KINDS } from './types.ts';

type Schema = { [key: string]: unknown };

const ref = (name: string): Schema => ({ $ref: `#/$defs/${name}` });

/** A closed mapping with exactly the fields format.ts declares for `kind`. */
function object<K extends FlowObject>(
  kind: K,
  properties: { [F in FieldOf<K>]: Schema },
  extra: Schema = {},
): Schema {
  const ordered = Object.fromEntries(
    (FLOW_FIELDS[kind] as readonly string[]).map((f) => [
      f,
      (properties as Record<string, Schema>)[f],
    ]),
  );
  return { type: 'object', additionalProperties: false, ...extra, properties: ordered };
}

const text: Schema = { type: ['string', 'number'] };
const textList: Schema = { oneOf: [text, { type: 'array', items: text }] };
const scalarMap: Schema = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
};
const count: Schema = { type: 'integer', minimum: 1, maximum: MAX_SEND_COUNT };
const units = Object.keys(DURATION_UNITS_MS).join('|');

/** A single item or a list of them. */
const oneOrMany = (item: Schema): Schema => ({ oneOf: [item, { type: 'array', items: item }] });

function criteria(): { [F in FieldOf<'criteria'>]: Schema } {
  return {
    to: { ...ref('matcher'), description: 'A recipient (envelope RCPT TO or header To).' },
    from: { ...ref('matcher'), description: 'The sender (envelope MAIL FROM or header From).' },
    subject: ref('matcher'),
    text: { ...ref('matcher'), description: 'The text body.' },
    html: { ...ref('matcher'), description: 'The HTML body.' },
    headers: {
      type: 'object',
      description: 'Header name -> matcher, or true for "present".',
      additionalProperties: { oneOf: [{ const: true }, ref('matcher')] },
    },
    link: {
      description:
        'A link in the message: a URL matcher, or {url, status} to also require that it answers (e.g. 2xx). A list requires each.',
      ...oneOrMany({
        oneOf: [{ type: 'string' }, object('link', { url: ref('matcher'), status: ref('status') })],
      }),
    },
    attachment: {
      description:
        'An attachment: a file name matcher, or {filename, contentType}. A list requires each.',
      ...oneOrMany({
        oneOf: [
          { type: 'string' },
          object('attachment', { filename: ref('matcher'), contentType: ref('matcher') }),
        ],
      }),
    },
    dkim: { enum: [...DKIM_VERDICTS], description: "The DKIM verdict of the sink's analysis." },
    listUnsubscribe: { enum: [...LIST_UNSUBSCRIBE_STATES, true, false] },
    maxSpamScore: {
      type: 'number',
      minimum: 0,
      maximum: MAX_SPAM_SCORE,
      description: "The analysis's spam-signal score must be at most this.",
    },
  };
}

/** The schema, as written to schema/email-flow.schema.json. */
export function flowJsonSchema(): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/kubectl-email-validate/kubectl-email-validate/schema/email-flow.schema.json',
    title: FLOW_KIND,
    description:
      'A kubectl email-validate smoke-test flow: `kubectl email-validate run FLOW.yaml`.',
    ...object(
      'flow',
      {
        apiVersion: { const: FLOW_API_VERSION },
        kind: { const: FLOW_KIND },
        metadata: object('metadata', {
          name: { type: 'string' },
          description: { type: 'string' },
          labels: { type: 'object' },
        }),
        sink: {
          type: 'object',
          description: "The sink's rules for this run (the rules file format: rules: [...]).",
          additionalProperties: false,
          properties: {
            version: { const: 1 },
            rules: { type: 'array', items: { type: 'object' } },
          },
        },
        defaults: object('defaults', { timeout: ref('duration'), from: { type: 'string' } }),
        steps: { type: 'array', minItems: 1, maxItems: MAX_FLOW_STEPS, items: ref('step') },
      },
      { required: ['apiVersion', 'kind', 'steps'] },
    ),
    $defs: {
      duration: {
        description: `A duration: one or more number-unit parts (${Object.keys(DURATION_UNITS_MS).join(', ')}) such as 500ms, 90s, 1m30s or 2h, or a bare number of seconds; at most ${MAX_STEP_TIMEOUT_MS / 60_000} minutes.`,
        oneOf: [
          { type: 'string', pattern: `^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?(${units}))+)\\s*$` },
          { type: 'number', minimum: 0, maximum: MAX_STEP_TIMEOUT_MS / 1000 },
        ],
      },
      matcher: {
        description:
          'Plain text (contained in the value, ignoring case) or /regular expression/flags (also ignoring case; RE2 syntax, linear time). Templates allowed.',
        type: ['string', 'number'],
      },
      statusItem: {
        oneOf: [
          { type: 'integer', minimum: 100, maximum: 599 },
          { type: 'string', pattern: '^([1-5]xx|[1-5][0-9][0-9])$' },
        ],
      },
      status: {
        description: 'An HTTP status (200), a class ("2xx"), or a list of them.',
        oneOf: [ref('statusItem'), { type: 'array', minItems: 1, items: ref('statusItem') }],
      },
      step: object(
        'step',
        {
          name: { type: 'string' },
          timeout: ref('duration'),
          send: ref('send'),
          http: ref('http'),
          job: ref('job'),
          expect: ref('expect'),
          expectEvent: ref('expectEvent'),
          expectNone: ref('expectNone'),
        },
        { oneOf: STEP_KINDS.map((kind) => ({ required: [kind] })) },
      ),
      send: object(
        'send',
        {
          to: textList,
          cc: textList,
          bcc: textList,
          from: { type: 'string' },
          subject: text,
          text,
          html: { type: 'string' },
          headers: scalarMap,
          attachments: {
            type: 'array',
            items: object(
              'sendAttachment',
              { filename: { type: 'string' }, content: text, contentType: { type: 'string' } },
              { required: ['filename'] },
            ),
          },
          count,
          rate: {
            description: 'Messages per second, or "N/s", "N/m", "N/h".',
            oneOf: [
              { type: 'number', exclusiveMinimum: 0 },
              { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*/\\s*(s|m|h)\\s*$' },
            ],
          },
          retries: { type: 'integer', minimum: 0, maximum: MAX_SEND_RETRIES },
          retryDelay: ref('duration'),
        },
        { required: ['to'], description: 'Send mail through the sink over SMTP.' },
      ),
      http: object(
        'http',
        {
          method: { enum: [...HTTP_METHODS, ...HTTP_METHODS.map((m) => m.toLowerCase())] },
          url: { type: 'string', pattern: '^(https?://|\\{\\{)' },
          headers: scalarMap,
          json: {},
          body: { type: 'string' },
          status: ref('status'),
          responseBody: ref('matcher'),
        },
        {
          required: ['url'],
          description: 'An HTTP request to the application under test.',
          not: { required: ['json', 'body'] },
        },
      ),
      job: object(
        'job',
        {
          image: { type: 'string' },
          command: textList,
          args: textList,
          env: scalarMap,
          runAsUser: {
            type: 'integer',
            minimum: 1,
            maximum: MAX_JOB_UID,
            description:
              "uid the container runs as (the Job's pod runs as non-root under restricted Pod Security; node:* and most official images need one, e.g. 1000).",
          },
        },
        {
          required: ['image'],
          description: 'Run a container in the cluster (a Kubernetes Job) and wait for it.',
        },
      ),
      expect: object(
        'expect',
        { ...criteria(), count },
        { description: "Mail that must arrive within the step's timeout." },
      ),
      expectNone: object('criteria', criteria(), {
        description: `No matching mail may arrive within the step's timeout (default ${formatDuration(DEFAULT_TIMEOUTS_MS.expectNone)}).`,
      }),
      expectEvent: object(
        'expectEvent',
        {
          type: { enum: [...EVENT_TYPES] },
          to: ref('matcher'),
          from: ref('matcher'),
          code: {
            oneOf: [
              { type: 'integer', minimum: 200, maximum: 599 },
              { type: 'string', pattern: '^([245]\\.\\d{1,3}\\.\\d{1,3}|[245]\\d\\d)$' },
            ],
          },
          url: ref('matcher'),
          format: { type: 'string' },
          status: ref('status'),
          count,
        },
        {
          required: ['type'],
          description: 'A rejection, deferral, bounce or webhook delivery.',
          if: { properties: { type: { const: 'webhook' } } },
          then: { not: { required: ['code'] } },
          else: {
            allOf: [
              { not: { required: ['url'] } },
              { not: { required: ['format'] } },
              { not: { required: ['status'] } },
            ],
          },
        },
      ),
    },
  };
}

/** The file's text: what `npm run generate` writes and the test compares. */
export function flowJsonSchemaText(): string {
  return `${JSON.stringify(flowJsonSchema(), null, 2)}\n`;
}
