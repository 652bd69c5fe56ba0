/**
 * The in-memory message store: bounded by message count and by raw bytes,
 * oldest evicted first, each eviction announced as a `message.evicted` event.
 *
 * Only the raw source and a small summary are kept per message. The full MIME
 * parse for a detail view runs lazily through the parse backend (a worker
 * thread) and a few recent results are cached; the analysis arrives
 * asynchronously (see analysis-queue.ts) and is kept with the message.
 *
 * Every mutation is an event appended here (received, evicted, deleted,
 * cleared), so HTTP routes only call the methods.
 */
import { randomFillSync } from 'node:crypto';
import type {
  AttachmentMeta,
  Envelope,
  MessageAnalysis,
  MessageDetail,
  MessageSummary,
} from '../src/protocol.ts';
import { AnalysisCompactor } from './analysis-compact.ts';
import type { EventLog, PackedEvent } from './event-log.ts';
import { processGcValve } from './gc-valve.ts';
import type { GcValve } from './gc-valve.ts';
import type { MemoryBudget } from './memory-budget.ts';
import type { HeaderField } from './message-headers.ts';
import { parseHeaderBlock, summaryHeaders, splitAddressList } from './message-headers.ts';
import type { ParsedParts } from './message-parse.ts';
import type { ParseBackend } from './parse-worker.ts';
import type { MessageQuery, MessagePage, MessageStore } from './types.ts';
import { compileValueMatcher, type ValueMatcher } from '../src/match/value-matcher.ts';

/** Default cap on stored messages: a long test run's mail; their summaries take about 15 MB of heap (docs/performance.md). */
export const DEFAULT_MAX_MESSAGES = 10_000;
/**
 * Default cap on stored raw bytes: 128 MiB, the pod's, so that the local
 * sink's defaults keep to the same memory budget (sink/memory-budget.ts; issue
 * 2 had 256 MiB, which with the rest could not fit a 512 MiB process).
 */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** Detail views kept parsed; a UI or flow looks at the same few messages repeatedly. */
export const DETAIL_CACHE_SIZE = 32;
/**
 * Mailpit snippets kept (at most ~210 bytes each): a Mailpit client polls the
 * same first page or two. Computed on request, never at ingest, so a message
 * nobody lists through the Mailpit API costs neither parse nor memory.
 */
export const SNIPPET_CACHE_SIZE = 2000;

const NO_CC: string[] = [];
/** The age list is rebuilt no more often than every this many ids (see MemoryMessageStore.#compactAge). */
const AGE_COMPACT_MIN = 1024;

/** Random bytes drawn at once for message ids (16 per id). */
const ID_POOL_BYTES = 16 * 256;
const HEX = '0123456789abcdef';

/**
 * A random (version 4) UUID as one flat string. crypto.randomUUID builds its
 * result by concatenation, and V8 keeps such a string as a tree of ~14 pieces
 * (~300 bytes) for as long as it lives: here, as long as the message is stored.
 */
export function flatUuid(): string {
  if (idPoolOffset >= ID_POOL_BYTES) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  let o = 0;
  for (let i = 0; i < 16; i++) {
    let b = idPool[idPoolOffset + i];
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    if (i === 4 || i === 6 || i === 8 || i === 10) idText[o++] = 45; // '-'
    idText[o++] = HEX.charCodeAt(b >> 4);
    idText[o++] = HEX.charCodeAt(b & 15);
  }
  idPoolOffset += 16;
  return idText.toString('latin1', 0, 36);
}
const idPool = Buffer.alloc(ID_POOL_BYTES);
let idPoolOffset = ID_POOL_BYTES;
const idText = Buffer.alloc(36);

/**
 * `Date#toISOString`, computed once per millisecond: under load many messages
 * and events share a millisecond, and so share one string instead of one each.
 */
export function isoTimeCache(): (d: Date) => string {
  let lastMs = NaN;
  let last = '';
  return (d) => {
    const ms = d.getTime();
    if (ms !== lastMs) {
      lastMs = ms;
      last = d.toISOString();
    }
    return last;
  };
}

