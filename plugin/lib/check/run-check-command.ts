/**
 * The `check` service: turns validated options into the engine's
 * collaborators (readers, writer, journal, DNS resolver, SMTP transport,
 * provider client, limiters, clock) and runs it. The command only parses
 * flags and renders the summary.
 */

import { readFileSync, statSync, existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { randomInt } from 'node:crypto';
import { evError } from '../../../src/errors.ts';
import { sleep, type Clock } from '../../../src/clock.ts';
import { TokenBucket, rateBurst } from '../../../src/limits/token-bucket.ts';
import { KeyedLimiter, type KeyLimit } from '../../../src/limits/keyed-limiter.ts';
import { createLists } from '../../../src/address/lists.ts';
import type { DnsChecker, DnsResolver } from '../../../src/address/dns.ts';
import { createOfflineContext } from '../../../src/check/pipeline.ts';
import { emptyCounts, rebuildDedupe, runCheck, type Counts } from '../../../src/check/engine.ts';
import { port25Reachable, type SmtpTransport } from '../../../src/check/smtp-stage.ts';
import { ProviderStage, type HttpClient } from '../../../src/check/provider-stage.ts';
import { parseProviderConfig } from '../../../src/check/provider-config.ts';
import { fingerprintDiff, type StateFingerprint } from '../../../src/check/state.ts';
import type { Verdict } from '../../../src/check/reasons.ts';
import { readInputs, type ReadProgress } from './input.ts';
import { createResultWriter, fdSink, type CheckFormat } from './output.ts';
import { StateJournal, fingerprintInputs, loadState } from './state-file.ts';
import { acquireRunLock } from './run-lock.ts';
import { FailureWatch } from '../../../src/check/failure-watch.ts';
import {
  buildNetworkStages,
  loadHttpClient,
  validateProbeIdentity,
} from '../../../checker/index.ts';
import { mailProviderOverrides } from '../../../src/check/limit-options.ts';
import { startProgress } from './progress.ts';
import { codeOrMessage, errorCode, errorMessage } from '../../../src/guards.ts';

export interface CheckOptions {
  paths: string[];
  column: string | null;
  format: CheckFormat;
  out: string | null;
  state: string | null;
  offline: boolean;
  dnsServer?: string;
  dnsTimeoutMs: number;
  dnsTries: number;
  smtpProbe: boolean;
  helo?: string;
  mailFrom: string;
  smtpPort: number;
  allowPrivateMx: boolean;
  port25Check?: string;
  greylistRetries: number;
  greylistDelayMs: number;
  greylistMaxMs: number;
  smtpTimeoutMs: number;
  provider?: string;
  concurrency: number;
  /** Addresses per second that go to the network, or null for no global rate. */
  rate: number | null;
  burst?: number;
  domainConcurrency: number;
  domainRate: number;
  mxConcurrency: number;
  mxRate: number;
  failOn: Verdict[];
  progress: boolean;
  color: boolean;
  /** Terminal width the table fits (null or absent: no limit). */
  tableWidth?: number | null;
  /** `-o wide`: the table cuts nothing. */
  wide?: boolean;
  checkpointEveryMs: number;
}

export interface CheckIo {
  stdoutFd: number;
  stderr: NodeJS.WriteStream;
  /** Standard input (default: process.stdin, touched only when an input is '-'). */
  stdin?: NodeJS.ReadableStream;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  signal?: AbortSignal;
  /** Test seams. */
  resolver?: DnsResolver;
  smtpTransport?: SmtpTransport;
  http?: HttpClient;
  random?: () => number;
}

export interface CheckSummary {
  counts: Counts;
  elapsedMs: number;
  resumed: boolean;
  /** Records read by this run (a resumed run starts after the checkpoint). */
  readThisRun?: number;
  exitCode: number;
  /** Stopped because stdout was closed (EPIPE): print nothing more. */
  quiet?: boolean;
}

export function optionsKey(options: CheckOptions): string {
  return JSON.stringify([
    options.offline,
    options.smtpProbe,
    options.provider ?? null,
    options.helo ?? null,
    options.mailFrom,
    options.smtpPort,
  ]);
}

export async function runCheckCommand(options: CheckOptions, io: CheckIo): Promise<CheckSummary> {
  const started = io.clock.now();
  if (options.state && (options.paths.includes('-') || options.paths.length === 0))
    throw evError(
      'EV_ERR_CONFLICTING_OPTIONS',
      '--state needs input files: standard input cannot be re-read on resume',
      { hint: 'save the list to a file and pass its path' },
    );
  if (options.state && !options.out)
    throw evError(
      'EV_ERR_CONFLICTING_OPTIONS',
      '--state needs --out FILE: results must go to a file that a resumed run can continue',
      { hint: 'add --out results.jsonl' },
    );
  if (options.state && options.format === 'table')
    throw evError('EV_ERR_CONFLICTING_OPTIONS', '--state cannot resume a table', {
      hint: 'use -o jsonl or -o csv with --state',
    });
  if (options.offline && (options.smtpProbe || options.provider))
    throw evError(
      'EV_ERR_CONFLICTING_OPTIONS',
      '--offline cannot be combined with --smtp-probe or --provider',
      { hint: 'drop --offline to run network checks' },
    );
  const paths = options.paths.length === 0 ? ['-'] : options.paths;
  for (const p of paths)
    if (p !== '-' && !existsSync(p))
      throw evError('EV_ERR_INPUT_INVALID', `cannot read ${p}: no such file`, {
        hint: 'check the path',
      });
  if (options.out && paths.some((p) => p !== '-' && resolvePath(p) === resolvePath(options.out!)))
    throw evError('EV_ERR_CONFLICTING_OPTIONS', '--out would overwrite an input file', {
      hint: 'write results to another file',
    });
  if (
    options.state &&
    paths.some((p) => p !== '-' && resolvePath(p) === resolvePath(options.state!))
  )
    throw evError('EV_ERR_CONFLICTING_OPTIONS', '--state would overwrite an input file', {
      hint: 'keep the state in a file of its own, e.g. list.state',
    });
  if (options.state && options.out && resolvePath(options.state) === resolvePath(options.out))
    throw evError('EV_ERR_CONFLICTING_OPTIONS', '--state and --out name the same file', {
      hint: 'use two files, e.g. --out results.jsonl --state results.state',
    });

  // ---- one run per state/output file: a second run is refused, naming the first
  const lock =
    options.out || options.state
      ? acquireRunLock([options.state, options.out].filter((p): p is string => !!p))
      : null;
  try {
    return await runLocked(options, io, paths, started);
  } finally {
    lock?.release();
  }
}

async function runLocked(
  options: CheckOptions,
  io: CheckIo,
  paths: string[],
  started: number,
): Promise<CheckSummary> {
  // ---- state: fingerprint, resume point
  let resume = null;
  let journal: StateJournal | null = null;
  let keepBytes = 0;
  if (options.state) {
    const fp: StateFingerprint = {
      inputs: await fingerprintInputs(paths),
      output: resolvePath(options.out!),
      format: options.format,
      column: options.column,
      options: optionsKey(options),
    };
    const old = loadState(options.state);
    if (old) {
      const diff = fingerprintDiff(old.fingerprint, fp);
      if (diff.length > 0)
        throw evError(
          'EV_ERR_STATE_INVALID',
          `state file ${options.state} belongs to a different run (${diff.join(', ')} changed)`,
          {
            hint: 'use the same inputs and options to resume, or delete the state file to start over',
          },
        );
      resume = old.resume;
      keepBytes = resume?.checkpoint.outputBytes ?? 0;
      const have = existsSync(options.out!) ? statSync(options.out!).size : 0;
      if (have < keepBytes)
        throw evError(
          'EV_ERR_STATE_INVALID',
          `${options.out} is shorter (${have} bytes) than the state file says (${keepBytes})`,
          {
            hint: 'the output was changed since the last run; delete the state file to start over',
          },
        );
    }
    journal = StateJournal.open(options.state, fp, resume);
  }

  // ---- services
  const random = io.random ?? (() => randomInt(0, 2 ** 32) / 2 ** 32);
  const lists = createLists();
  const offline = createOfflineContext(lists);
  const closers: Array<() => Promise<void> | void> = [];
  validateProbeIdentity(options);
  const keyLimit = (c: number, r: number): KeyLimit => ({
    concurrency: c,
    rate: r,
    burst: rateBurst(r),
  });
  const { stages, resolver, transport } = buildNetworkStages(options, {
    clock: io.clock,
    random,
    resolver: io.resolver,
    smtpTransport: io.smtpTransport,
    limiters: () => ({
      domain: new KeyedLimiter(keyLimit(options.domainConcurrency, options.domainRate), io.clock),
      provider: new KeyedLimiter(
        keyLimit(options.mxConcurrency, options.mxRate),
        io.clock,
        mailProviderOverrides(options),
      ),
    }),
  });
  if (resolver && options.dnsServer)
    await precheckDnsServer(
      options.dnsServer,
      resolver,
      options.dnsTimeoutMs * (options.dnsTries + 1) + 1000,
      io.clock,
      io.signal,
    );
  if (transport) await precheckPort25(options, transport, stages.dns!, io.signal);
  if (options.provider) {
    const config = await loadProviderConfig(options.provider, io.env);
    let http = io.http;
    if (!http) {
      // undici is loaded only when a provider is used (~0.1 s of start-up otherwise).
      const { poolHttpClient } = await loadHttpClient();
      const client = poolHttpClient(
        new URL(config.url.replace('{address}', 'x')).origin,
        config.concurrency,
      );
      closers.push(() => client.close());
      http = client;
    }
    stages.provider = new ProviderStage({ config, http, clock: io.clock, random });
  }

  // ---- input, output
  const read: ReadProgress = { bytes: 0 };
  const cp = resume?.checkpoint;
  const dedupe =
    cp && cp.index > 0
      ? await rebuildDedupe(
          readInputs({ paths, column: options.column, stopFile: cp.file, stopOffset: cp.offset }),
        )
      : undefined;
  const source = untilAborted(
    readInputs(
      { paths, column: options.column, startFile: cp?.file ?? 0, startOffset: cp?.offset ?? 0 },
      read,
      io.stdin as never,
    ),
    io.signal,
  );
  const sink = options.out ? fdSink({ path: options.out, keepBytes }) : fdSink({ fd: io.stdoutFd });
  const writer = createResultWriter({
    format: options.format,
    sink,
    durable: options.state !== null,
    header: keepBytes === 0,
    color: options.color,
    width: options.tableWidth ?? null,
    wide: options.wide === true,
  });
  const counts = emptyCounts();
  const totalBytes = paths.includes('-')
    ? null
    : paths.reduce((n, p) => n + statSync(p).size, 0) -
      (cp ? bytesBefore(paths, cp.file, cp.offset) : 0);
  const stopProgress = options.progress
    ? startProgress(io.stderr, counts, read, totalBytes, () => io.clock.now())
    : null;
  try {
    await runCheck(source, writer, {
      offline,
      stages,
      concurrency: options.concurrency,
      clock: io.clock,
      signal: io.signal,
      stats: counts,
      rate:
        options.rate === null
          ? undefined
          : new TokenBucket({
              rate: options.rate,
              burst: rateBurst(options.rate, options.burst),
              clock: io.clock,
            }),
      ...(journal ? { journal } : {}),
      ...(resume ? { resume } : {}),
      ...(dedupe ? { dedupe } : {}),
      checkpointEveryMs: options.checkpointEveryMs,
      watch: new FailureWatch({
        describe: (stage) =>
          stage === 'dns'
            ? options.dnsServer
              ? `DNS server ${options.dnsServer}`
              : 'the system DNS resolver'
            : `the provider in ${options.provider}`,
      }),
    });
  } finally {
    stopProgress?.();
    writer.close();
    journal?.close();
    for (const c of closers) await c();
  }
  const failed = options.failOn.some((v) => counts[v] > 0);
  return {
    counts,
    elapsedMs: io.clock.now() - started,
    resumed: resume !== null,
    readThisRun: counts.read - (cp?.counts.read ?? 0),
    exitCode: failed ? 1 : 0,
  };
}

function bytesBefore(paths: string[], file: number, offset: number): number {
  let n = offset;
  for (let f = 0; f < file; f++) n += statSync(paths[f]).size;
  return n;
}

async function loadProviderConfig(
  file: string,
  env: CheckIo['env'],
): Promise<ReturnType<typeof parseProviderConfig>> {
  return parseProviderConfig(await readProviderFile(file), file, env);
}

/** The --provider file, parsed (YAML or JSON) but not yet validated. */
export async function readProviderFile(file: string): Promise<unknown> {
  const { parse: parseYaml } = await import('yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw evError(
      'EV_ERR_PROVIDER_CONFIG',
      `cannot read provider config ${file}: ${codeOrMessage(err)}`,
      { hint: 'check the path given to --provider' },
    );
  }
  try {
    const parsed: unknown = parseYaml(text);
    return parsed;
  } catch (err) {
    throw evError(
      'EV_ERR_PROVIDER_CONFIG',
      `${file}: not valid YAML/JSON: ${errorMessage(err).split('\n')[0]}`,
      { hint: 'see "Provider" in docs/checks.md for an example' },
    );
  }
}

