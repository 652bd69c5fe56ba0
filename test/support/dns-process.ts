/**
 * A fake DNS server in its own process (started by dns-process-client.ts for
 * the check-cluster benchmark and the rate test), so that what it counts
 * (look-ups per second, arrival times for the rate checks) is not delayed by
 * the fake API server and the tunnel in the caller's process. Prints
 * `PORT` on start; answers `report` on stdin with the arrival times (ms) of
 * the queries for names matching its pattern, then exits.
 *
 *   node test/support/dns-process.ts PREFIX   (zones PREFIX<n>.example -> MX mx.PREFIX<n>.example)
 */
import { readFileSync } from 'node:fs';
import { startFakeDns } from './fake-dns.ts';

const prefix = process.argv[2] ?? 'z';
const pattern = new RegExp(`^${prefix}\\d+\\.example$`);
const seen: number[] = [];
const names: string[] = [];
let lookups = 0;
/** Receive buffer asked for: thousands of queries, so a descheduled moment of this process loses none (Linux caps it at net.core.rmem_max). */
const RECV_BUFFER = 8 * 1024 * 1024;
const dns = await startFakeDns(
  (name) => {
    lookups++;
    if (pattern.test(name)) {
      seen.push(performance.timeOrigin + performance.now());
      names.push(name);
      return { mx: [{ priority: 10, exchange: `mx.${name}` }] };
    }
    return name.startsWith('mx.') ? { a: ['192.0.2.1'] } : undefined;
  },
  { recvBufferSize: RECV_BUFFER },
);

/** Queries the kernel dropped because this socket's receive buffer was full (Linux: /proc/net/udp), or -1. */
function drops(): number {
  try {
    const port = `:${dns.port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(port)) return Number(f[f.length - 1]);
    }
  } catch {
    /* not Linux */
  }
  return -1;
}
process.stdout.write(`${dns.port}\n`);
// The caller gone (its end of the pipe closed): so are we, never an orphan.
process.stdin.on('end', () => process.exit(0));
process.stdin.setEncoding('utf8').on('data', (d: string) => {
  if (!d.includes('report')) return;
  process.stdout.write(
    `${JSON.stringify({ lookups, seen, names, drops: drops(), buffer: dns.recvBufferSize() })}\n`,
    () => {
      void dns.close().then(() => process.exit(0));
    },
  );
});