/** Nanoseconds in a millisecond, less one: the largest sub-millisecond value. */
const MAX_SUB_MS_NANOS = 999_999;

/** The fraction just under a whole millisecond, where a clock that ran ahead is set back to. */
const LAST_FRACTION = MAX_SUB_MS_NANOS / 1e6;

/**
 * The nanoseconds within the wall clock's millisecond at which a message was
 * received, for MailHog's `Created` (Go's `time.Time` has nanoseconds; the
 * summary's `time` has milliseconds). The wall clock (`Date`) gives the
 * millisecond; the digits under it come from the monotonic clock
 * (`performance.now()`, sub-microsecond) and the wall-clock time it started at
 * (`performance.timeOrigin`, microseconds). When the two disagree on the
 * millisecond (a clock step, or drift between them) the estimate moves by the
 * least that makes them agree: to the start of the wall clock's millisecond if
 * it was behind, to its end if ahead. Within one millisecond the values only
 * increase, so `Created` orders messages as they were received. A number kept on
 * the entry: no heap object per message.
 */
export function subMillisecondClock(
  monotonicMs: () => number = () => performance.now(),
  originMs: number = performance.timeOrigin,
): (wallMs: number) => number {
  // The estimate is `anchorWall + anchorFraction + (mono - anchorMono)`, kept in parts: the wall
  // clock's milliseconds since 1970 (~1.8e12) leave no room in a double for nanoseconds.
  let anchorWall = Math.floor(originMs);
  let anchorFraction = originMs - anchorWall;
  let anchorMono = 0;
  let lastMs = NaN;
  let lastNanos = -1;
  return (wallMs) => {
    const mono = monotonicMs();
    let fraction = anchorFraction + (mono - anchorMono) - (wallMs - anchorWall);
    if (fraction < 0 || fraction >= 1) {
      fraction = fraction < 0 ? 0 : LAST_FRACTION;
      anchorWall = wallMs;
      anchorFraction = fraction;
      anchorMono = mono;
    }
    let nanos = Math.min(MAX_SUB_MS_NANOS, Math.round(fraction * 1e6));
    if (wallMs === lastMs && nanos <= lastNanos) nanos = Math.min(MAX_SUB_MS_NANOS, lastNanos + 1);
    lastMs = wallMs;
    lastNanos = nanos;
    return nanos;
  };
}

/**
 * A stored message. Its summary as received is kept as its JSON text, one flat
 * string, and rebuilt on read: as objects (summary, envelope, addresses,
 * recipients, header values) it was ~15 heap objects per message, 750,000 at
 * the 50,000-message cap, which V8 traced on every scavenge promotion and
 * mark-compact (bench:sink scenario 6: ~6% of the CPU per message). The entry
 * is also the message's `message.received` event in the replay window
 * (EventLog.appendRecord), so a stored message is this object, its id, its
 * JSON and its raw memory; once the message is gone the window may still hold
 * the entry, so {@link MemoryMessageStore} drops its raw source and analysis.
 */
class Entry implements PackedEvent {
  seq = 0;
  time = '';
  /** `JSON.stringify` of the summary as received (parsed false). */
  readonly json: string;
  parsed = false;
  parseError: string | null = null;
  /** The raw source: its own memory when it has all of it (no Buffer object kept per message; see {@link rawOf}). */
  raw: ArrayBufferLike | Buffer;
  cc: string[];
  analysis: MessageAnalysis | null = null;
  /** Nanoseconds received after the millisecond of `time` (0-999,999; see {@link subMillisecondClock}). */
  nanos = 0;

  constructor(json: string, raw: ArrayBufferLike | Buffer, cc: string[]) {
    this.json = json;
    this.raw = raw;
    this.cc = cc;
  }

  get type(): 'message.received' {
    return 'message.received';
  }

