/**
 * What the inbox shows, kept in plain arrays and maps (not component state)
 * so that 10,000 messages and hundreds of events a second cost little: the
 * feed mutates the model, and the page re-renders at most once per frame.
 */
import type {
  BounceData,
  InboxItem,
  InboxPage,
  MessageSummary,
  RejectionData,
  SinkEvent,
} from '../../../src/protocol.ts';

export type Verdict = 'received' | 'rejected' | 'deferred' | 'bounced';

export interface MessageRow {
  kind: 'message';
  key: string;
  time: string;
  item: InboxItem;
  bounce: BounceData | null;
}

export interface RefusalRow {
  kind: 'rejected' | 'deferred';
  key: string;
  time: string;
  seq: number;
  data: RejectionData;
}

export type Row = MessageRow | RefusalRow;

/** Events kept for the timeline; older ones fall off (the sink keeps its own window). */
export const TIMELINE_MAX = 5000;
/** Refusal rows kept for the inbox. */
export const REFUSALS_MAX = 5000;

export function itemFromSummary(s: MessageSummary): InboxItem {
  return { ...s, attachments: false, dkim: null, spamScore: null };
}

export class InboxModel {
  instance = '';
  /** Oldest first, so that arrivals append. */
  messages: MessageRow[] = [];
  readonly byId = new Map<string, MessageRow>();
  refusals: RefusalRow[] = [];
  /** Newest last. */
  timeline: SinkEvent[] = [];
  timelineLoaded = false;
  #lastRefusalSeq = 0;
  readonly #bounces = new Map<string, BounceData>();
  /** Incremented on every change; views memoise on it. */
  version = 0;
  rulesVersion = 0;
  /** Messages that arrived through the feed (offsets of the snapshot's later pages shift by these). */
  liveArrivals = 0;
  /** Ids whose attachment marker is still to be fetched. */
  readonly pendingVerdicts = new Set<string>();

  reset(instance: string): void {
    this.instance = instance;
    this.messages = [];
    this.byId.clear();
    this.refusals = [];
    this.timeline = [];
    this.timelineLoaded = false;
    this.#lastRefusalSeq = 0;
    this.#bounces.clear();
    this.pendingVerdicts.clear();
    this.version++;
  }

  /** Adds a page of the snapshot (newest first), below what is there. */
  addPage(page: InboxPage): void {
    const older: MessageRow[] = [];
    for (const item of page.items) {
      if (this.byId.has(item.id)) continue;
      const row: MessageRow = {
        kind: 'message',
        key: item.id,
        time: item.time,
        item,
        bounce: this.#bounces.get(item.id) ?? null,
      };
      this.byId.set(item.id, row);
      older.push(row);
    }
    older.reverse();
    this.messages = older.concat(this.messages);
    this.version++;
  }

  applyVerdicts(items: InboxItem[]): void {
    for (const item of items) {
      const row = this.byId.get(item.id);
      if (row)
        row.item = {
          ...row.item,
          attachments: item.attachments,
          dkim: row.item.dkim ?? item.dkim,
          spamScore: row.item.spamScore ?? item.spamScore,
        };
    }
    this.version++;
  }

  /**
   * Applies retained events fetched with the snapshot: refusals and bounces only.
   * The snapshot already reflects deletions, evictions and clears, and the feed
   * replays whatever came after the older of the two positions.
   */
  addHistory(events: SinkEvent[]): void {
    for (const e of events) {
      if (
        e.type === 'message.rejected' ||
        e.type === 'message.deferred' ||
        e.type === 'message.bounced'
      )
        this.#apply(e, false, true);
    }
    this.version++;
  }

