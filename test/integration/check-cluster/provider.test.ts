/**
 * `check --in-cluster --provider FILE`, end to end against the fake API
 * server: three shard pods call one HTTP verification provider whose config
 * allows 2 requests at once and 10 a second. The limits are held in Redis for
 * all shards together, so the provider (a local HTTP server, where this test
 * measures) never sees more than 2 requests at once nor more than rate +
 * burst starting within any second, although each shard alone would allow
 * that much. The credentials (a bearer token from the environment) reach the
 * shards in a Secret only, which is removed with the run. Results equal a
 * local run of the same input with the same provider file, byte for byte.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { numberedDomains, startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { requireRedisServer } from '../../support/redis-server.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import { runCheckInCluster } from '../../../plugin/lib/check-cluster/run.ts';
import { PROVIDER_SECRET } from '../../../src/check-cluster/provider-secret.ts';
import { baseIo, baseOptions, runCli, tempDir, ROOT } from '../check/helpers.ts';

const TOKEN = 'prov-7c1e0b-credential';
const CONCURRENCY = 2;
const RATE = 10;
/** The config's burst for 10/s (provider-config.ts: rate/10, at least 1). */
const BURST = 1;

interface ProviderServer {
  url: string;
  /** Start times (ms) of the requests, as the server saw them. */
  starts: number[];
  maxActive: number;
  unauthorised: number;
  /** Requests per address. */
  perAddress: Map<string, number>;
  close(): Promise<void>;
}

