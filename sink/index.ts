/**
 * Public entry of the sink for embedding: the CLI (`sink` command, `run
 * --local`) and tests start an in-process sink with {@link startSink}.
 */
import { EMBEDDED_DEFAULTS, resolveSinkConfig } from './config.ts';
import type { SinkConfig, SinkOptions } from './config.ts';
import { createSink } from './sink.ts';
import type { SinkContext } from './types.ts';
import type { RouteInfo } from './http/router.ts';

export {
  optionsFromEnv,
  resolveSinkConfig,
  parseByteSize,
  DEFAULT_HOST,
  DEFAULT_SMTP_PORT,
  DEFAULT_HTTP_PORT,
  DEFAULT_MAX_MESSAGE_SIZE,
} from './config.ts';
export type { SinkConfig, SinkOptions, SinkUser } from './config.ts';
export {
  SINK_OPTIONS,
  optionRows,
  optionsFromFlagValues,
  defaultText,
  rangeText,
  valueName,
} from './options.ts';
export type { SinkOptionSpec, SinkOptionKey, RawFlagValues } from './options.ts';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES } from './store.ts';
export { createJsonLogger, silentLogger, LOG_LEVELS } from './logger.ts';
export { describeEndpoints } from './endpoints.ts';
export type { LogLevel } from './logger.ts';
export type { Logger, SinkContext } from './types.ts';

export interface RunningSink {
  host: string;
  smtpPort: number;
  httpPort: number;
  /** `http://host:port` of the API. */
  url: string;
  /** The API token (generated unless given); null with noAuth. */
  token: string | null;
  /** True when the token was generated at start (print it for the user). */
  tokenGenerated: boolean;
  config: SinkConfig;
  context: SinkContext;
  /** Analyses every stored message not analysed yet (analyses wait for a follower or a request: docs/sink.md) and resolves once all are done. */
  analysisIdle(): Promise<void>;
  /** Every HTTP route and whether it needs the token (fuzzers, docs checks). */
  routes(): RouteInfo[];
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts a sink. Embedding defaults: 127.0.0.1, free ports (0), a silent
 * logger, a generated token. Throws EmailValidateError on bad options or
 * when a port cannot be bound.
 */
export async function startSink(options: Partial<SinkOptions> = {}): Promise<RunningSink> {
  const config = resolveSinkConfig({ ...EMBEDDED_DEFAULTS, ...options });
  const sink = createSink(config);
  let ports: { smtpPort: number; httpPort: number };
  try {
    ports = await sink.start();
  } catch (err) {
    await sink.stop().catch(() => undefined);
    throw err;
  }
  return {
    host: config.host,
    smtpPort: ports.smtpPort,
    httpPort: ports.httpPort,
    url: `http://${urlHost(config.host)}:${ports.httpPort}`,
    token: config.token,
    tokenGenerated: config.tokenGenerated,
    config,
    context: sink.context,
    analysisIdle: () => sink.analysisIdle(),
    routes: () => sink.routes(),
    stop: () => sink.stop(),
  };
}
