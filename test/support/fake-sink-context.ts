/**
 * An in-memory SinkContext for testing the HTTP API and the feed without SMTP:
 * messages are added directly with {@link FakeSinkContext.addMessage}. Like the
 * real store, it publishes `message.received`, `message.deleted` and
 * `messages.cleared` on its event log, and the fake rules publish `rules.updated`.
 */
import { EventLog } from '../../sink/event-log.ts';
import type {
  MessageQuery,
  MessagePage,
  MessageStore,
  RulesController,
  SinkContext,
} from '../../sink/types.ts';
import { evError } from '../../src/errors.ts';
import {
  plusTag,
  type AttachmentMeta,
  type MessageAnalysis,
  type MessageDetail,
  type MessageSummary,
  type SinkStats,
} from '../../src/protocol.ts';
import { compileValueMatcher, type ValueMatcher } from '../../src/match/value-matcher.ts';

export interface FakeMessageInput {
  raw: string | Buffer;
  from?: string | null;
  to?: string[];
  helo?: string;
  time?: Date;
  subject?: string | null;
  attachments?: Array<{ meta: Omit<AttachmentMeta, 'index'>; content: Buffer }>;
  /** The SMTP AUTH user (null: none). */
  authUser?: string | null;
  /** What the detail view reports (the fake does not parse): headers in order, HTML body, analysis. */
  headers?: Array<{ name: string; value: string }>;
  html?: string | null;
  analysis?: MessageAnalysis | null;
  /** The text body (default: what follows the header block of `raw`). */
  text?: string | null;
}

interface Entry {
  summary: MessageSummary;
  raw: Buffer;
  attachments: Array<{ meta: AttachmentMeta; content: Buffer }>;
  detail: Pick<MessageDetail, 'headers' | 'html' | 'analysis'> & { text?: string | null };
}

function header(raw: string, name: string): string | null {
  const head = raw.split(/\r?\n\r?\n/, 1)[0];
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head);
  return m ? m[1].trim() : null;
}

export class FakeStore implements MessageStore {
  readonly maxMessages = 1000;
  readonly maxBytes = 64 * 1024 * 1024;
  readonly entries: Entry[] = [];
  readonly #events: EventLog;
  #next = 1;
  detailCalls = 0;

  constructor(events: EventLog) {
    this.#events = events;
  }

  get count(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.entries.reduce((n, e) => n + e.raw.length, 0);
  }

  add(input: FakeMessageInput): MessageSummary {
    const raw = Buffer.isBuffer(input.raw) ? input.raw : Buffer.from(input.raw, 'utf8');
    const text = raw.toString('utf8');
    const from = input.from === undefined ? 'sender@example.com' : input.from;
    const to = input.to ?? ['user@example.com'];
    const id = `msg-${this.#next++}`;
    const summary: MessageSummary = {
      id,
      time: (input.time ?? new Date(Date.UTC(2026, 0, 2, 3, 4, 5))).toISOString(),
      envelope: {
        helo: input.helo ?? 'client.example',
        mailFrom: from === null ? null : { address: from, tag: plusTag(from) },
        rcptTo: to.map((address) => ({ address, tag: plusTag(address) })),
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: input.authUser ?? null,
      },
      from: header(text, 'From'),
      to: header(text, 'To') === null ? [] : [header(text, 'To') as string],
      subject: input.subject === undefined ? header(text, 'Subject') : input.subject,
      messageId: header(text, 'Message-ID'),
      size: raw.length,
      parsed: false,
      parseError: null,
    };
    const attachments = (input.attachments ?? []).map((a, index) => ({
      meta: { ...a.meta, index },
      content: a.content,
    }));
    const detail = {
      headers: input.headers ?? [],
      html: input.html ?? null,
      analysis: input.analysis ?? null,
      ...(input.text === undefined ? {} : { text: input.text }),
    };
    this.entries.push({ summary, raw, attachments, detail });
    this.#events.append('message.received', summary);
    return summary;
  }

  #matches(entry: Entry, q: MessageQuery): boolean {
    const has = (hay: string | null | undefined, needle: string) =>
      (hay ?? '').toLowerCase().includes(needle.toLowerCase());
    // to/from/subject: the real store's rule, from the one place it lives.
    const m = (v: string | undefined) => (v === undefined ? null : compileValueMatcher(v));
    const any = (hay: string | null | undefined, matcher: ValueMatcher) =>
      hay != null && matcher.test(hay);
    const [to, from, subject] = [m(q.to), m(q.from), m(q.subject)];
    const s = entry.summary;
    if (to && !s.envelope.rcptTo.some((r) => any(r.address, to)) && !s.to.some((t) => any(t, to)))
      return false;
    if (from && !any(s.envelope.mailFrom?.address, from) && !any(s.from, from)) return false;
    if (subject && !any(s.subject, subject)) return false;
    if (q.containing !== undefined && !has(entry.raw.toString('utf8'), q.containing)) return false;
    if (q.tag !== undefined && !s.envelope.rcptTo.some((r) => r.tag === q.tag)) return false;
    return true;
  }

  list(start: number, limit: number, query: MessageQuery = {}): MessagePage {
    const matching = [...this.entries].reverse().filter((e) => this.#matches(e, query));
    return {
      total: matching.length,
      items: matching.slice(start, start + limit).map((e) => e.summary),
    };
  }

  get(id: string): MessageSummary | undefined {
    return this.entries.find((e) => e.summary.id === id)?.summary;
  }

  async detail(id: string): Promise<MessageDetail | undefined> {
    this.detailCalls++;
    const entry = this.entries.find((e) => e.summary.id === id);
    if (entry === undefined) return undefined;
    const text = entry.raw.toString('utf8');
    const split = text.indexOf('\r\n\r\n');
    return {
      ...entry.summary,
      parsed: true,
      text: split < 0 ? text : text.slice(split + 4),
      attachments: entry.attachments.map((a) => a.meta),
      ...entry.detail,
    };
  }

  raw(id: string): Buffer | undefined {
    return this.entries.find((e) => e.summary.id === id)?.raw;
  }

  async attachment(
    id: string,
    index: number,
  ): Promise<{ meta: AttachmentMeta; content: Buffer } | undefined> {
    return this.entries.find((e) => e.summary.id === id)?.attachments[index];
  }

  delete(id: string): boolean {
    const i = this.entries.findIndex((e) => e.summary.id === id);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    this.#events.append('message.deleted', { id });
    return true;
  }

  clear(): number {
    const count = this.entries.length;
    this.entries.length = 0;
    this.#events.append('messages.cleared', { count });
    return count;
  }
}

