/**
 * The wire protocol between the sink and its clients (the CLI, flows, scripts).
 *
 * These shapes are public: `tail -o json` prints {@link SinkEvent}s unchanged and
 * the sink's HTTP API returns {@link MessageSummary} / {@link MessageDetail}.
 * Add fields freely; never rename or remove one.
 */

/** Version of the event and API schema, sent in `hello` frames and `/api/info`. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol the feed (`/api/events`) speaks; the sink selects it, clients offer it. */
export const FEED_SUBPROTOCOL = 'email-validate.v1';
/**
 * Prefix of a `Sec-WebSocket-Protocol` entry that carries the API token, offered
 * beside {@link FEED_SUBPROTOCOL} by browsers, which cannot set headers on a WebSocket.
 */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';
/** Close code of a feed client the sink dropped for being too slow: reconnect at once with `?since=<last seq>`. */
export const FEED_CLOSE_TOO_SLOW = 4008;
/** Close code the sink sends every feed client when it shuts down. */
export const FEED_CLOSE_GOING_AWAY = 1001;
/** The sink pings every feed client this often: below the 30-60 s idle timeouts of common proxies and port-forwards. */
export const FEED_PING_INTERVAL_MS = 15_000;

export type SmtpStage = 'connect' | 'mail' | 'rcpt' | 'data' | 'end';

/** One email address as seen on the envelope, with its plus-address tag. */
export interface EnvelopeAddress {
  /** The address exactly as given in MAIL FROM / RCPT TO (without brackets). */
  address: string;
  /** The `TAG` of `user+TAG@domain`, or null. */
  tag: string | null;
}

export interface Envelope {
  helo: string;
  mailFrom: EnvelopeAddress | null;
  rcptTo: EnvelopeAddress[];
  clientAddress: string;
  /** True when the session was upgraded with STARTTLS (or implicit TLS). */
  tls: boolean;
  /** The AUTH user name, or null when the client did not authenticate. */
  authUser: string | null;
}

export interface AttachmentMeta {
  /** Index within the message's attachments, used by the download route. */
  index: number;
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
  disposition: string | null;
  checksum: string | null;
}

/** One finding of the analysis. Heuristics, not a spam filter. */
export interface AnalysisReason {
  /** Stable code, e.g. `missing-date`, `no-list-unsubscribe`, `all-caps-subject`. */
  code: string;
  /** Points this reason adds to the spam-signal score (0 for informative findings). */
  score: number;
  message: string;
}

export type DkimResult = 'pass' | 'fail' | 'neutral' | 'none' | 'temperror' | 'permerror';

/** One DKIM-Signature header and what its verification gave. */
export interface DkimSignatureResult {
  domain: string;
  selector: string;
  result: DkimResult;
  info?: string;
  algorithm?: string;
  /** Lower-cased header names of the signature's `h=`. */
  signedHeaders?: string[];
  /** The signature's `l=` body length limit, when it has one. */
  bodyLength?: number;
}

export interface MessageAnalysis {
  requiredHeaders: { from: boolean; date: boolean; messageId: boolean };
  /** `oneClick`: RFC 8058 header pair with an https URI; `oneClickDkimCovered`: and both headers signed by a passing DKIM signature. */
  listUnsubscribe: {
    present: boolean;
    oneClick: boolean;
    urls: string[];
    mailto: string[];
    oneClickDkimCovered?: boolean;
  };
  dkim: {
    result: DkimResult;
    signatures: DkimSignatureResult[];
  };
  links: string[];
  hasText: boolean;
  hasHtml: boolean;
  spamScore: number;
  reasons: AnalysisReason[];
}

/** What the list route and `message.received` events carry. */
export interface MessageSummary {
  id: string;
  /** ISO 8601 time the end of DATA was accepted. */
  time: string;
  envelope: Envelope;
  /** Header `From`, `To`, `Subject` as decoded text (may differ from the envelope). */
  from: string | null;
  to: string[];
  subject: string | null;
  messageId: string | null;
  size: number;
  /** Null while the full MIME parse has not run; see `parseError`. */
  parsed: boolean;
  parseError: string | null;
}

/** What `GET /api/messages/{id}` returns. */
export interface MessageDetail extends MessageSummary {
  /** Headers in order, each value decoded to text; repeated names are repeated. */
  headers: Array<{ name: string; value: string }>;
  text: string | null;
  html: string | null;
  attachments: AttachmentMeta[];
  analysis: MessageAnalysis | null;
  /**
   * True when `text` or `html` was cut (at the sink's detail body limit, 1 MiB
   * characters each) or the body could not be parsed within the memory
   * budget: the whole message is always at `/api/messages/{id}/raw`.
   */
  truncated?: boolean;
}

export interface RejectionData {
  stage: SmtpStage;
  /** SMTP reply code, e.g. 550 or 451. */
  code: number;
  enhancedCode: string | null;
  text: string;
  from: string | null;
  to: string | null;
  clientAddress: string;
  /** Name of the rule that produced it, or `builtin:bounce` / `builtin:defer` for conventions. */
  rule: string | null;
}

export interface BounceData {
  /** The id of the original message that was accepted and then bounced. */
  messageId: string;
  /** The id of the stored DSN message addressed to the envelope sender. */
  dsnId: string;
  recipient: string;
  sender: string | null;
  status: string;
  diagnostic: string;
  rule: string | null;
}

/** A failed SMTP AUTH (wrong credentials); `disconnected` when the session hit the per-session cap and was closed with 421. */
export interface AuthFailedData {
  /** The user name the client tried (as sent; empty when none). */
  user: string;
  mechanism: string;
  clientAddress: string;
  /** Failed attempts in this session so far, this one included. */
  attempt: number;
  disconnected: boolean;
}

