/**
 * The global --rate across shards, measured where it matters: at the fake
 * DNS server (one MX query per address, every domain distinct). The token
 * bucket lives in Redis, so three shards together start no more checks than
 * the rate allows: the queries cannot arrive faster than
 * burst + rate x time. The assertion is the direction a loaded machine cannot
 * break (a slow machine only spreads the queries out): the span from the first
 * to the last query is at least what the bucket allows, less a second for the
 * first query's own delay. A bucket per shard (three times the rate) fails it.
 * The benchmark (npm run bench:check-cluster) prints the accuracy figures.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckInCluster } from '../../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, tempDir, ROOT } from '../check/helpers.ts';
import { requireRedisServer } from '../../support/redis-server.ts';

/** Slack for the delay of the first query alone (the rest can only make the span longer). */
const FIRST_QUERY_SLACK_MS = 1_000;

describe('check --in-cluster --rate: one token bucket in Redis for all shards', function () {
  this.timeout(180_000);
  let kube: FakeKube;
  let dns: FakeDns;
  let tmp: ReturnType<typeof tempDir>;
  const seen: number[] = [];
  before(async function () {
    requireRedisServer(this);
    const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    kube = await startFakeKube();
    dns = await startFakeDns((name) => {
      if (/^r\d+\.test$/.test(name)) {
        seen.push(performance.now());
        return { mx: [{ priority: 10, exchange: `mx.${name}` }] };
      }
      return name.startsWith('mx.') ? { a: ['192.0.2.1'] } : undefined;
    });
    tmp = tempDir();
  });
  after(async () => {
    await kube?.close();
    await dns?.close();
    tmp?.cleanup();
  });

  it('3 shards at --rate 25/s --burst 5: the DNS server sees the queries no faster than the bucket allows; every address checked once', async () => {
    const rate = 25;
    const burst = 5;
    const n = 150;
    const input = join(tmp.dir, 'in.txt');
    writeFileSync(input, `${Array.from({ length: n }, (_, i) => `u${i}@r${i}.test`).join('\n')}\n`);
    const out = join(tmp.dir, 'out.jsonl');
    await runCheckInCluster(
      {
        ...baseOptions({
          paths: [input],
          dnsServer: dns.server,
          dnsTimeoutMs: 5000,
          dnsTries: 1,
          concurrency: 30,
          rate,
          burst,
        }),
        out,
      },
      baseIo(),
      { shards: 3, kube: { kubeconfig: kube.kubeconfigPath } },
    );
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, n, 'one result per address');
    assert.equal(seen.length, n, 'one MX query per address (each domain once)');
    seen.sort((a, b) => a - b);
    const spanMs = seen[seen.length - 1] - seen[0];
    // Tokens: `burst` at once, then one every 1000/rate ms, whoever asks.
    const leastMs = ((n - burst) * 1000) / rate - FIRST_QUERY_SLACK_MS;
    assert.ok(
      spanMs >= leastMs,
      `${n} queries within ${Math.round(spanMs)} ms: faster than ${rate}/s with a burst of ${burst} (at least ${Math.round(leastMs)} ms)`,
    );
  });
});
