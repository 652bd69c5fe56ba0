/**
 * check --in-cluster throughput against the fake API server (pods are local
 * processes, so this measures the protocol and the tunnel, not a cluster):
 * offline checks of the same list locally (baseline, same run) and with 1 and
 * 3 shards; then the global --rate over 3 shards as seen by a fake DNS
 * server. Prints figures; asserts nothing.
 *
 *   node test/bench/check-cluster.bench.ts [LINES]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { startFakeDns } from '../support/fake-dns.ts';
import { runCheckCommand } from '../../plugin/lib/check/run-check-command.ts';
import { runCheckInCluster } from '../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, ROOT } from '../integration/check/helpers.ts';

const lines = Number(process.argv[2] ?? 200_000);
const built = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], { encoding: 'utf8' });
if (built.status !== 0) throw new Error(built.stderr);
const dir = mkdtempSync(join(tmpdir(), 'ev-bench-cc-'));
const input = join(dir, 'list.txt');
writeFileSync(input, `${Array.from({ length: lines }, (_, i) => `user${i}@domain${i % 5000}.example`).join('\n')}\n`);
const kube = await startFakeKube();
try {
  const o = baseOptions({ paths: [input], offline: true });
  const t0 = performance.now();
  await runCheckCommand({ ...o, out: join(dir, 'local.jsonl') }, baseIo());
  const local = performance.now() - t0;
  const row = (name: string, ms: number): void => {
    process.stdout.write(`${name.padEnd(28)} ${(ms / 1000).toFixed(2).padStart(7)} s ${Math.round(lines / (ms / 1000)).toLocaleString('en').padStart(10)} addresses/s  x${(local / ms).toFixed(2)} of local\n`);
  };
  process.stdout.write(`check --offline, ${lines.toLocaleString('en')} distinct addresses\n`);
  row('local (baseline)', local);
  for (const shards of [1, 3]) {
    const status: string[] = [];
    const t = performance.now();
    await runCheckInCluster({ ...o, out: join(dir, `cluster-${shards}.jsonl`) }, baseIo(), { shards, kube: { kubeconfig: kube.kubeconfigPath }, onStatus: (l) => status.push(`${((performance.now() - t) / 1000).toFixed(2)}s ${l}`) });
    row(`--in-cluster --shards ${shards} (all)`, performance.now() - t);
    const ready = status.find((l) => l.includes('shards started'));
    if (ready) process.stdout.write(`  set-up until shards started: ${ready.split(' ')[0]}\n`);
  }
  // Global rate across shards, measured where it matters: at the DNS server.
  const rate = 50;
  const burst = 5;
  const domains = 400;
  const seen: number[] = [];
  const dns = await startFakeDns((name) => {
    if (/^r\d+\.example$/.test(name)) { seen.push(performance.now()); return { mx: [{ priority: 10, exchange: `mx.${name}` }] }; }
    return name.startsWith('mx.') ? { a: ['192.0.2.1'] } : undefined;
  });
  try {
    const rin = join(dir, 'rate.txt');
    writeFileSync(rin, `${Array.from({ length: domains }, (_, i) => `u${i}@r${i}.example`).join('\n')}\n`);
    const ro = baseOptions({ paths: [rin], dnsServer: dns.server, dnsTimeoutMs: 5000, dnsTries: 1, concurrency: 30, rate, burst });
    await runCheckInCluster({ ...ro, out: join(dir, 'rate.jsonl') }, baseIo(), { shards: 3, kube: { kubeconfig: kube.kubeconfigPath } });
    const mx = seen.slice(0, domains).sort((a, b) => a - b);
    const span = (mx[mx.length - 1] - mx[0]) / 1000;
    let busiest = 0;
    for (let a = 0, b = 0; a < mx.length; a++) {
      while (b < mx.length && mx[b] - mx[a] < 1000) b++;
      busiest = Math.max(busiest, b - a);
    }
    process.stdout.write(`--rate ${rate}/s (burst ${burst}) over 3 shards, ${domains} domains: achieved ${((mx.length - burst) / span).toFixed(1)}/s at the DNS server, busiest 1-s window ${busiest} (rate + burst = ${rate + burst})\n`);
  } finally {
    await dns.close();
  }
} finally {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
}