/** A name that never exists (RFC 2606): any answer, NXDOMAIN included, shows the server serves us. */
export const DNS_PRECHECK_NAME = 'ev-dns-check.invalid';

/**
 * The --dns-server precheck: one query before the run, so a server that is
 * down, unreachable or refuses us fails fast with EV_ERR_DNS instead of every
 * address turning `unknown` (dns_timeout) one timeout at a time.
 */
async function precheckDnsServer(
  server: string,
  resolver: DnsResolver,
  deadlineMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<void> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let code: string | undefined;
  try {
    code = await Promise.race([
      resolver.resolve4(DNS_PRECHECK_NAME).then(
        () => undefined,
        (err: unknown) => errorCode(err) ?? 'EUNKNOWN',
      ),
      sleep(clock, deadlineMs, ac.signal).then(
        () => 'ETIMEOUT',
        () => undefined,
      ),
    ]);
  } finally {
    ac.abort();
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) return;
  if (
    code === 'ETIMEOUT' ||
    code === 'ECONNREFUSED' ||
    code === 'EREFUSED' ||
    code === 'EBADRESP' ||
    code === 'EFORMERR'
  ) {
    const why =
      code === 'ETIMEOUT'
        ? 'no answer'
        : code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'EREFUSED'
            ? 'the server refused the query'
            : `the answer is not valid DNS (${code})`;
    throw evError('EV_ERR_DNS', `DNS server ${server} does not answer (${why} to a test query)`, {
      hint: 'check --dns-server (IP[:PORT]) and that the server is up and reachable from here; raise --dns-timeout for a slow server',
    });
  }
}

