/**
 * Composition of the sink: SMTP front -> rules -> store -> event log, the
 * analysis queue, bounces (DSNs) and webhooks after acceptance, the HTTP API
 * and WebSocket feed, metrics; plus start (listen) and graceful stop.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { evError } from '../src/errors.ts';
import { plusTag } from '../src/protocol.ts';
import type { MessageSummary, SinkStats } from '../src/protocol.ts';
import { AnalysisQueue } from './analysis-queue.ts';
import type { SinkConfig } from './config.ts';
import { buildDsn } from './dsn.ts';
import { EventLog } from './event-log.ts';
import { createApiServer } from './http/api-server.ts';
import type { ApiServer } from './http/api-server.ts';
import type { RouteInfo } from './http/router.ts';
import { createJsonLogger } from './logger.ts';
import { parseHeaderBlock } from './message-headers.ts';
import { SinkMetrics } from './metrics.ts';
import { MemoryBudget } from './memory-budget.ts';
import { listenDualStack } from './listen.ts';
import { InlineParser, WorkerParser } from './parse-worker.ts';
import type { ParseBackend } from './parse-worker.ts';
import { RulesEngine } from './rules.ts';
import type { AcceptedPlan } from './rules.ts';
import { createSmtpFront } from './smtp-front.ts';
import type { SinkSmtpServer } from './smtp-server.ts';
import { MemoryMessageStore } from './store.ts';
import type { Logger, SinkContext } from './types.ts';
import { postWebhook } from './webhook-sender.ts';
import { boundPort, errorCode, errorMessage } from '../src/guards.ts';

/** Webhook deliveries in flight at once; more are recorded as dropped rather than queued without bound. */
export const MAX_WEBHOOKS_IN_FLIGHT = 64;
/** On stop, how long DATA in flight may take to finish before sessions are cut. */
export const SMTP_DRAIN_TIMEOUT_MS = 10_000;

export interface Sink {
  readonly config: SinkConfig;
  readonly context: SinkContext;
  readonly logger: Logger;
  readonly metrics: SinkMetrics;
  /** Listens on both ports; resolves with the ports chosen. */
  start(): Promise<{ smtpPort: number; httpPort: number }>;
  /** Stops accepting, lets DATA in flight finish, closes WebSockets with a close frame. Idempotent. */
  stop(): Promise<void>;
  /** Analyses every stored message not analysed yet (deferred ones included) and resolves once all are done (tests). */
  analysisIdle(): Promise<void>;
  /** Every HTTP route with whether it needs the token (the API fuzzer walks them). */
  routes(): RouteInfo[];
}

