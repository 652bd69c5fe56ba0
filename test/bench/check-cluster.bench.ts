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
 *   2. DNS: 100,000 addresses over 20,000 domains through 3 shards: look-ups
 *      per second as counted by the fake DNS server.
 *   3. --rate 200/s over 3 shards for 30 s, measured at the fake DNS server:
 *      achieved rate and the busiest one-second window.
 *
 *   npm run bench:check-cluster [-- LINES [ROUNDS [PARTS]]]
 *     ROUNDS 0: only the DNS and rate parts; PARTS: a comma list of offline,dns,rate (default all)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The fake DNS server in its own process (see dns-process.ts). */
async function dnsProcess(
  prefix: string,
): Promise<{ server: string; report(): Promise<{ lookups: number; seen: number[] }> }> {
  const child = spawn(NODE, [join(ROOT, 'test/bench/dns-process.ts'), prefix], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buf = '';
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  const line = async (): Promise<string> => {
    while (lines.length === 0)
      await new Promise<void>((r) => {
        wake = r;
      });
    return lines.shift()!;
  };
  const port = Number(await line());
  return {
    server: `127.0.0.1:${port}`,
    async report() {
      child.stdin.write('report\n');
      return JSON.parse(await line()) as { lookups: number; seen: number[] };
    },
  };
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

  // DNS look-ups across shards, counted where they land (a DNS server in its own process).
  const dnsLines = 100_000;
  const domains = 20_000;
  if (parts.has('dns')) {
    const dns = await dnsProcess('z');
    const din = join(dir, 'dns.txt');
    writeFileSync(
      din,
      `${Array.from({ length: dnsLines }, (_, i) => `u${i}@z${i % domains}.example`).join('\n')}\n`,
    );
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
    const { lookups, seen } = await dns.report();
    const span = seen.length > 1 ? Math.max(...seen) - Math.min(...seen) : ms;
    process.stdout.write(
      `DNS: ${dnsLines.toLocaleString('en')} addresses over ${domains.toLocaleString('en')} domains, 3 shards, --concurrency 600: ${lookups.toLocaleString('en')} look-ups at the fake DNS server (own process); MX look-ups of the domains ${seen.length.toLocaleString('en')} in ${(span / 1000).toFixed(2)} s = ${rate(lookups, span)} overall (whole run ${(ms / 1000).toFixed(2)} s, ${rate(dnsLines, ms)} addresses)\n`,
    );
  }

  // The global rate across shards, measured at the DNS server (its own process).
  if (parts.has('rate')) {
    const limit = 200;
    const burst = 20;
    const seconds = 30;
    const rdns = await dnsProcess('r');
    const n = limit * seconds;
    const rin = join(dir, 'rate.txt');
    writeFileSync(
      rin,
      `${Array.from({ length: n }, (_, i) => `u${i}@r${i}.example`).join('\n')}\n`,
    );
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
    const mx = (await rdns.report()).seen.sort((a, b) => a - b);
    const span = (mx[mx.length - 1] - mx[0]) / 1000;
    let busiest = 0;
    let busiestAt = 0;
    for (let a = 0, b = 0; a < mx.length; a++) {
      while (b < mx.length && mx[b] - mx[a] < 1000) b++;
      if (b - a > busiest) {
        busiest = b - a;
        busiestAt = (mx[a] - mx[0]) / 1000;
      }
    }
    const achieved = (mx.length - burst) / span;
    process.stdout.write(
      `--rate ${limit}/s (burst ${burst}) over 3 shards, ${n.toLocaleString('en')} domains (${span.toFixed(1)} s): achieved ${achieved.toFixed(1)}/s at the DNS server (${((achieved / limit - 1) * 100).toFixed(2)}% off), busiest 1-s window ${busiest} at +${busiestAt.toFixed(1)} s (rate + burst = ${limit + burst})\n`,
    );
  }
} finally {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
}
