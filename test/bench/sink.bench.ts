/**
 * `npm run bench:sink`: the sink's throughput, latency and memory figures of docs/performance.md, printed, never asserted.
 *
 * The sink under test is the bundle the cluster runs (dist/sink/sink.bundle.mjs)
 * in a child process; the baseline is a bare smtp-server (same 100 ms
 * pre-greeting wait removal, no parsing, no storing) in a child process too,
 * measured in the same run. This process is the load generator (raw SMTP on
 * loopback, pipelined) and the WebSocket client consuming every event.
 * Every loop is bounded by a message count. Scenario 6 (issue 13) compares the
 * sink with MailHog 1.0.1 when its binary is found (MAILHOG_BIN or
 * ../shared/tools/mailhog); `BENCH_ONLY_MAILHOG=1` runs that scenario alone.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import {
  SINK_MALLOC_ARENA_MAX,
  SINK_MALLOC_MMAP_THRESHOLD,
  SINK_NODE_OPTIONS,
} from '../../src/manifests.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = process.env.BENCH_SINK_BUNDLE ?? join(ROOT, 'dist', 'sink', 'sink.bundle.mjs');
const NODE = process.execPath;
const MESSAGE_BYTES = 2048;
const PERSISTENT_SESSIONS = 20;
const PERSISTENT_MESSAGES = Number(process.env.BENCH_PERSISTENT_MESSAGES ?? 30_000);
const RECONNECT_CLIENTS = 200;
const RECONNECT_MESSAGES = Number(process.env.BENCH_RECONNECT_MESSAGES ?? 10_000);
const LATENCY_RATE = 500;
const LATENCY_MESSAGES = Number(process.env.BENCH_LATENCY_MESSAGES ?? 5_000);
const FRESH_MESSAGES = 200;
const MEMORY_MESSAGES = Number(process.env.BENCH_MEMORY_MESSAGES ?? 100_000);
const MEMORY_CAP = 50_000;
/** Alternating rounds of baseline and sink in scenarios 1 and 2. */
const ROUNDS = 3;
/**
 * Scenario 6 (the sink against MailHog 1.0.1, when its binary is found): the
 * load patterns of issue 13. Rounds of 15,000 and 4,000 messages: with a third
 * of that the CPU per message of one run swung by ±10% on the shared machine.
 */
const MAILHOG_PERSISTENT_MESSAGES = Number(process.env.BENCH_MAILHOG_PERSISTENT_MESSAGES ?? 45_000);
const MAILHOG_RECONNECT_MESSAGES = Number(process.env.BENCH_MAILHOG_RECONNECT_MESSAGES ?? 12_000);
const MAILHOG_RECONNECT_CLIENTS = 100;

