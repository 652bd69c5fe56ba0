/**
 * Contracts between the sink's layers: the SMTP front end and rules write into
 * the store and the event log; the HTTP API and the WebSocket feed read them.
 * Each layer takes these interfaces, so tests can hand it a small fake.
 */
import type {
  AttachmentMeta,
  MessageAnalysis,
  MessageDetail,
  MessageSummary,
  SinkStats,
} from '../src/protocol.ts';
import type { EventLog } from './event-log.ts';

/** Filters of the list and search routes; every field is optional and they AND together. */
export interface MessageQuery {
  /** Matcher (src/match/value-matcher.ts: text or /…/) of any envelope recipient or header To/Cc. */
  to?: string;
  /** Matcher (text or /…/) of the envelope sender or header From. */
  from?: string;
  /** Matcher (text or /…/) of the Subject. */
  subject?: string;
  /** Case-insensitive substring anywhere in the raw message (headers and body). */
  containing?: string;
  /** Plus-address tag of any recipient, exact. */
  tag?: string;
}

export interface MessagePage {
  total: number;
  items: MessageSummary[];
}

export interface MessageStore {
  readonly count: number;
  readonly bytes: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Newest first. `limit` is clamped by the caller. */
  list(start: number, limit: number, query?: MessageQuery): MessagePage;
  get(id: string): MessageSummary | undefined;
  /** The full parse (mailparser) runs lazily on first request and is cached. */
  detail(id: string): Promise<MessageDetail | undefined>;
  raw(id: string): Buffer | undefined;
  /** Nanoseconds after the millisecond of the message's `time` at which it was received (MailHog's `Created`); optional for small test fakes. */
  createdNanos?(id: string): number;
  attachment(
    id: string,
    index: number,
  ): Promise<{ meta: AttachmentMeta; content: Buffer } | undefined>;
  delete(id: string): boolean;
  /** Removes everything; returns how many messages were removed. */
  clear(): number;
  /** The stored analysis (null before it ran); optional for small test fakes. */
  analysisOf?(id: string): MessageAnalysis | null;
  /** Mailpit's `Snippet` (sink/snippet.ts), parsed on first request and cached; optional for small test fakes. */
  snippet?(id: string): Promise<string | undefined>;
}

/** The rules currently in force, as the API shows and replaces them. */
export interface RulesController {
  /** The YAML source of the rules in force (empty string when only the built-in conventions apply). */
  source(): string;
  count(): number;
  /** Validates and swaps atomically; throws EV_ERR_RULES_INVALID and keeps the old rules on error. */
  replace(yamlSource: string): void;
  /**
   * A named set of rules layered after the user's, replaced as a whole (null
   * removes it): how MailHog's Jim and Mailpit's chaos map onto rules.
   * Validated like a rules file.
   */
  overlay?(yamlSource: string | null, name?: string): void;
}

/** Everything the HTTP API and the feed need from a running sink. */
export interface SinkContext {
  readonly instance: string;
  readonly store: MessageStore;
  readonly events: EventLog;
  readonly rules: RulesController;
  stats(): SinkStats;
  /** False while starting and once shutdown has begun (drives /readyz). */
  ready(): boolean;
}

/** Structured logger; the sink's default writes one JSON object per line to stdout. Never log tokens. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
