/**
 * check --in-cluster against the fake API server (pods are local processes
 * sharing this machine's CPUs with the CLI and Redis, so this measures the
 * protocol, the tunnel and Redis, not a cluster). Prints figures; asserts
 * nothing.
 *
 *   1. LINES addresses --offline: the local CLI (baseline) and through 3
 *      shards, alternating, each as its own process: throughput of the whole
 *      pipeline, the CLI-to-cluster hop (from "shards started" to the end),
 *      peak memory (VmHWM) of the CLI and of redis-server.
 *   2. DNS: 100,000 addresses over 20,000 domains, a local check (baseline)
 *      then 3 shards, each against a fresh fake DNS server in its own
 *      process: look-ups per second as counted there, dns_timeout verdicts
 *      (0 unless the server or the machine lost queries), output identical.
 *   3. --rate 200/s --burst 20 for 30 s, a local check (baseline) then 3
 *      shards, measured at the fake DNS server: achieved rate and the
 *      busiest one-second window (first arrival per domain).
 *
 *   npm run bench:check-cluster [-- LINES [ROUNDS [PARTS]]]
 *     ROUNDS 0: only the DNS and rate parts (run once); PARTS: a comma list of offline,dns,rate (default all)
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  busiestSecond,
  firstArrivals,
  startDnsProcess,
  steadyRate,
  type DnsReport,
} from '../support/dns-process-client.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { redisPidsOn } from '../support/redis-server.ts';
import { canRunRedis } from '../support/fake-kube/container-command.ts';
import { runCheckInCluster } from '../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, ROOT, NODE, CLI } from '../integration/check/helpers.ts';

if (!canRunRedis()) {
  process.stderr.write('bench:check-cluster needs redis-server (apt-get install redis-server)\n');
  process.exit(2);
}
const lines = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 1);
const parts = new Set((process.argv[4] ?? 'offline,dns,rate').split(','));
const built = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
  encoding: 'utf8',
});
if (built.status !== 0) throw new Error(built.stderr);
const dir = mkdtempSync(join(tmpdir(), 'ev-bench-cc-'));
const home = join(dir, 'home');
const input = join(dir, 'list.txt');
writeFileSync(
  input,
  `${Array.from({ length: lines }, (_, i) => `user${i}@domain${i % 5000}.example`).join('\n')}\n`,
);
const kube = await startFakeKube();

/** Peak resident memory of a live process (VmHWM), in MB, or 0. */
function peakMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

interface Run {
  ms: number;
  hopMs: number;
  cliMb: number;
  redisMb: number;
}

