import type {
  BounceData,
  EventDataMap,
  MessageAnalysis,
  MessageDetail,
  MessageSummary,
  RejectionData,
  SinkEvent,
} from '../protocol.ts';

/**
 * Messages one flow run keeps track of. A smoke test sees a few hundred; this
 * bounds memory if a flow is pointed at a busy shared sink. The oldest are
 * forgotten first (and reported as such if an expectation then fails).
 */
export const MAX_TRACKED_MESSAGES = 20_000;
/** Delivery events (rejections, deferrals, bounces, webhooks) kept, for the same reason. */
export const MAX_TRACKED_EVENTS = 20_000;

export interface TrackedMessage {
  seq: number;
  summary: MessageSummary;
  /** Set once fetched; null while not fetched or when fetching failed. */
  detail: MessageDetail | null;
  detailError: string | null;
  analysis: MessageAnalysis | null;
}

export type DeliveryEvent =
  | { seq: number; type: 'rejected' | 'deferred'; data: RejectionData }
  | { seq: number; type: 'bounced'; data: BounceData }
  | { seq: number; type: 'webhook'; data: EventDataMap['webhook.sent'] };

export type HistoryChange =
  | { kind: 'message'; message: TrackedMessage }
  | { kind: 'updated'; message: TrackedMessage }
  | { kind: 'event'; event: DeliveryEvent };

/**
 * Everything the sink reported since the flow started, indexed for the
 * expectations. Expectations evaluate against this history (not only against
 * events that arrive after they start), so mail that arrived while a `send`
 * or `http` step was still running is seen by the `expect` that follows it.
 */
export class FlowHistory {
  readonly messages: TrackedMessage[] = [];
  readonly events: DeliveryEvent[] = [];
  readonly #byId = new Map<string, TrackedMessage>();
  readonly #listeners = new Set<(change: HistoryChange) => void>();
  readonly #fetchDetail: (id: string) => Promise<MessageDetail>;
  readonly #detailFetches = new Map<string, Promise<TrackedMessage>>();
  /** Events the feed reported lost (gap events), and messages forgotten over the bound. */
  lost = 0;
  forgotten = 0;
  lastSeq = 0;

  constructor(fetchDetail: (id: string) => Promise<MessageDetail>) {
    this.#fetchDetail = fetchDetail;
  }

  subscribe(listener: (change: HistoryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(id: string): TrackedMessage | undefined {
    return this.#byId.get(id);
  }

  ingest(event: SinkEvent): void {
    if (event.seq > this.lastSeq) this.lastSeq = event.seq;
    switch (event.type) {
      case 'message.received': {
        const summary = event.data;
        if (this.#byId.has(summary.id)) return;
        const message: TrackedMessage = {
          seq: event.seq,
          summary,
          detail: null,
          detailError: null,
          analysis: null,
        };
        this.messages.push(message);
        this.#byId.set(summary.id, message);
        if (this.messages.length > MAX_TRACKED_MESSAGES) {
          const old = this.messages.shift();
          if (old) this.#byId.delete(old.summary.id);
          this.forgotten++;
        }
        this.#emit({ kind: 'message', message });
        return;
      }
      case 'message.analyzed': {
        const data = event.data;
        const message = this.#byId.get(data.id);
        if (!message) return;
        message.analysis = data.analysis;
        if (message.detail && !message.detail.analysis)
          message.detail = { ...message.detail, analysis: data.analysis };
        this.#emit({ kind: 'updated', message });
        return;
      }
      case 'message.rejected':
      case 'message.deferred':
        this.#pushEvent({
          seq: event.seq,
          type: event.type === 'message.rejected' ? 'rejected' : 'deferred',
          data: event.data,
        });
        return;
      case 'message.bounced':
        this.#pushEvent({ seq: event.seq, type: 'bounced', data: event.data });
        return;
      case 'webhook.sent':
        this.#pushEvent({
          seq: event.seq,
          type: 'webhook',
          data: event.data,
        });
        return;
      case 'gap':
        this.lost += event.data.missed;
        return;
      default:
    }
  }

  /** Fetches the full message once (shared by every expectation that needs it). */
  loadDetail(message: TrackedMessage): Promise<TrackedMessage> {
    if (message.detail || message.detailError) return Promise.resolve(message);
    let pending = this.#detailFetches.get(message.summary.id);
    if (!pending) {
      pending = this.#fetchDetail(message.summary.id)
        .then(
          (detail) => {
            message.detail = detail;
            if (!message.analysis && detail.analysis) message.analysis = detail.analysis;
            return message;
          },
          (err: unknown) => {
            message.detailError = err instanceof Error ? err.message : String(err);
            return message;
          },
        )
        .finally(() => this.#detailFetches.delete(message.summary.id));
      this.#detailFetches.set(message.summary.id, pending);
    }
    return pending;
  }

  #pushEvent(event: DeliveryEvent): void {
    this.events.push(event);
    if (this.events.length > MAX_TRACKED_EVENTS) this.events.shift();
    this.#emit({ kind: 'event', event });
  }

  #emit(change: HistoryChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
