/**
 * Provider-format delivery notifications, so an application's bounce handling
 * can be tested against the sink: the SendGrid Event Webhook (a JSON array of
 * events) and Amazon SES notifications delivered by Amazon SNS over HTTP (an
 * SNS `Notification` envelope whose `Message` is the SES notification as a
 * JSON string).
 *
 * Field names follow the providers' public references (SendGrid "Event Webhook
 * Reference"; AWS "Amazon SNS notification contents for Amazon SES" and "SNS
 * HTTP/HTTPS notification JSON format"). Values that only the provider can
 * produce (account ids, ARNs, SNS signatures) are clearly fake placeholders:
 * SNS signature verification must be off in the environment under test.
 *
 * Pure: the clock and the id generator are passed in.
 */
import type { MessageSummary } from './protocol.ts';

export type WebhookFormat = 'sendgrid' | 'ses';
export type WebhookEvent = 'delivered' | 'bounce' | 'dropped' | 'complaint';

export const WEBHOOK_FORMATS: readonly WebhookFormat[] = Object.freeze(['sendgrid', 'ses']);
export const WEBHOOK_EVENTS: readonly WebhookEvent[] = Object.freeze([
  'delivered',
  'bounce',
  'dropped',
  'complaint',
]);

/** Characters of a diagnostic text copied into a payload; an SMTP reply line is at most 512 (RFC 5321). */
export const MAX_DIAGNOSTIC_CHARS = 1000;

/** Characters of an X-SMTPAPI header parsed; SendGrid itself caps it at 10,000 bytes. */
export const MAX_SMTPAPI_CHARS = 16 * 1024;
/** unique_args copied into a SendGrid event. */
export const MAX_UNIQUE_ARGS = 50;
/** Header fields copied into SES `mail.headers`; SES truncates large header sets too (`headersTruncated`). */
export const MAX_SES_HEADERS = 100;
/** Characters of one header value copied into SES `mail.headers`. */
export const MAX_SES_HEADER_VALUE_CHARS = 2048;

/** Placeholder AWS account id (the one AWS uses in its own examples). */
export const FAKE_AWS_ACCOUNT_ID = '123456789012';
export const DEFAULT_TOPIC_ARN = `arn:aws:sns:us-east-1:${FAKE_AWS_ACCOUNT_ID}:email-validate-sink`;
export const DEFAULT_REPORTING_MTA = 'email-sink.email-validate.local';
/** Diagnostic used for bounces and drops when the rule gives none. */
export const DEFAULT_BOUNCE_DIAGNOSTIC =
  '550 5.1.1 The email account that you tried to reach does not exist';

export interface WebhookInput {
  format: WebhookFormat;
  event: WebhookEvent;
  message: MessageSummary;
  /** The recipient the event is about. */
  recipient: string;
  /** SMTP reply text for bounces/drops, e.g. `550 5.1.1 user unknown`. */
  diagnostic?: string;
  /**
   * The message's header fields, decoded, in order. Optional: with them,
   * SendGrid events carry the `X-SMTPAPI` unique_args and categories, and SES
   * `mail.headers` / `mail.tags` are complete (`X-SES-MESSAGE-TAGS`,
   * `X-SES-CONFIGURATION-SET`), as the providers do.
   */
  headers?: ReadonlyArray<{ name: string; value: string }>;
}

export interface WebhookDeps {
  now: () => Date;
  /** Returns a fresh unique id (a UUID in production). */
  newId: () => string;
  /** SNS topic ARN to claim (SES format only). */
  topicArn?: string;
  /** Host name reported as the reporting MTA. */
  reportingMta?: string;
}

/** What to POST: the body and the headers that the provider sends with it. */
export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/** The Message-ID without angle brackets, or null. */
export function bareMessageId(messageId: string | null): string | null {
  if (messageId === null) return null;
  const bare = messageId.trim().replace(/^<|>$/g, '').trim();
  return bare === '' ? null : bare;
}

export interface ParsedDiagnostic {
  /** Basic reply code, e.g. 550; null when the text has none. */
  code: number | null;
  /** Enhanced status code `class.subject.detail`, e.g. `5.1.1`. */
  status: string;
  text: string;
  /** Temporary failure (4xx / 4.x.x). */
  transient: boolean;
}