// ---------------------------------------------------------------- bare server
/** The baseline: smtp-server that parses and stores nothing. */
async function runBareServer(): Promise<void> {
  const { SinkSmtpServer } = await import('../../sink/smtp-server.ts');
  const server = new SinkSmtpServer({
    disableReverseLookup: true,
    authOptional: true,
    hideSTARTTLS: true,
    logger: false,
    size: 25 * 1024 * 1024,
    maxClients: 1000,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => callback(null, 'Ok'));
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const port = (server.server.address() as { port: number }).port;
    process.stderr.write(`SMTP  smtp://127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------- processes
interface Target {
  child: ChildProcess;
  smtpPort: number;
  httpPort: number | null;
}

async function spawnTarget(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const child = spawn(NODE, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`target did not start: ${err}`)), 20_000);
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const smtp = /smtp:\/\/[^:]+:(\d+)/.exec(err);
      const http = /http:\/\/[^:]+:(\d+)/.exec(err);
      if (smtp && (http || args.includes('--bare-server'))) {
        clearTimeout(timer);
        resolve({ child, smtpPort: Number(smtp[1]), httpPort: http ? Number(http[1]) : null });
      }
    });
    child.once('exit', (code) => reject(new Error(`target exited with ${code}: ${err}`)));
  });
}

/** The V8 flags and malloc setting the cluster's pod (and sink/Dockerfile) run the sink with. */
const SINK_NODE_FLAGS = (process.env.BENCH_SINK_FLAGS ?? SINK_NODE_OPTIONS).split(' ');
const SINK_ENV = {
  ...process.env,
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? SINK_MALLOC_ARENA_MAX,
  MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? SINK_MALLOC_MMAP_THRESHOLD,
};
const startSinkProcess = (maxMessages = 10_000) =>
  spawnTarget(
    [
      ...SINK_NODE_FLAGS,
      BUNDLE,
      '--smtp-port',
      '0',
      '--http-port',
      '0',
      '--no-auth',
      '--log-level',
      'warn',
      '--max-messages',
      String(maxMessages),
      '--max-bytes',
      '1GiB',
    ],
    SINK_ENV,
  );
const startBare = () => spawnTarget([import.meta.filename, '--bare-server']);

/**
 * The MailHog binary to compare with: MAILHOG_BIN, else `shared/tools/mailhog`
 * beside the repository or one of its parents (../shared/tools/mailhog from
 * the main checkout). Null when there is none: scenario 6 is skipped.
 */
function findMailhog(): string | null {
  if (process.env.MAILHOG_BIN)
    return existsSync(process.env.MAILHOG_BIN) ? process.env.MAILHOG_BIN : null;
  for (let dir = ROOT, i = 0; i < 4; i++, dir = dirname(dir)) {
    const candidate = join(dir, '..', 'shared', 'tools', 'mailhog');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts MailHog on free loopback ports; resolves once its SMTP port greets. */
async function startMailhog(bin: string): Promise<Target> {
  const smtpPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    bin,
    [
      '-smtp-bind-addr',
      `127.0.0.1:${smtpPort}`,
      '-api-bind-addr',
      `127.0.0.1:${httpPort}`,
      '-ui-bind-addr',
      `127.0.0.1:${httpPort}`,
    ],
    { stdio: 'ignore' },
  );
  const deadline = performance.now() + 20_000;
  for (;;) {
    try {
      const s = await Session.open(smtpPort);
      await s.until(1);
      s.socket.end('QUIT\r\n');
      return { child, smtpPort, httpPort };
    } catch (err) {
      if (performance.now() > deadline)
        throw new Error(`MailHog did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function stop(t: Target): Promise<void> {
  t.child.kill('SIGTERM');
  await new Promise((r) => t.child.once('exit', r));
}

/** The sink's V8 heap used and external memory (MiB), from its own /metrics: where the resident memory goes. */
async function heapMiB(httpPort: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^email_sink_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return `heap ${fmt(read('nodejs_heap_size_used_bytes'))}/${fmt(read('nodejs_heap_size_total_bytes'))} ext ${fmt(read('nodejs_external_memory_bytes'))}`;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Where a Node process's CPU goes, by thread. */
type ThreadClass = 'main' | 'parse worker' | 'GC helpers' | 'other';
const THREAD_CLASSES: readonly ThreadClass[] = ['main', 'parse worker', 'GC helpers', 'other'];

/**
 * CPU seconds per thread class so far, from /proc/PID/task: the main thread
 * (tid = pid), the parse worker (Node names worker threads `WorkerThread`),
 * V8's platform threads (`V8Worker`: parallel scavenge, concurrent marking
 * and sweeping, background compilation), and the rest (libuv pool, signal
 * thread). A thread that exited is missing here but counted in cpuSeconds.
 */
function threadCpu(pid: number): Record<ThreadClass, number> {
  const out: Record<ThreadClass, number> = {
    main: 0,
    'parse worker': 0,
    'GC helpers': 0,
    other: 0,
  };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    const kind: ThreadClass =
      tid === String(pid)
        ? 'main'
        : comm.startsWith('WorkerThread')
          ? 'parse worker'
          : comm.startsWith('V8Worker')
            ? 'GC helpers'
            : 'other';
    out[kind] += seconds;
  }
  return out;
}

/** Resolves once the process used under 2% of a CPU for a second (its analysis caught up), or after `maxSeconds`. */
async function cpuQuiet(pid: number, maxSeconds = 120): Promise<void> {
  for (let i = 0; i < maxSeconds; i++) {
    const before = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 1000));
    if (cpuSeconds(pid) - before < 0.02) return;
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---------------------------------------------------------------- SMTP client
function message(id: number): Buffer {
  const head = `From: bench@example.com\r\nTo: user@example.com\r\nSubject: bench-${id}\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <${id}@bench.example>\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstu\r\n';
  let body = '';
  while (head.length + body.length + line.length <= MESSAGE_BYTES - 3) body += line;
  body += 'x'.repeat(MESSAGE_BYTES - 3 - head.length - body.length);
  return Buffer.from(`${head}${body}\r\n.\r\n`);
}

/** Counts replies (final lines) on a socket and lets callers await a count. */
class Session {
  readonly socket: Socket;
  replies = 0;
  #tail = '';
  #want = 0;
  #wake: (() => void) | null = null;
  #failed: Error | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => {
      const text = this.#tail + c.toString('latin1');
      const lines = text.split('\r\n');
      this.#tail = lines.pop()!;
      for (const l of lines) if (l.length >= 4 && l[3] === ' ') this.replies++;
      if (this.#wake && this.replies >= this.#want) {
        const w = this.#wake;
        this.#wake = null;
        w();
      }
    });
    socket.on('error', (e) => {
      this.#failed = e;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#failed ??= new Error('closed');
      this.#wake?.();
    });
  }

  static open(port: number): Promise<Session> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Session(s)));
      s.once('error', reject);
    });
  }

  until(n: number): Promise<void> {
    if (this.replies >= n) return Promise.resolve();
    if (this.#failed) return Promise.reject(this.#failed);
    this.#want = n;
    return new Promise((resolve, reject) => {
      this.#wake = () =>
        this.replies >= n ? resolve() : reject(this.#failed ?? new Error('session failed'));
    });
  }

  async hello(): Promise<void> {
    await this.until(1);
    this.socket.write('EHLO bench.example\r\n');
    await this.until(2);
  }

  /** One pipelined transaction; `onDataEnd` runs right after the final dot is written. */
  async send(msg: Buffer, onDataEnd?: () => void): Promise<void> {
    const base = this.replies;
    this.socket.write('MAIL FROM:<bench@example.com>\r\nRCPT TO:<user@example.com>\r\nDATA\r\n');
    await this.until(base + 3);
    this.socket.write(msg);
    onDataEnd?.();
    await this.until(base + 4);
  }
}

/** `total` messages over `sessions` persistent sessions, as fast as they go. */
async function persistentLoad(
  port: number,
  sessions: number,
  total: number,
  firstId = 0,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, async () => {
      const s = await Session.open(port);
      await s.hello();
      while (next < total) await s.send(message(firstId + next++));
      s.socket.end('QUIT\r\n');
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

/** `total` messages, one per connection, `clients` connections at a time. */
async function reconnectLoad(port: number, clients: number, total: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const id = next++;
        const s = await Session.open(port);
        await s.hello();
        await s.send(message(id));
        s.socket.end('QUIT\r\n');
      }
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

// ---------------------------------------------------------------- event feed
/** A WebSocket client consuming every event; resolves waiters by subject. */
class FeedClient {
  readonly ws: WebSocket;
  events = 0;
  received = 0;
  analyzed = 0;
  readonly #waiting = new Map<string, (t: number) => void>();
  #onAnalyzed: (() => void) | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const ev = JSON.parse(data.toString()) as { type: string; data?: { subject?: string } };
      if (ev.type === 'hello') return;
      this.events++;
      if (ev.type === 'message.received') this.received++;
      if (ev.type === 'message.analyzed') {
        this.analyzed++;
        if (this.analyzed >= this.received) this.#onAnalyzed?.();
      }
      if (ev.type === 'message.received' && ev.data?.subject) {
        const w = this.#waiting.get(ev.data.subject);
        if (w) {
          this.#waiting.delete(ev.data.subject);
          w(performance.timeOrigin + performance.now());
        }
      }
    });
  }

  static open(httpPort: number): Promise<FeedClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/api/events?since=0`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FeedClient(ws)));
      ws.once('error', reject);
    });
  }

  /**
   * Resolves once every received message has been analysed: the parse worker
   * catches up after a flood, and the next measurement must not share the CPU
   * with it.
   */
  async analysisIdle(timeoutMs = 120_000): Promise<void> {
    if (this.analyzed >= this.received) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`analysis not done: ${this.analyzed}/${this.received}`)),
        timeoutMs,
      );
      this.#onAnalyzed = () => {
        clearTimeout(timer);
        this.#onAnalyzed = null;
        resolve();
      };
    });
  }

  /** Resolves with the absolute time the event for `subject` arrived. */
  waitFor(subject: string): Promise<number> {
    return new Promise((resolve) => this.#waiting.set(subject, resolve));
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * The WebSocket client of the throughput runs, on its own thread: it parses
 * every event (as `tail -o json` would) without slowing the load generator's
 * event loop, and reports its counts.
 */
function runFeedCounter(httpPort: number): void {
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/api/events?since=0`);
  const counts = { events: 0, received: 0, analyzed: 0 };
  ws.on('open', () => parentPort!.postMessage({ open: true, ...counts }));
  ws.on('message', (data: Buffer) => {
    const ev = JSON.parse(data.toString()) as { type: string };
    if (ev.type === 'hello') return;
    counts.events++;
    if (ev.type === 'message.received') counts.received++;
    else if (ev.type === 'message.analyzed') counts.analyzed++;
  });
  setInterval(() => parentPort!.postMessage(counts), 20);
  parentPort!.on('message', () => {
    ws.close();
    process.exit(0);
  });
}

class FeedCounter {
  readonly #worker: Worker;
  counts = { events: 0, received: 0, analyzed: 0 };
  #listeners = new Set<() => void>();

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (c: typeof this.counts) => {
      this.counts = c;
      for (const l of this.#listeners) l();
    });
  }

  static async open(httpPort: number): Promise<FeedCounter> {
    const worker = new Worker(new URL(import.meta.url), { workerData: { feedCounter: httpPort } });
    const counter = new FeedCounter(worker);
    await new Promise((resolve) => worker.once('message', resolve));
    return counter;
  }

  /** Resolves once `sent` messages were received and all of them analysed (the parse worker caught up). */
  async settled(sent: number, timeoutMs = 180_000): Promise<void> {
    const done = () => this.counts.received >= sent && this.counts.analyzed >= this.counts.received;
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`feed not settled: ${JSON.stringify(this.counts)} of ${sent}`)),
        timeoutMs,
      );
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          this.#listeners.delete(check);
          resolve();
        }
      };
      this.#listeners.add(check);
    });
  }

  close(): void {
    this.#worker.postMessage('close');
  }
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const now = () => performance.timeOrigin + performance.now();
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// ---------------------------------------------------------------- scenarios
/**
 * 6. The sink against MailHog 1.0.1 (issue 13) and the bare smtp-server, in
 * alternating rounds in this run: 20 persistent sessions, and one message per
 * connection from 100 concurrent clients. No event-feed client here (MailHog
 * has none); the sink's parse worker is let catch up before each next round,
 * and its CPU time counts.
 */
async function mailhogComparison(bin: string, say: (line: string) => void): Promise<void> {
  const mailhog = await startMailhog(bin);
  const sink = await startSinkProcess(MEMORY_CAP);
  const bare = await startBare();
  const targets = { mailhog, sink, bare } as const;
  type Name = keyof typeof targets;
  const names: Name[] = ['mailhog', 'sink', 'bare'];
  const rates: Record<string, number[]> = {};
  const cpu: Record<string, number> = {};
  /** The sink's CPU by thread class, during the load and in the analysis after it. */
  const threads: Record<string, number> = {};
  const addThreads = (
    prefix: string,
    from: Record<ThreadClass, number>,
    to: Record<ThreadClass, number>,
  ) => {
    for (const k of THREAD_CLASSES)
      threads[`${prefix}:${k}`] = (threads[`${prefix}:${k}`] ?? 0) + to[k] - from[k];
  };
  let id = 6e9;
  const round = async (name: Name, pattern: 'persistent' | 'reconnect', messages: number) => {
    const t = targets[name];
    const threadsBefore = name === 'mailhog' ? null : threadCpu(t.child.pid!);
    const before = cpuSeconds(t.child.pid!);
    const rate =
      pattern === 'persistent'
        ? await persistentLoad(t.smtpPort, PERSISTENT_SESSIONS, messages, (id += messages))
        : await reconnectLoad(t.smtpPort, MAILHOG_RECONNECT_CLIENTS, messages);
    const key = `${name}:${pattern}`;
    cpu[key] = (cpu[key] ?? 0) + cpuSeconds(t.child.pid!) - before;
    (rates[key] ??= []).push(rate);
    if (name === 'bare' && threadsBefore !== null)
      addThreads(`bare:${pattern}`, threadsBefore, threadCpu(t.child.pid!));
    if (name === 'sink' && threadsBefore !== null) {
      // The analysis left over from this round (it pauses during floods) runs before the next round, counted apart.
      const after = cpuSeconds(t.child.pid!);
      const threadsAfter = threadCpu(t.child.pid!);
      addThreads(`load:${pattern}`, threadsBefore, threadsAfter);
      await cpuQuiet(t.child.pid!, 60);
      cpu[`analysis:${pattern}`] =
        (cpu[`analysis:${pattern}`] ?? 0) + cpuSeconds(t.child.pid!) - after;
      addThreads(`analysis:${pattern}`, threadsAfter, threadCpu(t.child.pid!));
    }
  };
  for (const name of names)
    await persistentLoad(targets[name].smtpPort, PERSISTENT_SESSIONS, 1_000, (id += 1_000)); // warm-up
  await cpuQuiet(sink.child.pid!, 60);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const us = (key: string, messages: number) => fmt((cpu[key] * 1e6) / messages);
  for (const [pattern, total, label] of [
    ['persistent', MAILHOG_PERSISTENT_MESSAGES, `${PERSISTENT_SESSIONS} persistent sessions`],
    [
      'reconnect',
      MAILHOG_RECONNECT_MESSAGES,
      `one message per connection, ${MAILHOG_RECONNECT_CLIENTS} concurrent clients`,
    ],
  ] as const) {
    const perRound = Math.round(total / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) for (const name of names) await round(name, pattern, perRound);
    const m = (name: Name) => median(rates[`${name}:${pattern}`]);
    const list = (name: Name) => rates[`${name}:${pattern}`].map((x) => fmt(x)).join('/');
    const sent = perRound * ROUNDS;
    const split = (phase: string) =>
      THREAD_CLASSES.map(
        (k) => `${k} ${fmt((threads[`${phase}:${pattern}:${k}`] * 1e6) / sent)}`,
      ).join(', ');
    const whole = cpu[`sink:${pattern}`] + cpu[`analysis:${pattern}`];
    say(
      `6. vs MailHog 1.0.1, ${label}, ${ROUNDS} alternating rounds of ${fmt(perRound)}: sink median ${fmt(m('sink'))} msg/s (${list('sink')}), MailHog ${fmt(m('mailhog'))} msg/s (${list('mailhog')}), bare smtp-server ${fmt(m('bare'))} msg/s (${list('bare')}); sink/MailHog ${fmt(m('sink') / m('mailhog'), 2)}x (target >= 1); server CPU per message during the load (all threads): sink ${us(`sink:${pattern}`, sent)} µs, MailHog ${us(`mailhog:${pattern}`, sent)} µs, bare ${us(`bare:${pattern}`, sent)} µs; sink/bare during the load ${fmt(cpu[`sink:${pattern}`] / cpu[`bare:${pattern}`], 2)}x; the sink's analysis left after the load: ${us(`analysis:${pattern}`, sent)} µs per message`,
    );
    say(
      `   the sink's CPU per message by thread: during the load ${split('load')}; the analysis after it ${split('analysis')}; the bare smtp-server's ${split('bare')}; whole process ${fmt((whole * 1e6) / sent)} µs per message, sink/bare ${fmt(whole / cpu[`bare:${pattern}`], 2)}x counting the analysis (issue 13's CPU per message; target <= 1.3)`,
    );
  }
  for (const t of Object.values(targets)) await stop(t);
}

