import { writeFileSync, readFileSync, statSync } from 'node:fs';
import { startFakeKube } from './support/fake-kube/index.ts';
import { runCheckCommand } from '../plugin/lib/check/run.ts';
import { runCheckInCluster } from '../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions } from './integration/check/helpers.ts';
const kube = await startFakeKube();
const t = performance.now();
const iv = setInterval(() => { let s = 0; try { s = statSync('/tmp/smoke-cluster.jsonl').size; } catch {} console.error(((performance.now()-t)/1000).toFixed(1), 'out', s, 'forwards', kube.portForwardsOpened); }, 2000);
try {
  const lines = Array.from({ length: 20000 }, (_, i) => i % 7 === 0 ? `user${i - 1}@d${i % 50}.example` : `user${i}@d${i % 50}.example`);
  writeFileSync('/tmp/smoke-in.txt', lines.join('\n') + '\n');
  const o = baseOptions({ paths: ['/tmp/smoke-in.txt'], offline: true });
  await runCheckCommand({ ...o, out: '/tmp/smoke-local.jsonl' }, baseIo());
  kube.faults.dropPortForwardsAfterBytes(64 * 1024);
  await runCheckInCluster({ ...o, out: '/tmp/smoke-cluster.jsonl' }, baseIo(), { shards: 3, kube: { kubeconfig: kube.kubeconfigPath }, onStatus: (l) => console.error(((performance.now()-t)/1000).toFixed(2), l) });
  console.error('same:', readFileSync('/tmp/smoke-local.jsonl', 'utf8') === readFileSync('/tmp/smoke-cluster.jsonl', 'utf8'));
} finally { clearInterval(iv); await kube.close(); }