/** A release of a stored message (MailHog's or Mailpit's API) and its outcome. */
export interface ReleaseData {
  id: string;
  host: string;
  port: number;
  to: string[];
  /** Which compatible API asked. */
  api: 'mailhog' | 'mailpit';
  /** `sent`, `refused` (not in --release-to) or `failed` (the relay answered an error). */
  outcome: 'sent' | 'refused' | 'failed';
  error: string | null;
}

export interface EventDataMap {
  'message.received': MessageSummary;
  'message.rejected': RejectionData;
  'message.deferred': RejectionData;
  'message.bounced': BounceData;
  'message.analyzed': { id: string; analysis: MessageAnalysis; parseError: string | null };
  'message.evicted': { id: string; reason: 'count' | 'bytes' };
  'message.deleted': { id: string };
  'messages.cleared': { count: number };
  'rules.updated': { count: number };
  'webhook.sent': {
    url: string;
    format: string;
    status: number | null;
    error: string | null;
    messageId: string;
  };
  'auth.failed': AuthFailedData;
  /** A stored message relayed to a real SMTP server through a MailHog or Mailpit release (or refused). */
  'message.released': ReleaseData;
  /** The client asked for events older than the retained window. */
  gap: { from: number; to: number; missed: number };
}

export type SinkEventType = keyof EventDataMap;

export const SINK_EVENT_TYPES = Object.freeze([
  'message.received',
  'message.rejected',
  'message.deferred',
  'message.bounced',
  'message.analyzed',
  'message.evicted',
  'message.deleted',
  'messages.cleared',
  'rules.updated',
  'webhook.sent',
  'auth.failed',
  'message.released',
  'gap',
] as const satisfies readonly SinkEventType[]);

/** One event of one type; {@link SinkEvent} is the union of these. */
export interface SinkEventOf<T extends SinkEventType> {
  seq: number;
  /** ISO 8601. */
  time: string;
  type: T;
  data: EventDataMap[T];
}

/**
 * One event. `seq` is strictly increasing per sink process; `gap` events carry the seq they
 * precede. A union over the types, so that checking `type` narrows `data`.
 */
export type SinkEvent<T extends SinkEventType = SinkEventType> = T extends SinkEventType
  ? SinkEventOf<T>
  : never;

/** Builds an event of a type known only as a type parameter (the event log, test doubles). */
export function sinkEvent<T extends SinkEventType>(
  seq: number,
  time: string,
  type: T,
  data: EventDataMap[T],
): SinkEvent<T> {
  const event: SinkEventOf<T> = { seq, time, type, data };
  // eslint-disable-next-line @typescript-eslint/no-unsafe-type-assertion -- TypeScript cannot resolve SinkEvent<T> for a generic T; SinkEventOf<T> is its member
  return event as SinkEvent<T>;
}

/**
 * Frames on the WebSocket `/api/events?since=SEQ`. Event frames are the
 * {@link SinkEvent} JSON itself; control frames have `type: "hello"`.
 */
export interface HelloFrame {
  type: 'hello';
  protocol: number;
  /** Id of this sink process: a new id means seqs restarted. */
  instance: string;
  /** The oldest retained seq and the last assigned seq. */
  oldestSeq: number;
  lastSeq: number;
  /** Events after this seq follow (after a `gap` if some are gone); 0 when the client's `instance` was another process. */
  since?: number;
}

/** The hello frame as this sink sends it: `since` is always set (clients still treat it as optional). */
export type FeedHello = HelloFrame & { since: number };

export interface SinkStats {
  instance: string;
  messages: number;
  bytes: number;
  maxMessages: number;
  maxBytes: number;
  received: number;
  rejected: number;
  deferred: number;
  bounced: number;
  evicted: number;
  connections: number;
  lastSeq: number;
  uptimeSeconds: number;
}

/** Paged list response of the sink's own API. */
export interface MessageList {
  total: number;
  start: number;
  count: number;
  items: MessageSummary[];
}

/** Extracts the `+tag` of `user+tag@domain`, or null. */
export function plusTag(address: string): string | null {
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  const plus = local.indexOf('+');
  return plus < 0 ? null : local.slice(plus + 1);
}

/** One row of the web inbox (`GET /api/ui/inbox`): a summary plus the verdicts the list shows. */
export interface InboxItem extends MessageSummary {
  /** True when the message's top-level Content-Type is multipart/mixed (it carries attachments). */
  attachments: boolean;
  /** Overall DKIM result, null until the analysis ran. */
  dkim: DkimResult | null;
  /** Spam-signal score, null until the analysis ran. */
  spamScore: number | null;
}

/** `GET /api/ui/inbox`: one page of the inbox, and the feed position it was taken at (resume the feed from `lastSeq`). */
export interface InboxPage {
  total: number;
  start: number;
  items: InboxItem[];
  instance: string;
  lastSeq: number;
}

/** `GET /api/ui/events`: retained events of the asked types, oldest first. */
export interface EventHistory {
  events: SinkEvent[];
  oldestSeq: number;
  lastSeq: number;
  /** True when more events of these types are retained than were returned (the oldest were left out). */
  truncated: boolean;
}

/** `GET /api/messages/{id}/view`: where the sandboxed HTML preview of a message loads from. */
export interface HtmlViewLink {
  /** Path of the preview, carrying a capability for this message's HTML only; add `?remote=1` to allow remote content. */
  path: string;
}

/** One link of a message and what a request to it answered (`POST /api/messages/{id}/links/check`). */
export interface LinkCheck {
  url: string;
  status: number | null;
  ok: boolean;
  error: string | null;
}