async function main(): Promise<void> {
  const results: string[] = [];
  const say = (line: string) => {
    process.stdout.write(`${line}\n`);
    results.push(line);
  };
  const os = await import('node:os');
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  say(
    `sink bench: ${MESSAGE_BYTES}-byte messages, loopback, node ${process.version}, ${os.cpus().length} CPUs, load average ${load()} at start`,
  );
  const mailhogBin = findMailhog();
  if (process.env.BENCH_ONLY_MAILHOG) {
    if (mailhogBin === null)
      throw new Error('BENCH_ONLY_MAILHOG: no MailHog binary (set MAILHOG_BIN)');
    await mailhogComparison(mailhogBin, say);
    return;
  }

  // 1 and 2: the bare baseline and the sink run alternately, a few rounds each, and
  // the medians are compared, so that load from elsewhere on the machine hits both.
  // The sink's parse worker catches up after each of its rounds before the next one.
  const bare = await startBare();
  let sink = await startSinkProcess(MEMORY_CAP);
  const counter = await FeedCounter.open(sink.httpPort!);
  let sent = 0;
  await persistentLoad(bare.smtpPort, PERSISTENT_SESSIONS, 2_000);
  await persistentLoad(sink.smtpPort, PERSISTENT_SESSIONS, 2_000, 1e9);
  await counter.settled((sent += 2_000));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const bareRates: number[] = [];
  const sinkRates: number[] = [];
  const bareReconnects: number[] = [];
  const sinkReconnects: number[] = [];
  const perRound = Math.round(PERSISTENT_MESSAGES / ROUNDS);
  const perReconnectRound = Math.round(RECONNECT_MESSAGES / ROUNDS);
  let id = 2e9;
  // CPU time each server process used per message during its rounds: unlike the
  // rates, it hardly depends on what else the machine is doing.
  const cpu = { bare: 0, sink: 0, bareReconnect: 0, sinkReconnect: 0 };
  const timed = async <T>(
    pid: number,
    key: keyof typeof cpu,
    run: () => Promise<T>,
  ): Promise<T> => {
    const before = cpuSeconds(pid);
    const result = await run();
    cpu[key] += cpuSeconds(pid) - before;
    return result;
  };
  for (let round = 0; round < ROUNDS; round++) {
    bareRates.push(
      await timed(bare.child.pid!, 'bare', () =>
        persistentLoad(bare.smtpPort, PERSISTENT_SESSIONS, perRound),
      ),
    );
    sinkRates.push(
      await timed(sink.child.pid!, 'sink', () =>
        persistentLoad(sink.smtpPort, PERSISTENT_SESSIONS, perRound, (id += perRound)),
      ),
    );
    await counter.settled((sent += perRound));
  }
  for (let round = 0; round < ROUNDS; round++) {
    bareReconnects.push(
      await timed(bare.child.pid!, 'bareReconnect', () =>
        reconnectLoad(bare.smtpPort, RECONNECT_CLIENTS, perReconnectRound),
      ),
    );
    sinkReconnects.push(
      await timed(sink.child.pid!, 'sinkReconnect', () =>
        reconnectLoad(sink.smtpPort, RECONNECT_CLIENTS, perReconnectRound),
      ),
    );
    await counter.settled((sent += perReconnectRound));
  }
  const us = (seconds: number, messages: number) => fmt((seconds * 1e6) / messages);
  const list = (xs: number[]) => xs.map((x) => fmt(x)).join('/');
  const bareRate = median(bareRates);
  const sinkRate = median(sinkRates);
  say(
    `1. persistent sessions (${PERSISTENT_SESSIONS}), ${ROUNDS} rounds of ${fmt(perRound)} messages: sink median ${fmt(sinkRate)} msg/s (${list(sinkRates)}) with a WebSocket client consuming every event (${fmt(counter.counts.events)} events in all); bare smtp-server median ${fmt(bareRate)} msg/s (${list(bareRates)}); ratio ${fmt((100 * sinkRate) / bareRate)}% (target >= 60%); server CPU per message: sink ${us(cpu.sink, perRound * ROUNDS)} µs, bare ${us(cpu.bare, perRound * ROUNDS)} µs`,
  );
  say(
    `2. one message per connection, ${RECONNECT_CLIENTS} concurrent clients, ${ROUNDS} rounds of ${fmt(perReconnectRound)} messages: sink median ${fmt(median(sinkReconnects))} msg/s (${list(sinkReconnects)}) (target >= 2,500); bare smtp-server median ${fmt(median(bareReconnects))} msg/s (${list(bareReconnects)}); server CPU per message: sink ${us(cpu.sinkReconnect, perReconnectRound * ROUNDS)} µs, bare ${us(cpu.bareReconnect, perReconnectRound * ROUNDS)} µs`,
  );
  counter.close();
  await stop(sink);
  await stop(bare);

  // 3. latency end of DATA -> event at the WebSocket client, at 500 msg/s; fresh connection -> event
  sink = await startSinkProcess();
  const feed = await FeedClient.open(sink.httpPort!);
  const sessions = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const s = await Session.open(sink.smtpPort);
      await s.hello();
      return s;
    }),
  );
  const idle = [...sessions];
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now();
  let freed: (() => void) | null = null;
  for (let i = 0; i < LATENCY_MESSAGES; i++) {
    const due = t0 + (i * 1000) / LATENCY_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // no busy-waiting: the generator must not eat the sink's CPU
    while (idle.length === 0)
      await new Promise<void>((r) => {
        freed = r;
      });
    const s = idle.pop()!;
    const subject = `bench-${3e9 + i}`;
    const arrived = feed.waitFor(subject);
    let sentAt = 0;
    pending.push(
      s
        .send(message(3e9 + i), () => {
          sentAt = now();
        })
        .then(async () => {
          idle.push(s);
          const f = freed;
          freed = null;
          f?.();
          latencies.push((await arrived) - sentAt);
        }),
    );
  }
  await Promise.all(pending);
  const achieved = LATENCY_MESSAGES / ((performance.now() - t0) / 1000);
  say(
    `3. end of DATA -> event at the WebSocket client at ${LATENCY_RATE} msg/s (achieved ${fmt(achieved)}), ${fmt(LATENCY_MESSAGES)} messages: p50 ${fmt(pct(latencies, 50), 2)} ms, p90 ${fmt(pct(latencies, 90), 2)} ms, p99 ${fmt(pct(latencies, 99), 2)} ms, max ${fmt(Math.max(...latencies), 2)} ms (target p99 <= 5 ms)`,
  );
  for (const s of sessions) s.socket.end('QUIT\r\n');

  const fresh: number[] = [];
  for (let i = 0; i < FRESH_MESSAGES; i++) {
    const subject = `bench-${4e9 + i}`;
    const arrived = feed.waitFor(subject);
    const start = now();
    const s = await Session.open(sink.smtpPort);
    await s.hello();
    await s.send(message(4e9 + i));
    fresh.push((await arrived) - start);
    s.socket.end('QUIT\r\n');
  }
  say(
    `4. fresh connection -> event for a single message (${FRESH_MESSAGES} in sequence): p50 ${fmt(pct(fresh, 50), 2)} ms, p99 ${fmt(pct(fresh, 99), 2)} ms (target p50 <= 20 ms)`,
  );
  feed.close();
  await stop(sink);

  // 5. memory: 100,000 messages into a 50,000-message cap
  sink = await startSinkProcess(MEMORY_CAP);
  const samples: string[] = [];
  const heaps: string[] = [];
  const step = MEMORY_MESSAGES / 10;
  for (let sent = 0; sent < MEMORY_MESSAGES; sent += step) {
    await persistentLoad(sink.smtpPort, PERSISTENT_SESSIONS, step, 5e9 + sent);
    samples.push(`${fmt((sent + step) / 1000)}k:${fmt(rssMiB(sink.child.pid!))}`);
    if (sent === MEMORY_MESSAGES / 2 - step || sent === MEMORY_MESSAGES - step)
      heaps.push(`${fmt((sent + step) / 1000)}k: ${await heapMiB(sink.httpPort!)}`);
  }
  await cpuQuiet(sink.child.pid!);
  const settled = `after the analysis caught up: ${fmt(rssMiB(sink.child.pid!))} (${await heapMiB(sink.httpPort!)})`;
  say(
    `   (load average ${load()} after scenario 4: other work on the machine shares the CPUs, hence the alternating rounds)`,
  );
  say(
    `5. ${fmt(MEMORY_MESSAGES)} messages with a ${fmt(MEMORY_CAP)}-message cap: resident MiB after each ${fmt(step)} ${samples.join(' ')} (target <= 350 MB, flat once capped); main thread MiB (used/total) at ${heaps.join(', ')}; ${settled}`,
  );
  await stop(sink);

  if (mailhogBin === null)
    say(
      '6. vs MailHog: skipped (no MailHog binary: set MAILHOG_BIN, or put it at ../shared/tools/mailhog)',
    );
  else await mailhogComparison(mailhogBin, say);
}

if (!isMainThread) runFeedCounter((workerData as { feedCounter: number }).feedCounter);
else if (process.argv.includes('--bare-server')) await runBareServer();
else await main();