/** Splits `550 5.1.1 text` into its parts; missing codes default to a permanent 5.0.0. */
export function parseDiagnostic(diagnostic: string | undefined): ParsedDiagnostic {
  // A DSN Diagnostic-Code carries its type first (`smtp; 550 ...`, RFC 3464): the reply itself follows.
  const text = (diagnostic ?? DEFAULT_BOUNCE_DIAGNOSTIC)
    .replace(/[\r\n]+/g, ' ')
    .replace(/^\s*smtp\s*;\s*/i, '')
    .trim()
    .slice(0, MAX_DIAGNOSTIC_CHARS);
  const m = /^([245]\d\d)?[ -]?(?:([245])\.(\d{1,3})\.(\d{1,3}))?/.exec(text);
  const code = m?.[1] ? Number(m[1]) : null;
  const cls = m?.[2] ?? (code !== null ? String(code)[0] : '5');
  const status = m?.[2] ? `${m[2]}.${m[3]}.${m[4]}` : `${cls}.0.0`;
  return { code, status, text, transient: cls === '4' };
}

function unixSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** SendGrid's bounce_classification values, from the enhanced status code. */
export function sendgridClassification(status: string): string {
  if (/^[45]\.1\./.test(status)) return 'Invalid Address';
  if (/^[45]\.2\./.test(status)) return 'Mailbox Unavailable';
  if (/^[45]\.7\./.test(status)) return 'Reputation';
  if (/^[45]\.[34]\./.test(status)) return 'Technical';
  if (/^[45]\.6\./.test(status)) return 'Content';
  return 'Unclassified';
}

function lastHeaderValue(headers: WebhookInput['headers'], name: string): string | null {
  if (!headers) return null;
  for (let i = headers.length - 1; i >= 0; i--)
    if (headers[i].name.toLowerCase() === name) return headers[i].value;
  return null;
}

/** Fields every SendGrid event has; unique_args never override them. */
const SENDGRID_RESERVED = new Set([
  'email',
  'timestamp',
  'smtp-id',
  'sg_event_id',
  'sg_message_id',
  'event',
  'category',
  'type',
  'status',
  'reason',
  'response',
  'attempt',
  'tls',
  'ip',
  'bounce_classification',
  'useragent',
  'url',
]);

/** `unique_args` and `category` of an X-SMTPAPI header (SendGrid's SMTP relay API), as they appear in events. */
export function smtpApiFields(headers: WebhookInput['headers']): Record<string, unknown> {
  const value = lastHeaderValue(headers, 'x-smtpapi');
  if (value === null || value.length > MAX_SMTPAPI_CHARS) return {};
  let api: unknown;
  try {
    api = JSON.parse(value);
  } catch {
    return {};
  }
  if (typeof api !== 'object' || api === null || Array.isArray(api)) return {};
  const out: Record<string, unknown> = {};
  const { unique_args: args, category } = api as { unique_args?: unknown; category?: unknown };
  if (typeof args === 'object' && args !== null && !Array.isArray(args)) {
    for (const [k, v] of Object.entries(args).slice(0, MAX_UNIQUE_ARGS)) {
      if (SENDGRID_RESERVED.has(k) || k.startsWith('sg_') || k === '__proto__') continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
        out[k] = String(v).slice(0, 1024);
    }
  }
  if (typeof category === 'string') out.category = category.slice(0, 255);
  else if (Array.isArray(category))
    out.category = category
      .filter((c): c is string => typeof c === 'string')
      .slice(0, 10)
      .map((c) => c.slice(0, 255));
  return out;
}

/**
 * SendGrid Event Webhook body: an array with one event. `smtp-id` is the
 * Message-ID header (with brackets) and `sg_message_id` the Message-ID without
 * them (the sink's id when there is none), so the application can correlate.
 * `complaint` becomes SendGrid's `spamreport`; a bounce with a 4xx code
 * becomes `deferred`, as SendGrid reports temporary failures.
 */