/** One CLI process; samples its peak memory and, in the cluster, redis-server's. */
async function cli(args: string[]): Promise<Run> {
  const t = performance.now();
  let hopStart = t;
  let cliMb = 0;
  let redisMb = 0;
  let redisPid = 0;
  const child = spawn(NODE, [CLI, 'check', ...args], {
    env: { ...process.env, HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (hopStart === t && /shards started/.test(stderr)) hopStart = performance.now();
  });
  const sampler = setInterval(() => {
    cliMb = Math.max(cliMb, peakMb(child.pid ?? 0));
    if (redisPid === 0) {
      const ip = kube
        .list('pods')
        .filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'redis')
        .map((p) => (p as unknown as { status?: { podIP?: string } }).status?.podIP)
        .find(Boolean);
      if (ip) redisPid = redisPidsOn(ip)[0] ?? 0;
    }
    if (redisPid) redisMb = Math.max(redisMb, peakMb(redisPid));
  }, 100);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`check ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  const end = performance.now();
  return { ms: end - t, hopMs: end - hopStart, cliMb, redisMb };
}

const rate = (n: number, ms: number): string =>
  `${Math.round(n / (ms / 1000))
    .toLocaleString('en')
    .padStart(9)}/s`;
try {
  process.stdout.write(
    `check --offline, ${lines.toLocaleString('en')} distinct addresses, ${rounds} round(s), local and --in-cluster alternating\n`,
  );
  for (let r = 0; r < (parts.has('offline') ? rounds : 0); r++) {
    const local = await cli(['--offline', '--out', join(dir, 'local.jsonl'), input]);
    const cluster = await cli([
      '--offline',
      '--in-cluster',
      '--shards',
      '3',
      '--kubeconfig',
      kube.kubeconfigPath,
      '--out',
      join(dir, 'cluster.jsonl'),
      input,
    ]);
    const same = readFileSync(join(dir, 'local.jsonl')).equals(
      readFileSync(join(dir, 'cluster.jsonl')),
    );
    process.stdout.write(
      `  local (baseline)        ${(local.ms / 1000).toFixed(2).padStart(7)} s ${rate(lines, local.ms)}   CLI peak ${local.cliMb.toFixed(0)} MB\n`,
    );
    process.stdout.write(
      `  --in-cluster --shards 3 ${(cluster.ms / 1000).toFixed(2).padStart(7)} s ${rate(lines, cluster.ms)}   x${(local.ms / cluster.ms).toFixed(2)} of local; CLI peak ${cluster.cliMb.toFixed(0)} MB, redis-server peak ${cluster.redisMb.toFixed(0)} MB; output identical: ${same}\n`,
    );
    process.stdout.write(
      `  CLI-to-cluster hop      ${(cluster.hopMs / 1000).toFixed(2).padStart(7)} s ${rate(lines, cluster.hopMs)}   (from "shards started" to the last result written)\n`,
    );
  }

  // DNS look-ups across shards, counted where they land (a DNS server in its own process), and
  // the same input through a local check (one process, the same DNS server in its own process).
  const dnsLines = 100_000;
  const domains = 20_000;
  if (parts.has('dns')) {
    const din = join(dir, 'dns.txt');
    writeFileSync(
      din,
      `${Array.from({ length: dnsLines }, (_, i) => `u${i}@z${i % domains}.example`).join('\n')}\n`,
    );
    /** Look-ups per second over the span of the MX queries, and how the results came out. */
    const dnsFigures = async (
      dns: { report(): Promise<DnsReport> },
      out: string,
      ms: number,
    ): Promise<string> => {
      const { lookups, seen, drops, buffer } = await dns.report();
      const span = seen.length > 1 ? Math.max(...seen) - Math.min(...seen) : ms;
      const text = readFileSync(out, 'utf8');
      const timeouts = text.split('dns_timeout').length - 1;
      return `${lookups.toLocaleString('en')} look-ups, MX of ${seen.length.toLocaleString('en')} domains in ${(span / 1000).toFixed(2)} s = ${rate(lookups, span)}; whole run ${(ms / 1000).toFixed(2)} s (${rate(dnsLines, ms)} addresses); ${timeouts} dns_timeout verdicts; server socket drops ${drops} (receive buffer ${(buffer / 1048576).toFixed(0)} MB)`;
    };
    for (let r = 0; r < Math.max(1, rounds); r++) {
      const ldns = await startDnsProcess('z');
      const local = await cli([
        '--dns-server',
        ldns.server,
        '--dns-timeout',
        '5s',
        '--dns-tries',
        '1',
        '--concurrency',
        '600',
        '--out',
        join(dir, 'dns-local.jsonl'),
        din,
      ]);
      const localLine = await dnsFigures(ldns, join(dir, 'dns-local.jsonl'), local.ms);
      const dns = await startDnsProcess('z');
      const o = baseOptions({
        paths: [din],
        dnsServer: dns.server,
        dnsTimeoutMs: 5000,
        dnsTries: 1,
        concurrency: 600,
      });
      const t = performance.now();
      await runCheckInCluster({ ...o, out: join(dir, 'dns.jsonl') }, baseIo(), {
        shards: 3,
        kube: { kubeconfig: kube.kubeconfigPath },
      });
      const ms = performance.now() - t;
      const clusterLine = await dnsFigures(dns, join(dir, 'dns.jsonl'), ms);
      const same = readFileSync(join(dir, 'dns-local.jsonl')).equals(
        readFileSync(join(dir, 'dns.jsonl')),
      );
      process.stdout.write(
        `DNS: ${dnsLines.toLocaleString('en')} addresses over ${domains.toLocaleString('en')} domains, --concurrency 600, fake DNS server in its own process (load average ${loadavg()[0].toFixed(1)})\n` +
          `  local check (baseline)  ${localLine}\n` +
          `  --in-cluster --shards 3 ${clusterLine}; output identical to local: ${same}\n`,
      );
    }
  }

  // The global rate across shards, measured at the DNS server (its own process), and the
  // same input through a local check (its in-process token bucket) as the baseline.
  if (parts.has('rate')) {
    const limit = 200;
    const burst = 20;
    const seconds = 30;
    const n = limit * seconds;
    const rin = join(dir, 'rate.txt');
    writeFileSync(
      rin,
      `${Array.from({ length: n }, (_, i) => `u${i}@r${i}.example`).join('\n')}\n`,
    );
    const figures = (r: DnsReport): string => {
      const { times, repeats } = firstArrivals(r);
      const achieved = steadyRate(times);
      const busiest = busiestSecond(times);
      return `achieved ${achieved.toFixed(1)}/s after the first second (${((achieved / limit - 1) * 100).toFixed(2)}% off), busiest 1-s window ${busiest.count} at +${(busiest.atMs / 1000).toFixed(1)} s${busiest.count > limit + burst ? ' (ABOVE rate + burst)' : ''}; ${times.length.toLocaleString('en')} domains over ${((times[times.length - 1] - times[0]) / 1000).toFixed(1)} s, ${repeats} repeated queries`;
    };
    const load = loadavg()[0];
    const ldns = await startDnsProcess('r');
    await cli([
      '--dns-server',
      ldns.server,
      '--dns-timeout',
      '5s',
      '--dns-tries',
      '1',
      '--concurrency',
      '60',
      '--rate',
      `${limit}/s`,
      '--burst',
      String(burst),
      '--out',
      join(dir, 'rate-local.jsonl'),
      rin,
    ]);
    const localLine = figures(await ldns.report());
    const rdns = await startDnsProcess('r');
    const ro = baseOptions({
      paths: [rin],
      dnsServer: rdns.server,
      dnsTimeoutMs: 5000,
      dnsTries: 1,
      concurrency: 60,
      rate: limit,
      burst,
    });
    await runCheckInCluster({ ...ro, out: join(dir, 'rate.jsonl') }, baseIo(), {
      shards: 3,
      kube: { kubeconfig: kube.kubeconfigPath },
    });
    const clusterLine = figures(await rdns.report());
    process.stdout.write(
      `--rate ${limit}/s --burst ${burst}, ${n.toLocaleString('en')} domains, at the fake DNS server (own process; rate + burst = ${limit + burst}; load average ${load.toFixed(1)})\n` +
        `  local check (baseline)  ${localLine}\n` +
        `  --in-cluster --shards 3 ${clusterLine}\n`,
    );
  }
} finally {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
}
