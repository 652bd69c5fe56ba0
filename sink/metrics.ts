/**
 * Prometheus metrics of the sink (prom-client), on a Registry of its own so
 * that several sinks in one process (tests, `--local` flows) never share or
 * clash over the global registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemoryBudget } from './memory-budget.ts';
import type { SinkStats } from '../src/protocol.ts';

/** Prefix of every metric name, so dashboards can select the sink's series at once. */
export const METRIC_PREFIX = 'email_sink_';

/**
 * Ingest latency buckets (seconds), from the end of DATA to the message being
 * stored and announced: sub-millisecond when idle, up to seconds under a flood
 * or a deliberately slow rule, so the buckets span 100 µs .. 10 s.
 */
export const INGEST_LATENCY_BUCKETS = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

type HistogramValues = Awaited<ReturnType<Histogram['get']>>['values'];

/**
 * A histogram without labels whose observations are counted in a typed array
 * and exported in prom-client's histogram form. prom-client's own `observe`
 * converts labels and the bucket bound (a float, to a string key) on every
 * call: ~4 µs per message on the SMTP thread at ingest (issue 13).
 */
export class CountingHistogram extends Histogram {
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;
  /** Name, help, type and aggregator as prom-client gives them (its values, all zero, are replaced). */
  readonly #base: ReturnType<Histogram['get']>;

  constructor(config: { name: string; help: string; buckets: number[]; registers: Registry[] }) {
    super(config);
    this.#bounds = config.buckets;
    this.#counts = new Float64Array(config.buckets.length + 1);
    this.#base = super.get();
    // The registry's text exposition reads getForPromString (not in the typings) when present, else get.
    Object.defineProperty(this, 'getForPromString', { value: () => this.get() });
  }

  record(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += value;
    this.#count++;
  }