async function precheckPort25(
  options: CheckOptions,
  transport: SmtpTransport,
  dns: DnsChecker,
  signal?: AbortSignal,
): Promise<void> {
  const targets: Array<{ host: string; address: string; port: number }> = [];
  if (options.port25Check) {
    const m = /^(.+?)(?::(\d+))?$/.exec(options.port25Check)!;
    targets.push({
      host: m[1],
      address: m[1].replace(/^\[|\]$/g, ''),
      port: m[2] ? Number(m[2]) : options.smtpPort,
    });
  } else {
    // Well-known MX hosts that always listen on 25: if none answers, this network blocks outbound SMTP.
    for (const d of ['gmail.com', 'outlook.com', 'yahoo.com']) {
      const r = await dns.lookup(d);
      const mx = r.mx.find((m) => m.addresses.length > 0);
      if (mx) targets.push({ host: mx.exchange, address: mx.addresses[0], port: options.smtpPort });
    }
  }
  const r = await port25Reachable(transport, targets, signal);
  if (!r.ok) {
    throw evError(
      'EV_ERR_PORT25_BLOCKED',
      `outbound SMTP is not reachable from here (tried ${r.tried.join(', ') || 'no host: DNS failed'}${r.error ? `: ${r.error}` : ''})`,
      {
        hint: 'many clouds and ISPs block port 25; run from a host that may send mail, use --provider, or use --offline',
      },
    );
  }
}

/**
 * Ends the input at Ctrl-C even while a read is pending (a terminal or a pipe
 * on stdin may never send more): the engine sees the abort reason, saves what
 * is complete and reports how far it got.
 */
async function* untilAborted<T>(
  source: AsyncGenerator<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([source.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    void source.return(undefined).catch(() => undefined);
  }
}