export function buildSendGridEvents(
  input: WebhookInput,
  deps: WebhookDeps,
): Array<Record<string, unknown>> {
  const now = deps.now();
  const bare = bareMessageId(input.message.messageId);
  const base: Record<string, unknown> = {
    email: input.recipient,
    timestamp: unixSeconds(now),
    'smtp-id': bare !== null ? `<${bare}>` : `<${input.message.id}@sink>`,
    sg_event_id: deps.newId(),
    sg_message_id: bare ?? input.message.id,
    ...smtpApiFields(input.headers),
  };
  switch (input.event) {
    case 'delivered':
      return [
        {
          ...base,
          event: 'delivered',
          response: '250 2.0.0 OK',
          tls: input.message.envelope.tls ? 1 : 0,
          ip: input.message.envelope.clientAddress,
        },
      ];
    case 'bounce': {
      const d = parseDiagnostic(input.diagnostic);
      if (d.transient)
        return [
          {
            ...base,
            event: 'deferred',
            response: d.text,
            attempt: '1',
            tls: input.message.envelope.tls ? 1 : 0,
          },
        ];
      // SendGrid reports policy/reputation blocks (5.7.x) as type "blocked", the rest as "bounce".
      const type = d.status.startsWith('5.7.') ? 'blocked' : 'bounce';
      return [
        {
          ...base,
          event: 'bounce',
          type,
          status: d.status,
          reason: d.text,
          bounce_classification: sendgridClassification(d.status),
          tls: input.message.envelope.tls ? 1 : 0,
        },
      ];
    }
    case 'dropped': {
      const d = parseDiagnostic(input.diagnostic ?? 'Bounced Address');
      return [{ ...base, event: 'dropped', reason: d.text, status: d.status }];
    }
    case 'complaint':
      return [{ ...base, event: 'spamreport' }];
  }
}

/** SES bounceSubType from the enhanced status code (Permanent: General/NoEmail/Suppressed; Transient: General/MailboxFull/MessageTooLarge). */
function sesBounceSubType(d: ParsedDiagnostic): string {
  if (d.transient) {
    if (d.status === '4.2.2') return 'MailboxFull';
    if (/^4\.3\.4$/.test(d.status)) return 'MessageTooLarge';
    return 'General';
  }
  if (/^5\.1\.[1-3]$/.test(d.status)) return 'NoEmail';
  return 'General';
}

/** `mail.tags` from `X-SES-MESSAGE-TAGS: name=value, ...` and `X-SES-CONFIGURATION-SET`, or null when neither is set. */
export function sesTags(headers: WebhookInput['headers']): Record<string, string[]> | null {
  const tags: Record<string, string[]> = {};
  const configSet = lastHeaderValue(headers, 'x-ses-configuration-set');
  if (configSet !== null && configSet.trim() !== '')
    tags['ses:configuration-set'] = [configSet.trim().slice(0, 64)];
  const list = lastHeaderValue(headers, 'x-ses-message-tags');
  if (list !== null) {
    for (const pair of list.slice(0, MAX_SMTPAPI_CHARS).split(',').slice(0, 50)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim().slice(0, 256);
      if (name === '' || name === '__proto__') continue;
      tags[name] = [
        pair
          .slice(eq + 1)
          .trim()
          .slice(0, 256),
      ];
    }
  }
  return Object.keys(tags).length > 0 ? tags : null;
}

