import { evError, isEmailValidateError } from '../../src/errors.ts';
import type { HelloFrame, SinkEvent } from '../../src/protocol.ts';
import { pickKubeFlags } from './kube-flags.ts';
import { openClusterSink, type ClusterSink } from './kube/cluster-sink.ts';
import { applySinkEnv, type SinkFlagsValues } from './sink-flags.ts';
import { SinkClient, type FeedStatus } from './sink-client.ts';
import { readTokenFile } from './token-file.ts';

/** What the CLI's sink commands use of a sink's API: the part of {@link SinkClient} they call (tests pass fakes of it). */
export type SinkApi = Pick<
  SinkClient,
  'info' | 'list' | 'get' | 'raw' | 'clear' | 'rules' | 'setRules' | 'stats' | 'events' | 'close'
>;

/** One sink reachable from here: its API and, when known, the local SMTP endpoint. */
export interface SinkEndpoint {
  /** Pod name in a cluster; the URL's host:port for `--sink`. */
  name: string;
  api: SinkApi;
  apiUrl: string;
  /** Where to send SMTP to reach this sink: the forwarded port, or null when unknown (derive it from /api/info). */
  smtp: { host: string; port: number } | null;
  /** The API token used for this sink (the cluster sink's Secret, or --token); `open` hands it to the browser. */
  token?: string | null;
}

export interface SinkTarget {
  kind: 'direct' | 'cluster';
  sinks: SinkEndpoint[];
  namespace: string | null;
  /** Closes tunnels. Idempotent. */
  close(): Promise<void>;
}

/** The SMTP port a sink listens on by default (`kubectl email-validate sink --smtp-port`). */
export const DEFAULT_SINK_SMTP_PORT = 1025;

export interface ResolveDeps {
  openClusterSink?: typeof openClusterSink;
  createApi?: (url: string, token: string | undefined) => SinkApi;
  readTokenFile?: (path: string) => Promise<string>;
}

export interface ResolveOptions {
  signal?: AbortSignal;
  /** Where $EV_SINK / $EV_TOKEN come from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  onStatus?: (line: string) => void;
  deps?: ResolveDeps;
}

/** Parses `--sink`: an http(s) URL, or a bare `host:port` taken as http. */
export function parseSinkUrl(text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw evError('EV_ERR_INVALID_OPTION', `--sink "${text}" is not a URL`, {
      hint: 'e.g. --sink http://127.0.0.1:8025',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `--sink must be an http:// or https:// URL, got ${url.protocol}`,
      { hint: 'e.g. --sink http://127.0.0.1:8025' },
    );
  }
  if (url.search || url.hash)
    throw evError('EV_ERR_INVALID_OPTION', '--sink must not have a query or fragment', {
      hint: 'e.g. --sink http://127.0.0.1:8025',
    });
  return url;
}

/** Parses `--smtp HOST:PORT` (IPv6 as `[::1]:1025`). */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw evError('EV_ERR_INVALID_OPTION', `${flag} "${text}" is not HOST:PORT`, {
      hint: `e.g. ${flag} 127.0.0.1:1025`,
    });
  }
  return { host: m[1] ?? m[2], port };
}

const KUBE_ONLY = ['kubeconfig', 'context', 'cluster', 'user', 'namespace'] as const;

/** What {@link withSinkTarget} needs of the interrupt handler: Ctrl-C aborts the resolution and closes the tunnels. */
export interface TargetInterrupt {
  readonly signal: AbortSignal;
  register(label: string, run: () => Promise<void>): () => void;
}

/**
 * Every sink command's frame: resolves the sink (reporting progress to
 * `onStatus`), runs `use`, and always closes what was opened. With an
 * `interrupt`, Ctrl-C aborts the resolution and closes the tunnels.
 */
