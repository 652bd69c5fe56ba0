/**
 * The global --rate across shards, measured where it matters: at the fake
 * DNS server, in its own process (one MX query per address, every domain
 * distinct). The token bucket lives in Redis, so three shards together start
 * no more checks than the rate allows:
 *   - no one-second window at the server holds more than rate + burst
 *     queries (a grant read late by a stalled shard is dropped and asked for
 *     again, see grantSlack, instead of crowding into the next second);
 *   - the span from the first to the last query is at least what the bucket
 *     allows, less a second for the first query's own delay (the direction a
 *     loaded machine cannot break: it only spreads the queries out).
 * A bucket per shard (three times the rate) fails both. The benchmark (npm run
 * bench:check-cluster) prints the accuracy figures.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import {
  busiestSecond,
  firstArrivals,
  startDnsProcess,
  type DnsProcess,
} from '../../support/dns-process-client.ts';
import { runCheckInCluster } from '../../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, tempDir, ROOT } from '../check/helpers.ts';
import { requireRedisServer } from '../../support/redis-server.ts';

/** Slack for the delay of the first query alone (the rest can only make the span longer). */
const FIRST_QUERY_SLACK_MS = 1_000;

describe('check --in-cluster --rate: one token bucket in Redis for all shards', function () {
  this.timeout(180_000);
  let kube: FakeKube;
  let dns: DnsProcess;
  let tmp: ReturnType<typeof tempDir>;
  before(async function () {
    requireRedisServer(this);
    const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    kube = await startFakeKube();
    dns = await startDnsProcess('r');
    tmp = tempDir();
  });
  after(async () => {
    await kube?.close();
    dns?.kill();
    tmp?.cleanup();
  });

  it('3 shards at --rate 20/s --burst 10: no second at the DNS server above rate + burst, no faster than the bucket allows; every address checked once', async () => {
    const rate = 20;
    const burst = 10;
    const n = 150;
    const input = join(tmp.dir, 'in.txt');
    writeFileSync(
      input,
      `${Array.from({ length: n }, (_, i) => `u${i}@r${i}.example`).join('\n')}\n`,
    );
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
    const { times } = firstArrivals(await dns.report());
    assert.equal(times.length, n, 'an MX query for every domain');
    const busiest = busiestSecond(times);
    assert.ok(
      busiest.count <= rate + burst,
      `${busiest.count} queries in one second at the DNS server (${Math.round(busiest.atMs)} ms in): more than rate + burst = ${rate + burst}`,
    );
    const spanMs = times[times.length - 1] - times[0];
    // Tokens: `burst` at once, then one every 1000/rate ms, whoever asks.
    const leastMs = ((n - burst) * 1000) / rate - FIRST_QUERY_SLACK_MS;
    assert.ok(
      spanMs >= leastMs,
      `${n} queries within ${Math.round(spanMs)} ms: faster than ${rate}/s with a burst of ${burst} (at least ${Math.round(leastMs)} ms)`,
    );
  });
});