/** A verification API: bearer token required; "deliverable" unless the address's number is a multiple of 3; 40 ms per answer. */
async function startProvider(): Promise<ProviderServer> {
  let active = 0;
  const s = {
    starts: [] as number[],
    maxActive: 0,
    unauthorised: 0,
    perAddress: new Map<string, number>(),
  };
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      s.unauthorised++;
      res.writeHead(401).end();
      return;
    }
    active++;
    s.maxActive = Math.max(s.maxActive, active);
    s.starts.push(performance.now());
    const email = new URL(req.url ?? '/', 'http://x').searchParams.get('email') ?? '';
    s.perAddress.set(email, (s.perAddress.get(email) ?? 0) + 1);
    const n = Number(/(\d+)@/.exec(email)?.[1] ?? 0);
    setTimeout(() => {
      active--;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ result: { status: n % 3 === 0 ? 'undeliverable' : 'deliverable' } }));
    }, 40);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return Object.assign(s, {
    url: `http://127.0.0.1:${port}/verify?email={address}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/** Most request starts within any one second. */
function busiestSecond(starts: number[]): number {
  const t = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i] - t[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('check --in-cluster --provider: the provider limits hold across shards', function () {
  this.timeout(300_000);
  let kube: FakeKube;
  let dns: FakeDns;
  let provider: ProviderServer;
  let tmp: ReturnType<typeof tempDir>;
  before(async function () {
    requireRedisServer(this);
    const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    kube = await startFakeKube();
    dns = await startFakeDns(numberedDomains);
    provider = await startProvider();
    tmp = tempDir();
  });
  after(async () => {
    await kube?.close();
    await dns?.close();
    await provider?.close();
    tmp?.cleanup();
  });

  it("3 shards: at most the config's concurrency and rate at the provider, credentials only in a Secret (removed afterwards), same results as a local run", async () => {
    const input = join(tmp.dir, 'in.txt');
    // 60 addresses over 30 domains: 27 domains with MX (every tenth does not exist, so no provider call).
    writeFileSync(
      input,
      `${Array.from({ length: 60 }, (_, i) => `user${i}@d${(i % 30) + 1}.test`).join('\n')}\n`,
    );
    const file = join(tmp.dir, 'provider.yaml');
    writeFileSync(
      file,
      [
        `url: "${provider.url}"`,
        'headers:',
        '  Authorization: "Bearer ${env:VERIFY_TOKEN}"',
        'verdictPath: result.status',
        'map: { deliverable: valid, undeliverable: invalid }',
        `concurrency: ${CONCURRENCY}`,
        `rate: ${RATE}/s`,
        '',
      ].join('\n'),
    );
    const o = baseOptions({
      paths: [input],
      dnsServer: dns.server,
      dnsTimeoutMs: 5000,
      provider: file,
      concurrency: 12,
    });
    const env = { VERIFY_TOKEN: TOKEN };
    const localOut = join(tmp.dir, 'local.jsonl');
    await runCheckCommand({ ...o, out: localOut }, baseIo({ env }));
    const localCalls = provider.starts.length;
    assert.ok(localCalls >= 50, `the local run called the provider (${localCalls})`);
    assert.ok(provider.maxActive <= CONCURRENCY, 'the local run respects the limit');
    provider.starts.length = 0;
    provider.perAddress.clear();
    provider.maxActive = 0;

    kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-checks' } });
    const clusterOut = join(tmp.dir, 'cluster.jsonl');
    const seen: string[] = [];
    await runCheckInCluster({ ...o, out: clusterOut }, baseIo({ env }), {
      shards: 3,
      kube: { kubeconfig: kube.kubeconfigPath, namespace: 'team-checks' },
      onRunning: ({ namespace }) => {
        assert.equal(namespace, 'team-checks');
        const secret = kube.get('secrets', namespace, PROVIDER_SECRET);
        assert.ok(secret, 'the provider Secret exists while the run goes on');
        assert.equal((secret as { immutable?: boolean }).immutable, true);
        for (const kind of ['configmaps', 'jobs', 'deployments', 'pods'])
          for (const obj of kube.list(kind, namespace)) {
            seen.push(`${kind}/${obj.metadata.name}`);
            assert.ok(
              !JSON.stringify(obj).includes(TOKEN),
              `${kind}/${obj.metadata.name} holds the credential`,
            );
          }
      },
    });
    assert.ok(
      seen.some((s) => s.startsWith('jobs/')),
      `looked at the run's objects: ${seen.join(', ')}`,
    );
    assert.equal(provider.unauthorised, 0, 'every shard sent the credential');
    assert.equal(provider.starts.length, localCalls, 'as many provider calls as locally');
    assert.ok(
      [...provider.perAddress.values()].every((n) => n === 1),
      'each address verified once',
    );
    assert.ok(
      provider.maxActive <= CONCURRENCY,
      `at most ${CONCURRENCY} requests at once across 3 shards (saw ${provider.maxActive})`,
    );
    // Arrival jitter at the server can put one start early into a window: rate + burst + 1 at most.
    const busiest = busiestSecond(provider.starts);
    assert.ok(
      busiest <= RATE + BURST + 1,
      `at most ${RATE}/s + burst ${BURST} across 3 shards (busiest second: ${busiest})`,
    );
    assert.equal(readFileSync(clusterOut, 'utf8'), readFileSync(localOut, 'utf8'));
    // Removed with the run; the namespace (not ours) stays.
    assert.equal(kube.get('secrets', 'team-checks', PROVIDER_SECRET), undefined);
    assert.equal(kube.list('secrets', 'team-checks').length, 0, 'no Secret of the run left');
    assert.equal(kube.list('jobs', 'team-checks').length, 0);
    assert.ok(kube.get('namespaces', undefined, 'team-checks'));
  });

  it('through the CLI: the credential comes from the environment, the output equals the local run', async () => {
    const input = join(tmp.dir, 'in.txt');
    const file = join(tmp.dir, 'provider.yaml');
    const localOut = join(tmp.dir, 'local.jsonl');
    const out = join(tmp.dir, 'cli.jsonl');
    provider.unauthorised = 0;
    const r = await runCli(
      [
        'check',
        input,
        '--in-cluster',
        '--shards',
        '2',
        '--provider',
        file,
        '--dns-server',
        dns.server,
        '--dns-timeout',
        '5s',
        '--dns-tries',
        '1',
        '--concurrency',
        '8',
        '--domain-rate',
        '1000/s',
        '--mx-rate',
        '1000/s',
        '--out',
        out,
        '--kubeconfig',
        kube.kubeconfigPath,
      ],
      { env: { VERIFY_TOKEN: TOKEN } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(provider.unauthorised, 0);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(localOut, 'utf8'));
    const missing = await runCli(
      ['check', input, '--in-cluster', '--provider', file, '--kubeconfig', kube.kubeconfigPath],
      {},
    );
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /EV_ERR_PROVIDER_CONFIG/);
  });
});