export async function withSinkTarget<T>(
  flags: SinkFlagsValues,
  options: { onStatus: (line: string) => void; interrupt?: TargetInterrupt; deps?: ResolveDeps },
  use: (target: SinkTarget) => Promise<T>,
): Promise<T> {
  const { interrupt } = options;
  const target = await resolveSinkTarget(flags, {
    onStatus: options.onStatus,
    deps: options.deps,
    ...(interrupt ? { signal: interrupt.signal } : {}),
  });
  // Only tunnels need closing on Ctrl-C; a direct --sink has nothing to clean up.
  const unregister =
    interrupt && target.kind === 'cluster'
      ? interrupt.register('tunnels to the sink', () => target.close())
      : () => {};
  try {
    return await use(target);
  } finally {
    unregister();
    await target.close();
  }
}

/**
 * Finds the sink a command talks to: `--sink URL` directly, otherwise the
 * managed sink in the cluster through one tunnel per pod. The caller must
 * `close()` the result.
 */
export async function resolveSinkTarget(
  typed: SinkFlagsValues,
  options: ResolveOptions = {},
): Promise<SinkTarget> {
  const flags = applySinkEnv(typed, options.env);
  const deps = options.deps ?? {};
  const createApi =
    deps.createApi ?? ((url, token) => new SinkClient({ url, token: token ?? null }));
  if (flags.sink !== undefined) {
    const conflicting = KUBE_ONLY.filter((k) => flags[k] !== undefined);
    if (conflicting.length > 0) {
      throw evError(
        'EV_ERR_CONFLICTING_OPTIONS',
        `--sink cannot be combined with --${conflicting[0]}`,
        {
          hint: 'use --sink for a sink you reach directly, or the kube flags for the sink in a cluster',
        },
      );
    }
    const url = parseSinkUrl(flags.sink);
    const token =
      flags['token-file'] !== undefined
        ? await readTokenFile(flags['token-file'], deps.readTokenFile)
        : flags.token;
    const base = url.href.replace(/\/+$/, '');
    const api = createApi(base, token);
    let closing: Promise<void> | undefined;
    return {
      kind: 'direct',
      namespace: null,
      sinks: [{ name: url.host, api, apiUrl: base, smtp: null, token: token ?? null }],
      close: () => (closing ??= Promise.resolve(api.close?.())),
    };
  }
  // --token may come from EV_TOKEN and is then simply unused; --token-file is always explicit.
  if (flags['token-file'] !== undefined) {
    throw evError('EV_ERR_CONFLICTING_OPTIONS', '--token-file needs --sink', {
      hint: "a cluster sink's token is read from its Secret; pass --sink URL to use a sink directly",
    });
  }
  const open = deps.openClusterSink ?? openClusterSink;
  let cluster: ClusterSink;
  try {
    cluster = await open(pickKubeFlags(flags), {
      ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
      ...(options.onStatus ? { onStatus: options.onStatus } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (isEmailValidateError(err)) throw err;
    if (err instanceof Error && /not implemented/.test(err.message)) {
      throw evError('EV_ERR_KUBE_API', 'cluster access not available in this build', {
        hint: 'use --sink URL to talk to a sink directly (e.g. one started with `kubectl email-validate sink`)',
      });
    }
    throw err;
  }
  let closed = false;
  const sinks = cluster.sinks.map((s) => ({
    name: s.pod,
    api: createApi(s.apiUrl, cluster.token),
    apiUrl: s.apiUrl,
    smtp: s.smtp,
    token: cluster.token,
  }));
  return {
    kind: 'cluster',
    namespace: cluster.namespace,
    sinks,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.allSettled(sinks.map((s) => s.api.close?.()));
      await cluster.close();
    },
  };
}

/**
 * Where `send` delivers: `--smtp` if given; the forwarded SMTP port of a
 * cluster sink; else the `--sink` URL's host with the SMTP port the sink reports in
 * `/api/info` (`smtp.port`), or the sink's default port.
 */
export async function smtpEndpoint(
  target: SinkTarget,
  explicit: string | undefined,
): Promise<{ host: string; port: number; source: string }> {
  if (explicit !== undefined) return { ...parseHostPort(explicit, '--smtp'), source: '--smtp' };
  const first = target.sinks[0];
  if (first.smtp) return { ...first.smtp, source: `tunnel to ${first.name}` };
  const host = new URL(first.apiUrl).hostname.replace(/^\[|\]$/g, '');
  const info = await first.api.info();
  const port = typeof info.smtp?.port === 'number' ? info.smtp.port : DEFAULT_SINK_SMTP_PORT;
  // The URL's host is how this machine reaches the sink; the sink's own bind address may not be.
  return { host, port, source: typeof info.smtp?.port === 'number' ? '/api/info' : 'default port' };
}

/**
 * Adapts a sink endpoint to tail's feed interface. The feed itself retries
 * for minutes when the sink goes away (tunnels drop and come back), so a sink
 * that is not there at all is detected first, with one API call that fails
 * fast with EV_ERR_SINK_UNREACHABLE / EV_ERR_UNAUTHORIZED.
 */
export function feedOf(endpoint: SinkEndpoint): TailFeed {
  return {
    name: endpoint.name,
    events: async ({ since, signal, onHello, onEvent, onNotice }) => {
      const info = await endpoint.api.info();
      // "Everything retained" starts just before the oldest retained event; asking
      // for seq 0 instead would report the evicted history as a gap.
      const from =
        since ?? Math.max(0, (typeof info.oldestSeq === 'number' ? info.oldestSeq : 1) - 1);
      const watch = new ConnectionWatch(endpoint.name, from, onNotice);
      await endpoint.api.events({
        since: from,
        signal,
        onHello: (hello) => {
          watch.hello(hello);
          onHello(hello);
        },
        onEvent: (event) => {
          watch.event(event);
          onEvent(event);
        },
        onStatus: (status) => watch.status(status),
      });
    },
  };
}

/** What `tail` reads from one sink endpoint. */
export interface TailFeed {
  name: string;
  events: (o: {
    since: number | null;
    signal: AbortSignal;
    onHello: (h: HelloFrame) => void;
    onEvent: (e: SinkEvent) => void;
    onNotice?: (line: string) => void;
  }) => Promise<void>;
}

/**
 * Says when a followed sink becomes unreachable and when it is back (with how
 * many events were missed meanwhile), once per outage, not per retry.
 */
export class ConnectionWatch {
  #connected = false;
  #downSince: number | null = null;
  #lastSeq: number;
  #instance: string | null = null;
  readonly #name: string;
  readonly #notice: ((line: string) => void) | undefined;
  readonly #now: () => number;

  constructor(
    name: string,
    since: number,
    notice: ((line: string) => void) | undefined,
    now: () => number = Date.now,
  ) {
    this.#name = name;
    this.#lastSeq = since;
    this.#notice = notice;
    this.#now = now;
  }

  status(status: FeedStatus): void {
    if (status.state !== 'disconnected' || !this.#connected) return;
    this.#connected = false;
    this.#downSince = this.#now();
    this.#notice?.(
      `sink ${this.#name} is unreachable (${status.reason || 'connection lost'}); retrying…`,
    );
  }

  hello(hello: HelloFrame): void {
    const wasDown = this.#downSince;
    this.#connected = true;
    this.#downSince = null;
    const previous = this.#instance;
    this.#instance = hello.instance;
    if (wasDown === null) return;
    const after = `${Math.max(1, Math.round((this.#now() - wasDown) / 1000))}s`;
    if (previous !== null && previous !== hello.instance) {
      this.#notice?.(
        `sink ${this.#name} is back after ${after}, restarted: its events from before the restart are gone`,
      );
      return;
    }
    const missed = Math.max(0, hello.oldestSeq - (this.#lastSeq + 1));
    this.#notice?.(
      `sink ${this.#name} is back after ${after}; ${missed === 0 ? 'no events missed' : `${missed.toLocaleString('en-US')} event${missed === 1 ? '' : 's'} missed`}`,
    );
  }

  event(event: SinkEvent): void {
    if (event.type !== 'gap' && event.seq > this.#lastSeq) this.#lastSeq = event.seq;
  }
}
