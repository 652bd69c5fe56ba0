/**
 * `check --in-cluster` on an IPv6-only cluster (issue 8, defect 3): Redis
 * listens on every address (`--bind * -::*`), so its probe passes on the
 * pod's IPv6 address, and shards reach it through its Service name (fake in
 * IPv6 mode).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import { runCheckInCluster } from '../../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, tempDir, ROOT } from '../check/helpers.ts';
import { requireRedisServer } from '../../support/redis-server.ts';

describe('check --in-cluster on an IPv6-only cluster (fake in IPv6 mode)', function () {
  this.timeout(120_000);
  let kube: FakeKube;
  let tmp: ReturnType<typeof tempDir>;
  before(async function () {
    requireRedisServer(this);
    const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    kube = await startFakeKube({ ipFamily: 'IPv6' });
    tmp = tempDir();
  });
  after(async () => {
    await kube?.close();
    tmp?.cleanup();
  });

  it('--offline --shards 2: the same results as a local check', async () => {
    const input = join(tmp.dir, 'list.txt');
    writeFileSync(
      input,
      Array.from({ length: 500 }, (_, i) =>
        i % 37 === 3 ? 'not an address' : `user${i}@d${i % 7}.example`,
      ).join('\n'),
    );
    const o = baseOptions({ paths: [input], offline: true });
    const localOut = join(tmp.dir, 'local.jsonl');
    await runCheckCommand({ ...o, out: localOut }, baseIo());
    const clusterOut = join(tmp.dir, 'cluster.jsonl');
    await runCheckInCluster({ ...o, out: clusterOut }, baseIo(), {
      shards: 2,
      kube: { kubeconfig: kube.kubeconfigPath },
      leaseTtlMs: 2000,
    });
    assert.equal(readFileSync(clusterOut, 'utf8'), readFileSync(localOut, 'utf8'));
  });
});