/** The SES notification object (what SNS carries, JSON-encoded, in `Message`). */
export function buildSesNotification(
  input: WebhookInput,
  deps: WebhookDeps,
): Record<string, unknown> {
  const now = deps.now();
  const m = input.message;
  const mta = deps.reportingMta ?? DEFAULT_REPORTING_MTA;
  const bare = bareMessageId(m.messageId);
  const source = m.envelope.mailFrom?.address ?? m.from ?? '';
  const sourceDomain = source.includes('@')
    ? source.slice(source.lastIndexOf('@') + 1)
    : 'example.com';
  let headers: Array<{ name: string; value: string }> = [];
  let headersTruncated = false;
  if (input.headers) {
    headersTruncated = input.headers.length > MAX_SES_HEADERS;
    headers = input.headers.slice(0, MAX_SES_HEADERS).map((h) => {
      if (h.value.length > MAX_SES_HEADER_VALUE_CHARS) headersTruncated = true;
      return { name: h.name, value: h.value.slice(0, MAX_SES_HEADER_VALUE_CHARS) };
    });
  } else {
    if (m.from !== null) headers.push({ name: 'From', value: m.from });
    if (m.to.length > 0) headers.push({ name: 'To', value: m.to.join(', ') });
    if (m.subject !== null) headers.push({ name: 'Subject', value: m.subject });
    if (bare !== null) headers.push({ name: 'Message-ID', value: `<${bare}>` });
  }
  const tags = sesTags(input.headers);
  const commonHeaders: Record<string, unknown> = {
    from: m.from !== null ? [m.from] : [],
    to: m.to,
  };
  if (bare !== null) commonHeaders.messageId = `<${bare}>`;
  if (m.subject !== null) commonHeaders.subject = m.subject;
  const mail = {
    timestamp: m.time,
    messageId: bare ?? m.id,
    source,
    sourceArn: `arn:aws:ses:us-east-1:${FAKE_AWS_ACCOUNT_ID}:identity/${sourceDomain}`,
    sourceIp: m.envelope.clientAddress,
    sendingAccountId: FAKE_AWS_ACCOUNT_ID,
    destination: m.envelope.rcptTo.map((r) => r.address),
    headersTruncated,
    headers,
    commonHeaders,
    ...(tags ? { tags } : {}),
  };
  const timestamp = now.toISOString();
  switch (input.event) {
    case 'delivered':
      return {
        notificationType: 'Delivery',
        mail,
        delivery: {
          timestamp,
          processingTimeMillis: Math.max(0, now.getTime() - Date.parse(m.time) || 0),
          recipients: [input.recipient],
          smtpResponse: '250 2.0.0 OK',
          reportingMTA: mta,
          remoteMtaIp: '127.0.0.1',
        },
      };
    case 'bounce':
    case 'dropped': {
      const d = parseDiagnostic(input.diagnostic);
      // SES has no "dropped": a send to a suppressed address is a Permanent bounce of subtype Suppressed.
      const bounceType =
        input.event === 'dropped' ? 'Permanent' : d.transient ? 'Transient' : 'Permanent';
      const bounceSubType = input.event === 'dropped' ? 'Suppressed' : sesBounceSubType(d);
      return {
        notificationType: 'Bounce',
        mail,
        bounce: {
          bounceType,
          bounceSubType,
          bouncedRecipients: [
            {
              emailAddress: input.recipient,
              action: 'failed',
              status: d.status,
              diagnosticCode: `smtp; ${d.text}`,
            },
          ],
          timestamp,
          feedbackId: deps.newId(),
          reportingMTA: `dsn; ${mta}`,
        },
      };
    }
    case 'complaint':
      return {
        notificationType: 'Complaint',
        mail,
        complaint: {
          complainedRecipients: [{ emailAddress: input.recipient }],
          timestamp,
          feedbackId: deps.newId(),
          complaintSubType: null,
          complaintFeedbackType: 'abuse',
          arrivalDate: timestamp,
          userAgent: 'kubectl-email-validate sink',
        },
      };
  }
}

/** The SNS HTTP `Notification` envelope around an SES notification. */
export function buildSnsEnvelope(
  notification: Record<string, unknown>,
  deps: WebhookDeps,
): Record<string, string> {
  const topicArn = deps.topicArn ?? DEFAULT_TOPIC_ARN;
  const region = topicArn.split(':')[3] || 'us-east-1';
  return {
    Type: 'Notification',
    MessageId: deps.newId(),
    TopicArn: topicArn,
    Message: JSON.stringify(notification),
    Timestamp: deps.now().toISOString(),
    SignatureVersion: '1',
    // Not a real signature: nothing outside AWS can produce one.
    Signature: 'UNSIGNED-BY-KUBECTL-EMAIL-VALIDATE',
    SigningCertURL: `https://sns.${region}.amazonaws.com.invalid/SimpleNotificationService-unsigned.pem`,
    UnsubscribeURL: `https://sns.${region}.amazonaws.com.invalid/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(topicArn)}`,
  };
}

/** Body and headers of the POST, exactly as the provider would send them. */
export function buildWebhookRequest(input: WebhookInput, deps: WebhookDeps): WebhookRequest {
  if (input.format === 'sendgrid') {
    return {
      body: JSON.stringify(buildSendGridEvents(input, deps)),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'kubectl-email-validate-sink (SendGrid Event Webhook format)',
      },
    };
  }
  const envelope = buildSnsEnvelope(buildSesNotification(input, deps), deps);
  return {
    body: JSON.stringify(envelope),
    headers: {
      // SNS posts JSON with a text/plain content type.
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': envelope.MessageId,
      'x-amz-sns-topic-arn': envelope.TopicArn,
      'x-amz-sns-subscription-arn': `${envelope.TopicArn}:${deps.newId()}`,
      'user-agent': 'Amazon Simple Notification Service Agent',
    },
  };
}
