import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { SinkMetrics, INGEST_LATENCY_BUCKETS } from '../../../sink/metrics.ts';
import { MemoryBudget } from '../../../sink/memory-budget.ts';
import { sinkStats } from '../../support/sink-stats.ts';

const stats = sinkStats;

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `series ${series} missing`);
  return Number(line.slice(series.length + 1));
}

describe('SinkMetrics', () => {
  it('counts received, rejected, deferred, bounced and bytes', async () => {
    const m = new SinkMetrics(() => stats(), { processMetrics: false });
    m.messageReceived(100, 0.0002);
    m.messageReceived(50, 0.02);
    m.messageRejected('rcpt');
    m.messageRejected('rcpt');
    m.messageRejected('data');
    m.messageDeferred('rcpt');
    m.messageBounced();
    const text = await m.registry.metrics();
    assert.equal(value(text, 'email_sink_messages_received_total'), 2);
    assert.equal(value(text, 'email_sink_received_bytes_total'), 150);
    assert.equal(value(text, 'email_sink_messages_rejected_total{stage="rcpt"}'), 2);
    assert.equal(value(text, 'email_sink_messages_rejected_total{stage="data"}'), 1);
    assert.equal(value(text, 'email_sink_messages_deferred_total{stage="rcpt"}'), 1);
    assert.equal(value(text, 'email_sink_messages_bounced_total'), 1);
  });

  it('histogram buckets span sub-millisecond to seconds', async () => {
    assert.ok(INGEST_LATENCY_BUCKETS[0] < 0.001 && INGEST_LATENCY_BUCKETS.at(-1)! >= 5);
    const m = new SinkMetrics(() => stats(), { processMetrics: false });
    m.messageReceived(1, 0.0002);
    m.messageReceived(1, 3);
    const text = await m.registry.metrics();
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_bucket{le="0.00025"}'), 1);
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_bucket{le="2.5"}'), 1);
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_bucket{le="5"}'), 2);
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_count'), 2);
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_bucket{le="+Inf"}'), 2);
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_bucket{le="0.0001"}'), 0);
    assert.equal(value(text, 'email_sink_ingest_duration_seconds_sum'), 3.0002);
    m.messageReceived(1, 60); // above every bound: only +Inf, sum and count
    const json = await m.registry.getMetricsAsJSON();
    const ingest = json.find((x) => x.name === 'email_sink_ingest_duration_seconds');
    assert.equal(ingest?.type, 'histogram');
    const of = (metricName: string, le?: number | string) =>
      ingest?.values.find(
        (v) =>
          'metricName' in v &&
          v.metricName === metricName &&
          (le === undefined || v.labels.le === le),
      )?.value;
    assert.equal(of('email_sink_ingest_duration_seconds_bucket', 10), 2);
    assert.equal(of('email_sink_ingest_duration_seconds_bucket', '+Inf'), 3);
    assert.equal(of('email_sink_ingest_duration_seconds_count'), 3);
  });

  it('store gauges are read from stats at scrape time', async () => {
    let messages = 7;
    const m = new SinkMetrics(() => stats({ messages }), { processMetrics: false });
    assert.equal(value(await m.registry.metrics(), 'email_sink_store_messages'), 7);
    messages = 9;
    const text = await m.registry.metrics();
    assert.equal(value(text, 'email_sink_store_messages'), 9);
    assert.equal(value(text, 'email_sink_store_bytes'), 1234);
    assert.equal(value(text, 'email_sink_store_max_messages'), 10_000);
    assert.equal(value(text, 'email_sink_store_evicted'), 3);
    assert.equal(value(text, 'email_sink_events_last_seq'), 42);
  });

  it('tracks open connections', async () => {
    const m = new SinkMetrics(() => stats(), { processMetrics: false });
    m.connectionOpened();
    m.connectionOpened();
    m.connectionClosed();
    const text = await m.registry.metrics();
    assert.equal(value(text, 'email_sink_smtp_connections'), 1);
    assert.equal(value(text, 'email_sink_smtp_connections_total'), 2);
  });

  it('uses its own registry: two instances do not clash and the global registry stays empty', async () => {
    const a = new SinkMetrics(() => stats());
    const b = new SinkMetrics(() => stats());
    a.messageBounced();
    assert.equal(value(await b.registry.metrics(), 'email_sink_messages_bounced_total'), 0);
    assert.match(await a.registry.metrics(), /email_sink_process_resident_memory_bytes/);
    assert.doesNotMatch(await globalRegistry.metrics(), /email_sink_/);
  });

  it('counts feed clients, their drops and AUTH failures', async () => {
    const m = new SinkMetrics(() => stats(), { processMetrics: false });
    m.feedClientOpened();
    m.feedClientOpened();
    m.feedClientClosed();
    m.feedClientDropped('slow');
    m.authFailed();
    m.authFailed();
    const text = await m.metrics();
    assert.equal(value(text, 'email_sink_feed_clients'), 1);
    assert.equal(value(text, 'email_sink_feed_clients_dropped_total{reason="slow"}'), 1);
    assert.equal(value(text, 'email_sink_smtp_auth_failures_total'), 2);
    assert.match(m.contentType, /^text\/plain/);
  });

  it('exports the memory budget per account at scrape time, and no process metrics when asked not to', async () => {
    const budget = new MemoryBudget({ parse: 100 });
    budget.tryAcquire('parse', 60);
    budget.tryAcquire('parse', 60);
    const m = new SinkMetrics(() => stats(), { processMetrics: false, budget });
    const text = await m.metrics();
    assert.equal(value(text, 'email_sink_memory_budget_used_bytes{account="parse"}'), 60);
    assert.equal(value(text, 'email_sink_memory_budget_cap_bytes{account="parse"}'), 100);
    assert.equal(value(text, 'email_sink_memory_budget_refused_total{account="parse"}'), 1);
    assert.match(
      text,
      /# HELP email_sink_memory_budget_used_bytes Bytes in use per account of the memory budget/,
    );
    assert.match(
      text,
      /# HELP email_sink_memory_budget_cap_bytes Cap of each account of the memory budget\./,
    );
    assert.match(
      text,
      /# HELP email_sink_memory_budget_refused_total Requests refused or degraded/,
    );
    assert.doesNotMatch(text, /process_/);
    assert.doesNotMatch(
      await new SinkMetrics(() => stats(), { processMetrics: false }).metrics(),
      /memory_budget/,
    );
  });
});