  revive(json: string): MessageSummary {
    return parseSummary(json);
  }
}

/** What a removed entry keeps (the replay window may still hold it). */
const NO_RAW = new ArrayBuffer(0);

export interface StoreOptions {
  maxMessages: number;
  maxBytes: number;
  events: EventLog;
  parser: ParseBackend;
  /** The sink's memory budget: cached detail views draw from its `detail` account; the store reports its bytes to `store`. */
  budget?: MemoryBudget;
  now?: () => Date;
  /** Monotonic clock in ms (performance.now()-like) for the sub-millisecond digits; injectable for tests. */
  monotonicMs?: () => number;
  /** The wall-clock time in ms at which `monotonicMs` reads 0 (performance.timeOrigin-like). */
  timeOriginMs?: number;
  newId?: () => string;
  /** Told about the raw memory of every removed message (sink/gc-valve.ts); the process's by default. */
  gcValve?: GcValve;
}

export interface NewMessage {
  envelope: Envelope;
  raw: Buffer;
  headers: readonly HeaderField[];
}

export class MemoryMessageStore implements MessageStore {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly #events: EventLog;
  readonly #parser: ParseBackend;
  readonly #now: () => Date;
  readonly #iso = isoTimeCache();
  readonly #subMs: (wallMs: number) => number;
  readonly #newId: () => string;
  readonly #entries = new Map<string, Entry>();
  /**
   * The ids in age order from {@link #ageHead} on, for eviction; ids deleted
   * since are skipped there. `#entries.keys().next()` cannot say which entry is
   * the oldest: V8 leaves a deleted Map entry in place until its table is
   * rebuilt, and the iterator walks over them, so with the store at its cap
   * (one deletion per message) finding the oldest cost 20-50 µs per message
   * (bench:sink scenario 6).
   */
  #age: string[] = [];
  #ageHead = 0;
  /**
   * Runs a message's analysis now if it has not run (the analysis queue's
   * `demand`, wired by sink.ts); a detail view waits for it. Null: details
   * carry whatever analysis is stored.
   */
  analysisOnDemand: ((id: string) => Promise<void>) | null = null;
  /** Cached detail parses with their estimated size (0 while pending), oldest first. */
  readonly #details = new Map<string, { parts: Promise<ParsedParts>; bytes: number }>();
  /** Mailpit snippets by id (pending or done), oldest first. */
  readonly #snippets = new Map<string, Promise<string>>();
  readonly #budget: MemoryBudget | null;
  readonly #gcValve: GcValve;
  readonly #compactor = new AnalysisCompactor();
  #bytes = 0;
  #evicted = 0;
  #newestFirst: Entry[] | null = null;

  constructor(options: StoreOptions) {
    this.maxMessages = options.maxMessages;
    this.maxBytes = options.maxBytes;
    this.#events = options.events;
    this.#parser = options.parser;
    this.#budget = options.budget ?? null;
    this.#gcValve = options.gcValve ?? processGcValve();
    this.#now = options.now ?? (() => new Date());
    this.#subMs = subMillisecondClock(options.monotonicMs, options.timeOriginMs);
    this.#newId = options.newId ?? flatUuid;
  }