  override async get(): ReturnType<Histogram['get']> {
    const base = await this.#base;
    const bucket = `${base.name}_bucket`;
    const values: HistogramValues = [];
    let acc = 0;
    this.#bounds.forEach((le, i) => {
      acc += this.#counts[i];
      values.push({ labels: { le }, value: acc, metricName: bucket });
    });
    values.push(
      { labels: { le: '+Inf' }, value: this.#count, metricName: bucket },
      { labels: {}, value: this.#sum, metricName: `${base.name}_sum` },
      { labels: {}, value: this.#count, metricName: `${base.name}_count` },
    );
    return { ...base, values };
  }
}

export interface SinkMetricsOptions {
  /** Also export the process metrics (memory, CPU, event loop lag); default true. */
  processMetrics?: boolean;
  /** The memory budget whose accounts are exported (read at scrape time). */
  budget?: MemoryBudget;
}

/**
 * Counters are updated by the SMTP layer as things happen; store sizes are read
 * from `stats()` at scrape time so they are never stale and cost nothing on the
 * ingest path.
 */
export class SinkMetrics {
  readonly registry: Registry;
  readonly #rejected: Counter<'stage'>;
  readonly #deferred: Counter<'stage'>;
  readonly #bounced: Counter;
  readonly #ingest: CountingHistogram;
  readonly #feedClients: Gauge;
  readonly #feedDropped: Counter<'reason'>;
  readonly #authFailed: Counter;
  /**
   * What the per-message and per-connection counters gained since the last
   * scrape, handed to prom-client in its `collect` (one `inc` per scrape instead
   * of one per event: each costs ~1 µs of label handling on the SMTP thread).
   */
  readonly #pending = { received: 0, bytes: 0, connectionsTotal: 0, connections: 0 };

  constructor(stats: () => SinkStats, options: SinkMetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    const p = METRIC_PREFIX;
    const pending = this.#pending;
    new Counter({
      name: `${p}messages_received_total`,
      help: 'Messages accepted and stored.',
      registers,
      collect() {
        this.inc(pending.received);
        pending.received = 0;
      },
    });
    this.#rejected = new Counter({
      name: `${p}messages_rejected_total`,
      help: 'SMTP commands rejected with a 5xx (simulated hard bounces and size limits), by stage.',
      labelNames: ['stage'],
      registers,
    });
    this.#deferred = new Counter({
      name: `${p}messages_deferred_total`,
      help: 'SMTP commands deferred with a 4xx (simulated soft bounces, greylisting), by stage.',
      labelNames: ['stage'],
      registers,
    });
    this.#bounced = new Counter({
      name: `${p}messages_bounced_total`,
      help: 'Messages accepted and then bounced asynchronously with a DSN.',
      registers,
    });
    new Counter({
      name: `${p}received_bytes_total`,
      help: 'Bytes of message data accepted.',
      registers,
      collect() {
        this.inc(pending.bytes);
        pending.bytes = 0;
      },
    });
    new Gauge({
      name: `${p}smtp_connections`,
      help: 'Open SMTP connections.',
      registers,
      collect() {
        this.set(pending.connections);
      },
    });
    new Counter({
      name: `${p}smtp_connections_total`,
      help: 'SMTP connections accepted since start.',
      registers,
      collect() {
        this.inc(pending.connectionsTotal);
        pending.connectionsTotal = 0;
      },
    });
    this.#ingest = new CountingHistogram({
      name: `${p}ingest_duration_seconds`,
      help: 'Time from the end of DATA to the message being stored and its event published.',
      buckets: [...INGEST_LATENCY_BUCKETS],
      registers,
    });
    this.#feedClients = new Gauge({
      name: `${p}feed_clients`,
      help: 'Connected WebSocket event feed clients.',
      registers,
    });
    this.#authFailed = new Counter({
      name: `${p}smtp_auth_failures_total`,
      help: 'SMTP AUTH attempts with wrong credentials.',
      registers,
    });
    this.#feedDropped = new Counter({
      name: `${p}feed_clients_dropped_total`,
      help: 'Feed clients disconnected by the sink, by reason (slow, dead).',
      labelNames: ['reason'],
      registers,
    });

    const gauge = (name: string, help: string, read: (s: SinkStats) => number) =>
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.set(read(stats()));
        },
      });
    gauge('store_messages', 'Messages currently stored.', (s) => s.messages);
    gauge('store_bytes', 'Bytes of raw message data currently stored.', (s) => s.bytes);
    gauge(
      'store_max_messages',
      'Configured cap on stored messages (--max-messages).',
      (s) => s.maxMessages,
    );
    gauge('store_max_bytes', 'Configured cap on stored bytes (--max-bytes).', (s) => s.maxBytes);
    gauge(
      'store_evicted',
      'Messages evicted to stay within the caps since start.',
      (s) => s.evicted,
    );
    gauge('events_last_seq', 'Sequence number of the last event published.', (s) => s.lastSeq);

    const budget = options.budget;
    if (budget) {
      new Gauge({
        name: `${p}memory_budget_used_bytes`,
        help: 'Bytes in use per account of the memory budget (store, inflight, parse, detail).',
        labelNames: ['account'],
        registers,
        collect() {
          for (const a of budget.snapshot()) this.set({ account: a.account }, a.used);
        },
      });
      new Gauge({
        name: `${p}memory_budget_cap_bytes`,
        help: 'Cap of each account of the memory budget.',
        labelNames: ['account'],
        registers,
        collect() {
          for (const a of budget.snapshot()) this.set({ account: a.account }, a.cap);
        },
      });
      new Gauge({
        name: `${p}memory_budget_refused_total`,
        help: 'Requests refused or degraded because an account of the memory budget was full.',
        labelNames: ['account'],
        registers,
        collect() {
          for (const a of budget.snapshot()) this.set({ account: a.account }, a.refused);
        },
      });
    }
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  }

  messageReceived(bytes: number, ingestSeconds: number): void {
    this.#pending.received++;
    this.#pending.bytes += bytes;
    this.#ingest.record(ingestSeconds);
  }

  messageRejected(stage: string): void {
    this.#rejected.inc({ stage });
  }

  messageDeferred(stage: string): void {
    this.#deferred.inc({ stage });
  }

  authFailed(): void {
    this.#authFailed.inc();
  }

  messageBounced(): void {
    this.#bounced.inc();
  }

  connectionOpened(): void {
    this.#pending.connections++;
    this.#pending.connectionsTotal++;
  }

  connectionClosed(): void {
    this.#pending.connections--;
  }

  feedClientOpened(): void {
    this.#feedClients.inc();
  }

  feedClientClosed(): void {
    this.#feedClients.dec();
  }

  /** A feed client the sink disconnected: `slow` (buffer bound) or `dead` (no pong). */
  feedClientDropped(reason: 'slow' | 'dead'): void {
    this.#feedDropped.inc({ reason });
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
