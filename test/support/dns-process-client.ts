/**
 * Starts the fake DNS server of dns-process.ts in its own process and talks
 * to it over its stdin/stdout: what it counts (arrival times, look-ups) is
 * not delayed by whatever else the caller's process does (the fake API
 * server, the tunnel, the CLI).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface DnsReport {
  /** Queries answered, of every name. */
  lookups: number;
  /** Arrival times (ms, wall clock) of the queries for PREFIX<n>.example names. */
  seen: number[];
  /** Those names, in the same order. */
  names: string[];
  /** Queries the kernel dropped at the server's socket (its receive buffer was full), -1 unknown. */
  drops: number;
  /** The server's UDP receive buffer as granted. */
  buffer: number;
}

export interface DnsProcess {
  /** `127.0.0.1:PORT`. */
  server: string;
  /** Asks for the figures; the server then exits. */
  report(): Promise<DnsReport>;
  /** Ends the process (when no report was asked for). */
  kill(): void;
}

const ROOT = new URL('../../', import.meta.url).pathname;

/** Zones PREFIX<n>.example -> MX mx.PREFIX<n>.example (A 192.0.2.1). */
export async function startDnsProcess(prefix: string): Promise<DnsProcess> {
  const child = spawn(
    join(ROOT, 'node_modules/.bin/node'),
    [join(ROOT, 'test/support/dns-process.ts'), prefix],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let buf = '';
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  let exited = false;
  child.on('exit', () => {
    exited = true;
    wake?.();
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  const line = async (): Promise<string> => {
    while (lines.length === 0) {
      if (exited) throw new Error('the fake DNS server process exited');
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    return lines.shift()!;
  };
  const port = Number(await line());
  return {
    server: `127.0.0.1:${port}`,
    async report() {
      child.stdin.write('report\n');
      return JSON.parse(await line()) as DnsReport;
    },
    kill() {
      child.kill();
    },
  };
}

/** The first arrival of each name, in time order, and how many queries repeated a name (retransmissions). */
export function firstArrivals(r: Pick<DnsReport, 'seen' | 'names'>): {
  times: number[];
  repeats: number;
} {
  const first = new Map<string, number>();
  r.names.forEach((name, i) => {
    if (!first.has(name)) first.set(name, r.seen[i]);
  });
  return {
    times: [...first.values()].sort((a, b) => a - b),
    repeats: r.names.length - first.size,
  };
}

/** The most arrivals in any one-second window (sliding), and where it starts (ms after the first). */
export function busiestSecond(sorted: number[]): { count: number; atMs: number } {
  let count = 0;
  let atMs = 0;
  for (let a = 0, b = 0; a < sorted.length; a++) {
    while (b < sorted.length && sorted[b] - sorted[a] < 1000) b++;
    if (b - a > count) {
      count = b - a;
      atMs = sorted[a] - sorted[0];
    }
  }
  return { count, atMs };
}

/** Arrivals per second after the first second (the opening burst left out). */
export function steadyRate(sorted: number[]): number {
  const from = sorted[0] + 1000;
  const rest = sorted.filter((t) => t > from);
  const spanMs = sorted[sorted.length - 1] - from;
  return spanMs > 0 ? (rest.length * 1000) / spanMs : 0;
}