/** Rules that accept any YAML mapping; `invalid: true` anywhere is refused like a schema error. */
export class FakeRules implements RulesController {
  #source = '';
  #count = 0;
  readonly #events: EventLog;

  constructor(events: EventLog) {
    this.#events = events;
  }

  /** Overlay sets by name, as the real engine keeps them (see {@link enableOverlays}). */
  readonly overlays = new Map<string, string>();
  /** Absent until {@link enableOverlays}: a controller without overlays (Jim, Mailpit chaos refused). */
  overlay?: (yamlSource: string | null, name?: string) => void;

  /** Accept overlays (MailHog's Jim, Mailpit's chaos), recording each set's YAML by name. */
  enableOverlays(): void {
    this.overlay = (yamlSource, name = 'overlay') => {
      if (yamlSource === null) this.overlays.delete(name);
      else this.overlays.set(name, yamlSource);
    };
  }

  source(): string {
    return this.#source;
  }

  count(): number {
    return this.#count;
  }

  replace(yamlSource: string): void {
    if (/invalid:\s*true/.test(yamlSource) || /^\s*[[{]\s*$/.test(yamlSource)) {
      throw evError('EV_ERR_RULES_INVALID', 'rules.yaml:1: not a valid rules document', {
        hint: 'see docs/sink.md for the rules schema',
      });
    }
    this.#source = yamlSource;
    this.#count = (yamlSource.match(/^\s*- /gm) ?? []).length;
    this.#events.append('rules.updated', { count: this.#count });
  }
}

export class FakeSinkContext implements SinkContext {
  readonly instance: string;
  readonly events: EventLog;
  readonly store: FakeStore;
  readonly rules: FakeRules;
  isReady = true;

  constructor(options: { instance?: string; window?: number } = {}) {
    this.instance = options.instance ?? 'fake-instance';
    this.events = new EventLog({ window: options.window ?? 1000 });
    this.store = new FakeStore(this.events);
    this.rules = new FakeRules(this.events);
  }

  addMessage(input: FakeMessageInput): MessageSummary {
    return this.store.add(input);
  }

  stats(): SinkStats {
    return {
      instance: this.instance,
      messages: this.store.count,
      bytes: this.store.bytes,
      maxMessages: this.store.maxMessages,
      maxBytes: this.store.maxBytes,
      received: 0,
      rejected: 0,
      deferred: 0,
      bounced: 0,
      evicted: 0,
      connections: 0,
      lastSeq: this.events.lastSeq,
      uptimeSeconds: 0,
    };
  }

  ready(): boolean {
    return this.isReady;
  }
}

/** A logger that remembers what it was told (to check that tokens never appear). */
export class MemoryLogger {
  readonly lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  text(): string {
    return this.lines.map((l) => `${l.msg} ${JSON.stringify(l.fields ?? {})}`).join('\n');
  }
}

/** Starts the API server over a fake context on 127.0.0.1:0; `close()` shuts it down. */
export async function startFakeApi(
  options: {
    token?: string | null;
    ctx?: FakeSinkContext;
    feed?: import('../../sink/http/api-server.ts').ApiServerOptions['feed'];
    /** More of the server's options (the MailHog/Mailpit routes' release targets, relay, CORS, SMTP). */
    server?: Partial<
      Pick<
        import('../../sink/http/api-server.ts').ApiServerOptions,
        | 'corsOrigin'
        | 'releaseTo'
        | 'relay'
        | 'localSmtp'
        | 'linkCheckPrivate'
        | 'mailhogHostname'
        | 'mailhogSseKeepaliveMs'
      >
    >;
  } = {},
) {
  const { createApiServer } = await import('../../sink/http/api-server.ts');
  const { SinkMetrics } = await import('../../sink/metrics.ts');
  const ctx = options.ctx ?? new FakeSinkContext();
  const logger = new MemoryLogger();
  const metrics = new SinkMetrics(() => ctx.stats(), { processMetrics: false });
  const token = options.token === undefined ? 'test-token-0123456789' : options.token;
  const api = createApiServer(ctx, {
    token,
    metrics,
    logger,
    feed: options.feed,
    ...options.server,
  });
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const address = api.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const base = `http://127.0.0.1:${address.port}`;
  const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  return {
    ctx,
    api,
    logger,
    metrics,
    token,
    base,
    auth,
    fetch: (path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
      }),
    close: () => api.shutdown(),
  };
}
