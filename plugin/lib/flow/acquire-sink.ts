/**
 * The three ways `run` gets a sink: embedded in this process (`--local`), an
 * existing one by URL (`--sink`), or one in the cluster (created for the run
 * and destroyed after it, or an existing one with `-n`).
 */
import { evError } from '../../../src/errors.ts';
import { PROTOCOL_VERSION } from '../../../src/protocol.ts';
import type { SinkContext } from '../../../sink/index.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import type { SinkClient } from '../sink-client.ts';
import type { AcquiredSink, FlowSinkApi } from './run-flows.ts';

/** The SMTP port a sink listens on when its /api/info does not say. */
const DEFAULT_SMTP_PORT = 1025;
/**
 * A flow's event feed gives up (EV_ERR_SINK_UNREACHABLE, exit 3) after the sink has been
 * unreachable this long: a replaced pod or a dropped tunnel is back well within it, while
 * the feed's own 5-minute default would let a dead sink pass for failed expectations.
 */
export const FLOW_FEED_GIVE_UP_MS = 20_000;

function clientApi(client: SinkClient): FlowSinkApi {
  return {
    info: async () => {
      const info = await client.info();
      return { lastSeq: info.lastSeq, smtp: info.smtp ?? null };
    },
    get: (id) => client.get(id),
    rules: () => client.rules(),
    setRules: (yaml) => client.setRules(yaml),
    events: (o) =>
      client.events({
        ...(o.since === undefined ? {} : { since: o.since }),
        ...(o.signal ? { signal: o.signal } : {}),
        onEvent: o.onEvent,
        ...(o.onHello ? { onHello: o.onHello } : {}),
        reconnect: { giveUpAfterMs: FLOW_FEED_GIVE_UP_MS },
      }),
    close: () => client.close(),
  };
}

/**
 * The API of a sink in this process, read straight from its context: the
 * same event log (seq, replay, live subscription) the WebSocket feed serves,
 * without a socket in between.
 */
export function contextApi(context: SinkContext): FlowSinkApi {
  return {
    info: async () => ({ lastSeq: context.events.lastSeq }),
    get: async (id) => {
      const detail = await context.store.detail(id);
      if (!detail)
        throw evError(
          'EV_ERR_NOT_FOUND',
          `message ${id} is no longer in the sink (evicted or deleted)`,
        );
      return detail;
    },
    rules: async () => context.rules.source(),
    setRules: async (yaml) => {
      context.rules.replace(yaml);
      return { count: context.rules.count() };
    },
    events: (o) =>
      new Promise<void>((resolve) => {
        if (o.signal?.aborted) return resolve();
        // Replay and subscribe in the same tick: the log only grows on later ticks, so nothing falls between.
        const replay = context.events.replaySince(o.since ?? context.events.lastSeq);
        o.onHello?.({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          instance: context.instance,
          oldestSeq: context.events.oldestSeq,
          lastSeq: context.events.lastSeq,
        });
        if (replay.gap) o.onEvent(replay.gap);
        for (const e of replay.events) o.onEvent(e);
        const unsubscribe = context.events.subscribe((e) => o.onEvent(e));
        o.signal?.addEventListener(
          'abort',
          () => {
            unsubscribe();
            resolve();
          },
          { once: true },
        );
      }),
  };
}

/** `--local`: an in-process sink on loopback, free ports, stopped at the end. */
export async function acquireLocalSink(): Promise<AcquiredSink & { token: string | null }> {
  // Imported lazily: only --local needs the sink's code (smtp-server, mailparser) in this process.
  const { startSink } = await import('../../../sink/index.ts');
  // Inline parsing: a flow handles a handful of messages, and a worker thread's start-up would cost more than it saves.
  const sink = await startSink({
    host: '127.0.0.1',
    smtpPort: 0,
    httpPort: 0,
    parseInWorker: false,
  });
  return {
    mode: 'local',
    url: sink.url,
    smtp: { host: sink.host, port: sink.smtpPort },
    api: contextApi(sink.context),
    restoreRules: false,
    token: sink.token,
    release: () => sink.stop(),
  };
}