export function createSink(config: SinkConfig): Sink {
  const logger = config.logger ?? createJsonLogger({ level: config.logLevel });
  const instance = randomUUID();
  const startedAt = performance.now();
  const events = new EventLog({ window: config.eventWindow });
  const budget = new MemoryBudget({ store: config.maxBytes });
  const parser: ParseBackend = config.parseInWorker
    ? new WorkerParser({ budget })
    : new InlineParser(config.analyze ?? undefined);
  const store = new MemoryMessageStore({
    maxMessages: config.maxMessages,
    maxBytes: config.maxBytes,
    events,
    parser,
    budget,
  });
  // In the background only while a feed client takes the analyses; otherwise on demand (analysis-queue.ts).
  const analysis = new AnalysisQueue({
    store,
    parser,
    events,
    logger,
    wanted: () => api.feed.followsAnalyses,
  });
  store.analysisOnDemand = (id) => analysis.demand(id);
  const rules = new RulesEngine({
    source: config.rulesSource,
    fileName: config.rulesFile ?? 'rules',
    random: config.random,
    onReplace: (count) => {
      events.append('rules.updated', { count });
      logger.info('rules replaced', { count });
    },
  });
  const counters = { received: 0, rejected: 0, deferred: 0, bounced: 0 };
  let ready = false;
  let webhooksInFlight = 0;
  let smtp: SinkSmtpServer | null = null;

  const stats = (): SinkStats => ({
    instance,
    messages: store.count,
    bytes: store.bytes,
    maxMessages: store.maxMessages,
    maxBytes: store.maxBytes,
    ...counters,
    evicted: store.evicted,
    connections: smtp?.connections.size ?? 0,
    lastSeq: events.lastSeq,
    uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
  });
  const metrics = new SinkMetrics(stats, { budget });
  const context: SinkContext = { instance, store, events, rules, stats, ready: () => ready };

  const bounce = (
    original: MessageSummary,
    raw: Buffer,
    plan: AcceptedPlan['bounces'][number],
  ): void => {
    const sender = original.envelope.mailFrom?.address ?? null;
    if (sender === null) {
      logger.info('no DSN for a message with the null sender', {
        id: original.id,
        recipient: plan.recipient,
      });
      return;
    }
    const dsn = buildDsn({
      reportingMta: config.name,
      original,
      originalRaw: raw,
      recipient: plan.recipient,
      status: plan.status,
      diagnostic: plan.diagnostic,
      now: new Date(),
    });
    const stored = store.add({
      envelope: {
        helo: config.name,
        mailFrom: null,
        rcptTo: [{ address: sender, tag: plusTag(sender) }],
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
      raw: dsn,
      headers: parseHeaderBlock(dsn),
    });
    analysis.enqueue(stored.id);
    counters.bounced++;
    metrics.messageBounced();
    events.append('message.bounced', {
      messageId: original.id,
      dsnId: stored.id,
      recipient: plan.recipient,
      sender,
      status: plan.status,
      diagnostic: plan.diagnostic,
      rule: plan.rule,
    });
  };

  const webhook = (
    summary: MessageSummary,
    plan: AcceptedPlan['webhooks'][number],
    diagnostic: string | undefined,
  ): void => {
    const record = (status: number | null, error: string | null) =>
      events.append('webhook.sent', {
        url: plan.url,
        format: plan.format,
        status,
        error,
        messageId: summary.id,
      });
    if (webhooksInFlight >= MAX_WEBHOOKS_IN_FLIGHT) {
      record(null, `dropped: ${MAX_WEBHOOKS_IN_FLIGHT} webhooks already in flight`);
      return;
    }
    webhooksInFlight++;
    postWebhook({
      url: plan.url,
      format: plan.format,
      event: plan.event,
      message: summary,
      recipient: plan.recipient,
      ...(diagnostic ? { diagnostic } : {}),
    })
      .then(
        (r) => record(r.status, r.error),
        (err: unknown) => record(null, err instanceof Error ? err.message : String(err)),
      )
      .finally(() => {
        webhooksInFlight--;
      });
  };

  const afterAccept = (summary: MessageSummary, raw: Buffer, plan: AcceptedPlan): void => {
    for (const b of plan.bounces) {
      try {
        bounce(summary, raw, b);
      } catch (err) {
        logger.error('DSN generation failed', { id: summary.id, error: errorMessage(err) });
      }
    }
    for (const w of plan.webhooks)
      webhook(summary, w, plan.bounces.find((b) => b.recipient === w.recipient)?.diagnostic);
  };

  smtp = createSmtpFront({
    config,
    rules,
    logger,
    ...(config.sleep ? { sleep: config.sleep } : {}),
    budget,
    hooks: {
      ingest({ envelope, raw, headers, dataEndedAt }) {
        const summary = store.add({ envelope, raw, headers });
        counters.received++;
        metrics.messageReceived(raw.length, (performance.now() - dataEndedAt) / 1000);
        analysis.enqueue(summary.id);
        const header = (name: string) => headers.filter((h) => h.name === name).map((h) => h.value);
        const plan = rules.afterAccept({
          sender: envelope.mailFrom?.address ?? null,
          recipients: envelope.rcptTo.map((r) => r.address),
          header,
        });
        if (plan.bounces.length > 0 || plan.webhooks.length > 0)
          setImmediate(() => afterAccept(summary, raw, plan));
        return summary;
      },
      refused(kind, data) {
        if (kind === 'rejected') {
          counters.rejected++;
          metrics.messageRejected(data.stage);
          events.append('message.rejected', data);
        } else {
          counters.deferred++;
          metrics.messageDeferred(data.stage);
          events.append('message.deferred', data);
        }
      },
      authFailed(data) {
        metrics.authFailed();
        events.append('auth.failed', data);
        logger.warn('smtp auth failed', { ...data });
      },
      connectionOpened: () => metrics.connectionOpened(),
      connectionClosed: () => metrics.connectionClosed(),
    },
  });

  // /api/info reports the bound SMTP port so that `send --sink URL` knows where to deliver.
  let boundSmtpPort: number | null = null;
  const api: ApiServer = createApiServer(context, {
    token: config.token,
    metrics,
    logger,
    info: () => ({ smtp: { port: boundSmtpPort }, sinkName: config.name }),
    corsOrigin: config.corsOrigin,
    releaseTo: config.releaseTo,
    linkCheckPrivate: config.linkCheckPrivate,
    localSmtp: () => ({ host: config.host, port: boundSmtpPort }),
    onFeedClientOpened: () => {
      if (api.feed.followsAnalyses) analysis.resume();
    },
  });
  let stopping: Promise<void> | null = null;

  const listen = async (
    server: Server | SinkSmtpServer['server'],
    port: number,
    what: string,
  ): Promise<number> => {
    try {
      await listenDualStack(server, port, config.host);
    } catch (err) {
      const code = errorCode(err);
      throw evError(
        'EV_ERR_SINK_LISTEN',
        `cannot listen for ${what} on ${config.host}:${port} (${code ?? errorMessage(err)})`,
        {
          hint:
            code === 'EADDRINUSE'
              ? 'Another process uses that port: choose another, or 0 for a free one.'
              : 'Check --host and the port.',
          details: { host: config.host, port, code },
          cause: err,
        },
      );
    }
    return boundPort(server.address());
  };

  const closeSmtp = async (): Promise<void> => {
    const server = smtp;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Sessions between commands get 421 now; smtp-server answers 421 to the next
    // command of the others, after the DATA they are in has been answered.
    for (const c of server.idleConnections()) c.send(421, `${config.name} Service shutting down`);
    const deadline = new Promise<void>((resolve) =>
      setTimeout(resolve, SMTP_DRAIN_TIMEOUT_MS).unref(),
    );
    await Promise.race([closed, deadline]);
    for (const c of server.connections) c.close();
  };

  return {
    config,
    context,
    logger,
    metrics,
    async start() {
      const smtpPort = await listen(smtp.server, config.smtpPort, 'SMTP');
      boundSmtpPort = smtpPort;
      let httpPort: number;
      try {
        httpPort = await listen(api.server, config.httpPort, 'the HTTP API');
      } catch (err) {
        smtp.server.close();
        throw err;
      }
      ready = true;
      logger.info('sink started', {
        host: config.host,
        smtpPort,
        httpPort,
        instance,
        tls: config.tls !== null,
        auth: config.token !== null,
      });
      return { smtpPort, httpPort };
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        logger.info('sink stopping');
        if (smtp.server.listening) await closeSmtp();
        await api.shutdown();
        await parser.close();
        logger.info('sink stopped');
      })();
      return stopping;
    },
    analysisIdle: () => analysis.analyzeAll(),
    routes: () => api.routes(),
  };
}