  get count(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Messages evicted since start. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Stores a message (evicting the oldest as needed) and appends `message.received`. */
  add(message: NewMessage): MessageSummary {
    const size = message.raw.length;
    while (
      this.#entries.size > 0 &&
      (this.#entries.size + 1 > this.maxMessages || this.#bytes + size > this.maxBytes)
    ) {
      if (!this.#evictOldest(this.#entries.size + 1 > this.maxMessages ? 'count' : 'bytes')) break;
    }
    const h = summaryHeaders(message.headers);
    const received = this.#now();
    const summary: MessageSummary = {
      id: this.#newId(),
      time: this.#iso(received),
      envelope: message.envelope,
      from: h.from,
      to: h.to,
      subject: h.subject,
      messageId: h.messageId,
      size,
      parsed: false,
      parseError: null,
    };
    const ccFields = message.headers.filter((f) => f.name === 'cc');
    const cc = ccFields.length === 0 ? NO_CC : ccFields.flatMap((f) => splitAddressList(f.value));
    const json = JSON.stringify(summary);
    const entry = new Entry(json, ownMemory(message.raw), cc);
    entry.nanos = this.#subMs(received.getTime());
    this.#entries.set(summary.id, entry);
    this.#age.push(summary.id);
    this.#compactAge();
    this.#bytes += size;
    this.#budget?.set('store', this.#bytes);
    this.#newestFirst = null;
    this.#events.appendRecord(entry, summary);
    return summary;
  }

  /**
   * Records the outcome of the full parse + analysis; false when the message is
   * gone. The analysis is kept compacted (see analysis-compact.ts): read it back
   * with {@link analysisOf} to publish the copy the store holds.
   */
  setAnalysis(id: string, analysis: MessageAnalysis | null, parseError: string | null): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    entry.analysis = analysis === null ? null : this.#compactor.compact(analysis);
    entry.parsed = true;
    entry.parseError = parseError;
    return true;
  }

  /** Whether the full parse + analysis of a stored message has run; undefined when there is no such message. */
  analysed(id: string): boolean | undefined {
    return this.#entries.get(id)?.parsed;
  }

  /** Ids of the stored messages not analysed yet, oldest first. */
  unanalysed(): string[] {
    const ids: string[] = [];
    for (const [id, entry] of this.#entries) if (!entry.parsed) ids.push(id);
    return ids;
  }

  analysisOf(id: string): MessageAnalysis | null {
    return this.#entries.get(id)?.analysis ?? null;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  list(start: number, limit: number, query?: MessageQuery): MessagePage {
    const all = (this.#newestFirst ??= [...this.#entries.values()].reverse());
    const active = query && Object.values(query).some((v) => v !== undefined && v !== '');
    if (!active)
      return { total: all.length, items: all.slice(start, start + limit).map(summaryOf) };
    const compiled = compileQuery(query);
    const items: MessageSummary[] = [];
    let total = 0;
    for (const entry of all) {
      const summary = summaryOf(entry);
      if (!matches(entry, summary, compiled)) continue;
      if (total >= start && items.length < limit) items.push(summary);
      total++;
    }
    return { total, items };
  }

  get(id: string): MessageSummary | undefined {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : summaryOf(entry);
  }

  async detail(id: string): Promise<MessageDetail | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    const raw = rawOf(entry); // a removal meanwhile drops the entry's
    let cached = this.#details.get(id);
    if (!cached) {
      cached = { parts: this.#parser.parts(raw), bytes: 0 };
      this.#details.set(id, cached);
      while (this.#details.size > DETAIL_CACHE_SIZE)
        this.#uncache(this.#details.keys().next().value!);
      const mine = cached;
      void mine.parts.then((p) => {
        if (this.#details.get(id) !== mine) return;
        // Kept only while the detail account has room; otherwise served once and dropped.
        const bytes = detailBytes(p);
        if (this.#budget === null || this.#budget.tryAcquire('detail', bytes)) mine.bytes = bytes;
        else this.#details.delete(id);
      });
    }
    const analysed =
      entry.parsed || this.analysisOnDemand === null ? null : this.analysisOnDemand(id);
    const p = await cached.parts;
    if (analysed !== null) await analysed;
    const current = this.#entries.get(id) ?? entry;
    // A body that could not be parsed (too large for the parse worker's memory, broken MIME):
    // the headers from the raw source are still given, and the raw download always works.
    const headers =
      p.headers.length > 0 || p.parseError === null
        ? p.headers
        : parseHeaderBlock(raw)
            .slice(0, 2000)
            .map((h) => ({ name: h.name, value: h.value }));
    return {
      ...summaryOf(current),
      parseError: current.parseError ?? p.parseError,
      headers,
      text: p.text,
      html: p.html,
      attachments: p.attachments,
      analysis: current.analysis,
      ...(p.truncated || (p.parseError !== null && p.text === null && p.html === null)
        ? { truncated: true }
        : {}),
    };
  }

  /** Mailpit's `Snippet` of a stored message (sink/snippet.ts); undefined when there is no such message. */
  snippet(id: string): Promise<string | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return Promise.resolve(undefined);
    let cached = this.#snippets.get(id);
    if (cached === undefined) {
      cached = this.#parser.snippet(rawOf(entry));
      this.#snippets.set(id, cached);
      if (this.#snippets.size > SNIPPET_CACHE_SIZE)
        this.#snippets.delete(this.#snippets.keys().next().value!);
    }
    return cached;
  }

  #uncache(id: string): void {
    const cached = this.#details.get(id);
    if (!cached) return;
    this.#details.delete(id);
    this.#budget?.release('detail', cached.bytes);
  }

  /** Nanoseconds after the millisecond of the message's `time` at which it was received; 0 for an unknown id. */
  createdNanos(id: string): number {
    return this.#entries.get(id)?.nanos ?? 0;
  }

  raw(id: string): Buffer | undefined {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : rawOf(entry);
  }

  async attachment(
    id: string,
    index: number,
  ): Promise<{ meta: AttachmentMeta; content: Buffer } | undefined> {
    const entry = this.#entries.get(id);
    if (!entry || !Number.isInteger(index) || index < 0) return undefined;
    return this.#parser.attachment(rawOf(entry), index);
  }

  delete(id: string): boolean {
    if (!this.#remove(id)) return false;
    this.#events.append('message.deleted', { id });
    return true;
  }

  clear(): number {
    const count = this.#entries.size;
    for (const entry of this.#entries.values()) this.#forget(entry);
    this.#entries.clear();
    this.#age = [];
    this.#ageHead = 0;
    this.#snippets.clear();
    for (const id of [...this.#details.keys()]) this.#uncache(id);
    this.#bytes = 0;
    this.#budget?.set('store', 0);
    this.#newestFirst = null;
    this.#events.append('messages.cleared', { count });
    return count;
  }

  /** False when there was nothing to evict. */
  #evictOldest(reason: 'count' | 'bytes'): boolean {
    const age = this.#age;
    while (this.#ageHead < age.length) {
      const id = age[this.#ageHead++];
      if (!this.#remove(id)) continue; // deleted before
      this.#evicted++;
      this.#events.append('message.evicted', { id, reason });
      return true;
    }
    return false;
  }

  /**
   * Drops the evicted and deleted ids from the age list: once the evicted prefix
   * is as long as the rest, or the deleted ids outnumber the stored ones
   * (messages deleted through the API without the store ever filling up).
   * Each rebuild costs what the ids since the last one added: O(1) per message.
   */
  #compactAge(): void {
    const waiting = this.#age.length - this.#ageHead;
    const evictedPrefix = this.#ageHead >= AGE_COMPACT_MIN && this.#ageHead >= waiting;
    const manyDeleted = waiting >= 2 * this.#entries.size + AGE_COMPACT_MIN;
    if (!evictedPrefix && !manyDeleted) return;
    const live: string[] = [];
    for (let i = this.#ageHead; i < this.#age.length; i++)
      if (this.#entries.has(this.#age[i])) live.push(this.#age[i]);
    this.#age = live;
    this.#ageHead = 0;
  }

  /** Drops what a removed entry holds beyond its summary: the replay window may keep the entry as its `message.received`. */
  #forget(entry: Entry): void {
    this.#gcValve.discardedRaw(entry.raw.byteLength);
    entry.raw = NO_RAW;
    entry.analysis = null;
    entry.cc = NO_CC;
  }

  #remove(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    this.#entries.delete(id);
    this.#snippets.delete(id);
    this.#uncache(id);
    this.#bytes -= entry.raw.byteLength;
    this.#forget(entry);
    this.#budget?.set('store', this.#bytes);
    this.#newestFirst = null;
    return true;
  }
}

/**
 * What the store keeps of a raw source: the memory under it when the Buffer
 * spans all of it (DataBuffer.take's exact-size shared memory), else the
 * Buffer (a DSN built from a string may be a slice of Node's pool). Without the
 * Buffer object, a stored message is one heap object fewer for V8 to promote,
 * mark and sweep (bench:sink scenario 6).
 */
function ownMemory(raw: Buffer): ArrayBufferLike | Buffer {
  return raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw.buffer : raw;
}

/** A stored message's raw source as a Buffer (a view: no copy). */
function rawOf(entry: Entry): Buffer {
  const raw = entry.raw;
  return raw instanceof Uint8Array ? raw : Buffer.from(raw);
}

/** Rough heap cost of a parsed detail: two bytes per character of its strings. */
function detailBytes(p: ParsedParts): number {
  let chars = (p.text?.length ?? 0) + (p.html?.length ?? 0);
  for (const h of p.headers) chars += h.name.length + h.value.length;
  return 2 * chars + 256 * p.attachments.length;
}

function includes(haystack: string | null | undefined, needle: string): boolean {
  return haystack != null && haystack.toLowerCase().includes(needle);
}

/** A query with its to/from/subject compiled once per list call (src/match/value-matcher.ts: the rule every surface shares). */
interface CompiledQuery {
  to: ValueMatcher | null;
  from: ValueMatcher | null;
  subject: ValueMatcher | null;
  containing: string | null;
  tag: string | null;
}

/** Throws PatternError for a bad `/…/` (the API validates first and answers 400). */
function compileQuery(q: MessageQuery): CompiledQuery {
  const m = (v: string | undefined): ValueMatcher | null =>
    v === undefined || v === '' ? null : compileValueMatcher(v);
  return {
    to: m(q.to),
    from: m(q.from),
    subject: m(q.subject),
    containing: q.containing ? q.containing.toLowerCase() : null,
    tag: q.tag || null,
  };
}

const parseJson: (text: string) => unknown = JSON.parse;

/** A summary's JSON made by {@link MemoryMessageStore.add}, read back. */
export function parseSummary(json: string): MessageSummary {
  const value = parseJson(json);
  if (!isSummary(value)) throw new Error('stored summary JSON is not a summary');
  return value;
}

function isSummary(v: unknown): v is MessageSummary {
  return (
    typeof v === 'object' &&
    v !== null &&
    'id' in v &&
    typeof v.id === 'string' &&
    'envelope' in v &&
    typeof v.envelope === 'object' &&
    'to' in v &&
    Array.isArray(v.to) &&
    'size' in v &&
    typeof v.size === 'number'
  );
}

/** The summary of a stored message, rebuilt from its JSON with the parse outcome. */
function summaryOf(entry: Entry): MessageSummary {
  const summary = parseSummary(entry.json);
  if (entry.parsed) {
    summary.parsed = true;
    summary.parseError = entry.parseError;
  }
  return summary;
}

function matches(entry: Entry, s: MessageSummary, q: CompiledQuery): boolean {
  const any = (m: ValueMatcher, v: string | null | undefined): boolean => v != null && m.test(v);
  if (q.to) {
    const to = q.to;
    if (
      !s.envelope.rcptTo.some((r) => any(to, r.address)) &&
      !s.to.some((t) => any(to, t)) &&
      !entry.cc.some((c) => any(to, c))
    )
      return false;
  }
  if (q.from && !any(q.from, s.envelope.mailFrom?.address) && !any(q.from, s.from)) return false;
  if (q.subject && !any(q.subject, s.subject)) return false;
  if (q.tag && !s.envelope.rcptTo.some((r) => r.tag === q.tag)) return false;
  if (q.containing && !includes(rawOf(entry).toString('utf8'), q.containing)) return false;
  return true;
}
