/**
 * check --in-cluster throughput against the fake API server (pods are local
 * processes, so this measures the protocol and the tunnel, not a cluster):
 * offline checks of the same list locally (baseline, same run) and with 1 and
 * 3 shards. Prints figures; asserts nothing.
 *
 *   node test/bench/check-cluster.bench.ts [LINES]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { runCheckCommand } from '../../plugin/lib/check/run.ts';
import { runCheckInCluster } from '../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, ROOT } from '../integration/check/helpers.ts';

const lines = Number(process.argv[2] ?? 200_000);
const built = spawnSync(process.execPath, [join(ROOT, 'plugin/lib/check-cluster/build-bundle.ts')], { encoding: 'utf8' });
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
} finally {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
}
