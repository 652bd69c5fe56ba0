/**
 * The memory worst case of issue 10 (item 1), shared by the test
 * (test/integration/sink/memory-budget.test.ts) and the benchmark
 * (test/bench/sink-memory.bench.ts): the bundle the cluster runs, started with
 * the pod's exact flags and limits, then five 24 MiB text messages stored and
 * each one's detail view opened, then 24 concurrent 22 MiB DATA transfers.
 * Peak resident memory is read from /proc (VmHWM: the whole process, worker
 * thread included).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SINK_MALLOC_ARENA_MAX,
  SINK_MALLOC_MMAP_THRESHOLD,
  SINK_MAX_BYTES,
  SINK_NODE_OPTIONS,
} from '../../src/manifests.ts';
import { RawSmtp, dataPayload } from '../integration/sink/support/raw-smtp.ts';

/** The bundle under test; `BENCH_SINK_BUNDLE` points a benchmark at another build (an A/B of two). */
export const BUNDLE =
  process.env.BENCH_SINK_BUNDLE ?? join(import.meta.dirname, '../../dist/sink/sink.bundle.mjs');
/** The sink container's memory limit (src/manifests.ts: resources.limits.memory). */
export const POD_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;
const MiB = 1024 * 1024;

export interface PodSink {
  child: ChildProcess;
  smtpPort: number;
  httpPort: number;
  token: string;
  /** Lines the process wrote to stderr (crash messages land here). */
  stderr: () => string;
  /** What the process wrote to stdout, if started with `captureStdout` (else ''). */
  stdout: () => string;
  exited: () => boolean;
  stop(): Promise<void>;
}

export interface PodSinkOptions {
  /** Node options on the command line, before the bundle (V8 flags NODE_OPTIONS refuses, e.g. `--trace-gc-verbose`). */
  nodeArgs?: string[];
  /** Keep what the process writes to stdout (its JSON logs, V8's traces). */
  captureStdout?: boolean;
}

/** Starts the bundle as the Deployment does: NODE_OPTIONS, MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and EV_MAX_BYTES from the manifest builder's constants. */
export async function startPodSink(
  extraEnv: Record<string, string> = {},
  options: PodSinkOptions = {},
): Promise<PodSink> {
  if (!existsSync(BUNDLE)) throw new Error('run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BUNDLE], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: process.env.BENCH_SINK_NODE_OPTIONS ?? SINK_NODE_OPTIONS,
      MALLOC_ARENA_MAX: SINK_MALLOC_ARENA_MAX,
      MALLOC_MMAP_THRESHOLD_: SINK_MALLOC_MMAP_THRESHOLD,
      EV_MAX_BYTES: String(SINK_MAX_BYTES),
      EV_HOST: '127.0.0.1',
      EV_SMTP_PORT: '0',
      EV_HTTP_PORT: '0',
      EV_LOG_LEVEL: 'error',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    if (options.captureStdout) out += c.toString();
  });
  let err = '';
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoints on stderr: ${err}`)), 30_000);
    const check = () => {
      if (/token \S+/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${err}`));
    });
  });
  return {
    child,
    smtpPort: Number(/smtp:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]),
    httpPort: Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]),
    token: /token (\S+)/.exec(err)![1],
    stderr: () => err,
    stdout: () => out,
    exited: () => exited,
    async stop() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}

/** Peak resident set size of a process in bytes (VmHWM), or null when /proc cannot tell. */
export function peakRssBytes(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Current resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** A text message of about `bytes` bytes: 76-character lines, a distinct subject. */
export function textMessage(bytes: number, subject: string): Buffer {
  const head = Buffer.from(
    `From: load@example.com\r\nTo: big@example.com\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`,
  );
  const line = Buffer.from(
    `${'The quick brown fox jumps over the lazy dog, again and again and again. '.slice(0, 76)}\r\n`,
  );
  const n = Math.max(1, Math.floor((bytes - head.length) / line.length));
  const body = Buffer.allocUnsafe(n * line.length);
  for (let i = 0; i < n; i++) line.copy(body, i * line.length);
  return Buffer.concat([head, body]);
}

/** One SMTP transaction; returns the final reply code of DATA (250, 452, 552…) or null if the connection failed. */
export async function sendOne(
  port: number,
  message: Buffer,
): Promise<{ code: number | null; id: string | null }> {
  let c: RawSmtp;
  try {
    c = await RawSmtp.open(port);
  } catch {
    return { code: null, id: null };
  }
  try {
    await c.waitReplies(1, 60_000);
    await c.command('EHLO memory.example');
    await c.command('MAIL FROM:<load@example.com>');
    await c.command('RCPT TO:<big@example.com>');
    const data = await c.command('DATA');
    if (data.code !== 354) return { code: data.code, id: null };
    const n = c.replies.length + 1;
    c.write(dataPayload(message));
    const reply = (await c.waitReplies(n, 120_000))[n - 1];
    if (!reply) return { code: null, id: null };
    return { code: reply.code, id: /queued as (\S+)/.exec(reply.text)?.[1] ?? null };
  } catch {
    return { code: null, id: null };
  } finally {
    c.close();
  }
}

export interface WorstCaseResult {
  storedIds: string[];
  detailStatuses: number[];
  /** Bytes of each detail body received. */
  detailBytes: number[];
  concurrentCodes: Array<number | null>;
  liveAfter: number | null;
  peakRss: number | null;
}

async function status(
  url: string,
  token: string,
): Promise<{ status: number | null; bytes: number }> {
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.arrayBuffer();
    return { status: res.status, bytes: body.byteLength };
  } catch {
    return { status: null, bytes: 0 };
  }
}

/** Runs the sequence; `log` gets progress lines. */
export async function runWorstCase(
  sink: PodSink,
  log: (line: string) => void = () => undefined,
): Promise<WorstCaseResult> {
  const base = `http://127.0.0.1:${sink.httpPort}`;
  const storedIds: string[] = [];
  log(`start: rss ${((rssBytes(sink.child.pid!) ?? 0) / MiB).toFixed(0)} MiB`);
  for (let i = 0; i < 5; i++) {
    const r = await sendOne(sink.smtpPort, textMessage(24 * MiB, `big ${i}`));
    if (r.id) storedIds.push(r.id);
    log(
      `stored 24 MiB message ${i}: ${r.code}, rss ${((rssBytes(sink.child.pid!) ?? 0) / MiB).toFixed(0)} MiB`,
    );
  }
  const detailStatuses: number[] = [];
  const detailBytes: number[] = [];
  for (const id of storedIds) {
    const r = await status(`${base}/api/messages/${id}`, sink.token);
    detailStatuses.push(r.status ?? 0);
    detailBytes.push(r.bytes);
    log(
      `detail ${id}: ${r.status} (${r.bytes} bytes), rss ${((rssBytes(sink.child.pid!) ?? 0) / MiB).toFixed(0)} MiB`,
    );
  }
  const message = textMessage(22 * MiB, 'concurrent');
  const concurrent = await Promise.all(
    Array.from({ length: 24 }, () => sendOne(sink.smtpPort, message)),
  );
  const concurrentCodes = concurrent.map((r) => r.code);
  log(`24 concurrent 22 MiB transfers: ${concurrentCodes.join(',')}`);
  const live = await status(`${base}/livez`, sink.token);
  return {
    storedIds,
    detailStatuses,
    detailBytes,
    concurrentCodes,
    liveAfter: live.status,
    peakRss: peakRssBytes(sink.child.pid!),
  };
}