  /** Merges the timeline's history (fetched when the Events view is first opened) with what the feed brought since. */
  mergeTimeline(events: SinkEvent[]): void {
    const bySeq = new Map<number, SinkEvent>();
    for (const e of events) if (e.type !== 'message.analyzed') bySeq.set(e.seq, e);
    for (const e of this.timeline) bySeq.set(e.seq, e);
    this.timeline = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-TIMELINE_MAX);
    this.timelineLoaded = true;
    this.version++;
  }

  apply(event: SinkEvent): void {
    this.#apply(event, true, false);
    this.version++;
  }

  #apply(e: SinkEvent, toTimeline: boolean, history: boolean): void {
    if (toTimeline && e.type !== 'message.analyzed') {
      this.timeline.push(e);
      if (this.timeline.length > TIMELINE_MAX * 1.2)
        this.timeline = this.timeline.slice(-TIMELINE_MAX);
    }
    switch (e.type) {
      case 'message.received': {
        if (history) break;
        const s = e.data;
        if (this.byId.has(s.id)) break;
        const row: MessageRow = {
          kind: 'message',
          key: s.id,
          time: s.time,
          item: itemFromSummary(s),
          bounce: null,
        };
        this.byId.set(s.id, row);
        this.messages.push(row);
        this.liveArrivals++;
        this.pendingVerdicts.add(s.id);
        break;
      }
      case 'message.analyzed': {
        const d = e.data;
        const row = this.byId.get(d.id);
        if (row)
          row.item = {
            ...row.item,
            dkim: d.analysis.dkim.result,
            spamScore: d.analysis.spamScore,
            parsed: true,
            parseError: d.parseError,
          };
        break;
      }
      case 'message.deleted':
      case 'message.evicted':
        this.remove(e.data.id);
        break;
      case 'messages.cleared':
        this.clearMessages();
        break;
      case 'message.bounced': {
        const d = e.data;
        this.#bounces.set(d.messageId, d);
        const row = this.byId.get(d.messageId);
        if (row) row.bounce = d;
        break;
      }
      case 'message.rejected':
      case 'message.deferred':
        if (e.seq <= this.#lastRefusalSeq) break; // replayed by the feed after the history had it
        this.#lastRefusalSeq = e.seq;
        this.refusals.push({
          kind: e.type === 'message.rejected' ? 'rejected' : 'deferred',
          key: `seq-${e.seq}`,
          time: e.time,
          seq: e.seq,
          data: e.data,
        });
        if (this.refusals.length > REFUSALS_MAX * 1.2)
          this.refusals = this.refusals.slice(-REFUSALS_MAX);
        break;
      case 'rules.updated':
        this.rulesVersion++;
        break;
      default:
        break;
    }
  }

  clearMessages(): void {
    this.messages = [];
    this.byId.clear();
    this.version++;
  }

  remove(id: string): void {
    const row = this.byId.get(id);
    if (!row) return;
    this.byId.delete(id);
    // Evictions take the oldest: the first entry, found at once.
    const at = this.messages[0] === row ? 0 : this.messages.lastIndexOf(row);
    if (at >= 0) this.messages.splice(at, 1);
    this.version++;
  }
}

/** Rows of the inbox, newest first, for a verdict filter (null: messages and refusals together). */
export function rowsFor(model: InboxModel, verdict: Verdict | null): Row[] {
  const msgs = model.messages;
  if (verdict === 'received') return msgs.slice().reverse();
  if (verdict === 'bounced')
    return msgs.filter((r) => r.bounce !== null || r.item.envelope.mailFrom === null).reverse();
  if (verdict === 'rejected' || verdict === 'deferred')
    return model.refusals.filter((r) => r.kind === verdict).reverse();
  // Merge two time-ordered lists, newest first.
  const out = new Array<Row>(msgs.length + model.refusals.length);
  let i = msgs.length - 1;
  let j = model.refusals.length - 1;
  let k = 0;
  while (i >= 0 || j >= 0) {
    if (j < 0 || (i >= 0 && msgs[i].time >= model.refusals[j].time)) out[k++] = msgs[i--];
    else out[k++] = model.refusals[j--];
  }
  return out;
}

/** Parses the search box: `from:x to:y subject:"a b" free text` into the API's filters. */
export function parseSearch(text: string): {
  from?: string;
  to?: string;
  subject?: string;
  containing?: string;
} {
  const out: Record<string, string> = {};
  const free: string[] = [];
  const re = /(from|to|subject):(?:"([^"]*)"|(\S+))|"([^"]*)"|(\S+)/g;
  for (const m of text.matchAll(re)) {
    if (m[1]) out[m[1]] = m[2] ?? m[3] ?? '';
    else free.push(m[4] ?? m[5] ?? '');
  }
  if (free.length > 0) out.containing = free.join(' ');
  return out;
}