/** `--sink URL`: a sink that already runs; only its rules are changed, and put back after. */
export async function acquireExternalSink(
  url: string,
  token: string | undefined,
  smtp?: { host: string; port: number },
): Promise<AcquiredSink> {
  const { parseSinkUrl } = await import('../sink-target.ts');
  const { SinkClient } = await import('../sink-client.ts');
  const base = parseSinkUrl(url).href.replace(/\/+$/, '');
  const client = new SinkClient({ url: base, token: token ?? null });
  const api = clientApi(client);
  let port = smtp?.port;
  if (port === undefined) {
    const info = await api.info();
    port = typeof info.smtp?.port === 'number' ? info.smtp.port : DEFAULT_SMTP_PORT;
  }
  return {
    mode: 'external',
    url: base,
    smtp: smtp ?? { host: new URL(base).hostname.replace(/^\[|\]$/g, ''), port },
    api,
    restoreRules: true,
    release: () => client.close(),
  };
}

export interface ClusterSinkOptions {
  kube: KubeFlagsValues;
  /** Reuse the sink in this namespace instead of creating one. */
  namespace?: string;
  keep: boolean;
  /** Some flow has a `job` step: its rights are pre-checked with the sink's, before anything is created. */
  jobSteps?: boolean;
  onStatus?: (line: string) => void;
}

/**
 * In the cluster: create a sink for this run (destroyed at the end unless
 * `--keep`), or reuse the one in `-n NAMESPACE`; reach it through tunnels.
 */
export async function acquireClusterSink(
  options: ClusterSinkOptions,
  signal: AbortSignal,
): Promise<AcquiredSink> {
  const { createSink, openClusterSink } = await import('../kube/cluster-sink.ts');
  const status = options.onStatus ?? (() => undefined);
  let destroy: (() => Promise<void>) | null = null;
  let namespace = options.namespace;
  try {
    if (namespace === undefined) {
      const created = await createSink(options.kube, {
        onStatus: status,
        signal,
        alsoNeeds: ['sink', ...(options.jobSteps ? ['job' as const] : [])],
      });
      namespace = created.namespace;
      destroy = options.keep ? null : () => created.destroy();
      if (options.keep)
        status(
          `--keep: the sink in namespace ${namespace} stays; remove it with \`kubectl email-validate down ${namespace}\``,
        );
    }
    const cluster = await openClusterSink(options.kube, {
      namespace,
      onStatus: status,
      signal,
      ...(options.jobSteps ? { alsoNeeds: ['job'] } : {}),
    });
    const first = cluster.sinks[0];
    if (!first)
      throw evError('EV_ERR_SINK_NOT_READY', `no sink pod is reachable in namespace ${namespace}`, {
        hint: 'check `kubectl email-validate status`',
      });
    if (cluster.sinks.length > 1) {
      // Each replica keeps its own mail: a flow follows one pod, so mail the Service hands to
      // another pod (from the application or a job step) would never be seen.
      status(
        `warning: the sink in ${namespace} has ${cluster.sinks.length} pods; this run follows ${first.pod} only, so mail delivered to the others is not seen. Use a one-replica sink for flows (\`up\` without --replicas).`,
      );
    }
    const { SinkClient } = await import('../sink-client.ts');
    const client = new SinkClient({ url: first.apiUrl, token: cluster.token });
    const { clusterRouter, clusterJobRunner } = await import('./cluster-steps.ts');
    const router = clusterRouter(options.kube);
    return {
      mode: 'cluster',
      namespace,
      url: first.apiUrl,
      smtp: first.smtp,
      api: clientApi(client),
      restoreRules: destroy === null,
      route: router.route,
      runJob: clusterJobRunner(options.kube, namespace),
      release: async () => {
        await router.close();
        await client.close().catch(() => undefined);
        await cluster.close().catch(() => undefined);
        if (destroy) {
          status(`deleting the sink in namespace ${namespace}`);
          await destroy();
        }
      },
    };
  } catch (err) {
    if (destroy) await destroy().catch(() => undefined);
    throw err;
  }
}
