/**
 * `check --in-cluster` end to end against the fake API server: Redis runs as
 * a pod (the fake kubelet runs `redis:*` with Debian's redis-server), the
 * real checker bundle as an Indexed Job of shard pods; input and results
 * stream through a port-forward tunnel. Every run's output must equal a local
 * `check` of the same input byte for byte, with every address written once,
 * whatever dies meanwhile: a shard pod, the Redis container, the Redis pod,
 * the tunnel, the CLI (kill -9, then --attach). Nothing is left afterwards.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_CONFIGMAP_BYTES } from '../../../src/bundle-shipping.ts';
import { isEmailValidateError } from '../../../src/errors.ts';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { startFakeDns, type FakeDns, type ZoneEntry } from '../../support/fake-dns.ts';
import { redisPidsOn, requireRedisServer } from '../../support/redis-server.ts';
import { runCheckCommand, type CheckOptions } from '../../../plugin/lib/check/run-check-command.ts';
import {
  runCheckInCluster,
  type ClusterCheckOptions,
} from '../../../plugin/lib/check-cluster/run.ts';
import { REDIS_SELECTOR, SHARD_SELECTOR } from '../../../src/check-cluster/manifests.ts';
import type { KubeClient } from '../../../plugin/lib/kube/adapter.ts';
import {
  baseIo,
  baseOptions,
  runCli,
  tempDir,
  waitFor,
  ROOT,
  NODE,
  CLI,
} from '../check/helpers.ts';
import { startDnsHold, type DnsHold } from './dns-hold.ts';

function buildBundle(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
}

/** A list with duplicates (also after normalisation), invalid syntax, role and disposable addresses, blank lines. */
export function addressList(n: number, domains: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = `d${i % domains}.example`;
    if (i % 97 === 5) lines.push('not an address');
    else if (i % 50 === 7) lines.push(`USER${i - 1}@D${(i - 1) % domains}.EXAMPLE`);
    else if (i % 31 === 3) lines.push(`admin@${d}`);
    else if (i % 41 === 9) lines.push(`x${i}@mailinator.com`);
    else lines.push(`user${i}@${d}`);
    if (i % 13 === 0) lines.push(`user${i}@${d}`);
    if (i % 211 === 0) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function indexes(jsonl: string): number[] {
  return jsonl
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { index: number }).index);
}

describe('check --in-cluster (fake API server, Redis)', function () {
  this.timeout(180_000);
  let kube: FakeKube;
  let tmp: ReturnType<typeof tempDir>;

  before(async function () {
    requireRedisServer(this);
    buildBundle();
    kube = await startFakeKube();
    tmp = tempDir();
  });
  after(async () => {
    await kube?.close();
    tmp?.cleanup();
  });

  async function local(o: CheckOptions): Promise<string> {
    const out = join(tmp.dir, `local-${Math.random()}.jsonl`);
    await runCheckCommand({ ...o, out }, baseIo());
    return readFileSync(out, 'utf8');
  }

  async function inCluster(
    o: CheckOptions,
    c: Partial<ClusterCheckOptions> = {},
  ): Promise<{ out: string; status: string[]; namespace: string }> {
    const out = o.out ?? join(tmp.dir, `cluster-${Math.random()}.jsonl`);
    const status: string[] = [];
    let namespace = '';
    await runCheckInCluster({ ...o, out }, baseIo(), {
      shards: 3,
      kube: { kubeconfig: kube.kubeconfigPath },
      leaseTtlMs: 2000,
      redisUnreachableMs: 3000,
      onStatus: (l) => status.push(l),
      ...c,
      onRunning: (info) => {
        namespace = info.namespace;
        c.onRunning?.(info);
      },
    });
    return { out: readFileSync(out, 'utf8'), status, namespace };
  }

  function assertGone(namespace: string): void {
    assert.equal(kube.get('namespaces', undefined, namespace), undefined, 'namespace removed');
    assert.equal(
      kube.list('pods').filter((p) => p.metadata.namespace === namespace).length,
      0,
      'no pods left',
    );
  }

  it('--offline --shards 3, a list larger than a ConfigMap: same results as a local check, each address once, nothing left behind', async () => {
    const input = join(tmp.dir, 'offline.txt');
    writeFileSync(input, addressList(60_000, 500));
    assert.ok(
      statSync(input).size > MAX_CONFIGMAP_BYTES,
      'the list is larger than a ConfigMap can hold',
    );
    const o = baseOptions({ paths: [input], offline: true });
    const want = await local(o);
    const got = await inCluster(o);
    assert.equal(got.out.length, want.length);
    assert.equal(got.out, want);
    const idx = indexes(got.out);
    assert.equal(new Set(idx).size, idx.length);
    assert.ok(got.namespace.startsWith('email-validation-'));
    assertGone(got.namespace);
  });

  it('survives port-forward drops: re-sent commands repeat nothing and lose nothing', async () => {
    const input = join(tmp.dir, 'drops.txt');
    writeFileSync(input, addressList(20_000, 400));
    const o = baseOptions({ paths: [input], offline: true });
    const want = await local(o);
    const opened = kube.portForwardsOpened;
    kube.faults.dropPortForwardsAfterBytes(64 * 1024);
    try {
      const got = await inCluster(o);
      assert.equal(got.out, want);
    } finally {
      kube.faults.dropPortForwardsAfterBytes(undefined);
    }
    assert.ok(
      kube.portForwardsOpened - opened >= 4,
      `the tunnel was re-opened after drops (${kube.portForwardsOpened - opened} forwards)`,
    );
  });

  it("fails fast with the pod's reason when every shard crashes, and still cleans up", async () => {
    const input = join(tmp.dir, 'crash.txt');
    writeFileSync(input, 'a@example.com\n');
    const bundle = Buffer.from("console.error('shard: cannot start'); process.exit(1);\n");
    let namespace = '';
    await assert.rejects(
      runCheckInCluster(
        { ...baseOptions({ paths: [input], offline: true }), out: join(tmp.dir, 'crash.jsonl') },
        baseIo(),
        {
          shards: 2,
          kube: { kubeconfig: kube.kubeconfigPath },
          bundle,
          onRunning: (info) => {
            namespace = info.namespace;
          },
        },
      ),
      (err: unknown) =>
        isEmailValidateError(err) &&
        err.code === 'EV_ERR_CHECK_SHARDS_FAILED' &&
        /keeps crashing/.test(err.message),
    );
    assert.ok(namespace);
    assertGone(namespace);
  });

  it('the Redis container killed mid-run: it restarts from its append-only file and the run finishes as if nothing happened', async () => {
    const input = join(tmp.dir, 'redis-restart.txt');
    writeFileSync(input, addressList(200_000, 800));
    const out = join(tmp.dir, 'redis-restart.jsonl');
    const o = baseOptions({ paths: [input], offline: true });
    const want = await local(o);
    let killedAt = -1;
    let restarted: Promise<void> = Promise.resolve();
    const got = await inCluster(
      { ...o, out },
      {
        onRunning: ({ namespace, client }) => {
          restarted = (async () => {
            const [pod] = await client.listPods(namespace, REDIS_SELECTOR);
            const name = pod.metadata?.name ?? '';
            // Mid-run: results are being written.
            await waitFor(
              () => (statSync(out, { throwIfNoEntry: false })?.size ?? 0) > 0,
              60_000,
              'results written',
            );
            const pids = redisPidsOn(pod.status?.podIP ?? '');
            assert.equal(pids.length, 1, 'one redis-server serves the pod');
            killedAt = statSync(out).size;
            process.kill(pids[0], 'SIGKILL');
            await waitFor(
              () =>
                ((kube.get('pods', namespace, name) as any)?.status?.containerStatuses?.[0]
                  ?.restartCount ?? 0) >= 1,
              30_000,
              'the Redis container restarted',
            );
          })();
        },
      },
    );
    await restarted;
    assert.ok(
      killedAt >= 0 && killedAt < want.length,
      `killed mid-run (${killedAt} of ${want.length} bytes written)`,
    );
    assert.equal(got.out, want);
    assert.equal(
      got.status.some((l) => /came back empty/.test(l)),
      false,
      `nothing had to be re-sent, the AOF kept it: ${got.status.join(' | ')}`,
    );
    assertGone(got.namespace);
  });

  it('the Redis pod deleted mid-run: the CLI re-sends what has no result yet from its own record, says so, and loses nothing', async () => {
    const input = join(tmp.dir, 'redis-pod.txt');
    writeFileSync(input, addressList(150_000, 800));
    const o = baseOptions({ paths: [input], offline: true });
    const want = await local(o);
    let deleted = '';
    const got = await inCluster(o, {
      onRunning: ({ namespace, client }) => {
        void (async () => {
          await new Promise((r) => setTimeout(r, 300));
          const [pod] = await client.listPods(namespace, REDIS_SELECTOR);
          deleted = pod.metadata?.name ?? '';
          await client.core.deleteNamespacedPod({
            namespace,
            name: deleted,
            gracePeriodSeconds: 0,
          });
        })();
      },
    });
    assert.ok(deleted, 'the Redis pod was deleted');
    assert.equal(got.out, want);
    assert.ok(
      got.status.some((l) => /came back empty/.test(l)),
      `the CLI said it re-sent work: ${got.status.join(' | ')}`,
    );
    const idx = indexes(got.out);
    assert.equal(new Set(idx).size, idx.length);
    assertGone(got.namespace);
  });

  it('the CLI killed with -9: the run goes on; --attach writes what arrived meanwhile and finishes, every address once, in order', async () => {
    const input = join(tmp.dir, 'kill9.txt');
    writeFileSync(input, addressList(120_000, 600));
    const o = baseOptions({ paths: [input], offline: true });
    const want = await local(o);
    const out = join(tmp.dir, 'kill9.jsonl');
    const home = join(tmp.dir, 'home-kill9');
    mkdirSync(home, { recursive: true });
    const child = spawn(
      NODE,
      [
        CLI,
        'check',
        '--in-cluster',
        '--offline',
        '--shards',
        '3',
        '--kubeconfig',
        kube.kubeconfigPath,
        '--out',
        out,
        input,
      ],
      {
        env: { ...process.env, HOME: home, CI: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      await waitFor(
        () => /shards started/.test(stderr),
        60_000,
        () => `the shards started; the CLI said: ${stderr}`,
      );
      // Some results written, then the CLI dies without a chance to clean up.
      await waitFor(
        () => {
          try {
            return statSync(out).size > 100_000;
          } catch {
            return false;
          }
        },
        60_000,
        () => `some output written; the CLI said: ${stderr}`,
      );
      child.kill('SIGKILL');
      await exited;
    } finally {
      child.kill('SIGKILL');
    }
    const namespace = /--attach (\S+)/.exec(stderr)?.[1] ?? '';
    assert.ok(namespace, stderr);
    assert.ok(kube.get('namespaces', undefined, namespace), 'the run is still there');
    assert.notEqual(readFileSync(out, 'utf8'), want, 'the killed CLI had not finished');
    // `status` lists the orphaned run with its progress.
    const st = await runCli(['status', '-o', 'json', '--kubeconfig', kube.kubeconfigPath], {
      env: { HOME: home },
    });
    assert.equal(st.code, 0, st.stderr);
    const row = (
      JSON.parse(st.stdout) as Array<{
        kind?: string;
        namespace: string;
        written: number | null;
        queued: number | null;
      }>
    ).find((r) => r.kind === 'check' && r.namespace === namespace);
    assert.ok(
      row &&
        row.written !== null &&
        row.queued !== null &&
        row.queued > 0 &&
        row.queued >= row.written,
      `status shows the run's progress: ${st.stdout}`,
    );
    const status: string[] = [];
    let stuck: NodeJS.Timeout | undefined;
    await Promise.race([
      runCheckInCluster(baseOptions({ offline: true }), baseIo(), {
        shards: 3,
        kube: { kubeconfig: kube.kubeconfigPath },
        attach: namespace,
        onStatus: (l) => status.push(l),
      }),
      // Shorter than the test's timeout, so that a stuck attach says how far it got.
      new Promise<never>((_, reject) => {
        stuck = setTimeout(
          () => reject(new Error(`--attach did not finish; it said: ${status.join(' | ')}`)),
          150_000,
        );
      }),
    ]).finally(() => clearTimeout(stuck));
    assert.ok(
      status.some((l) => /attached to the run/.test(l)),
      status.join(' | '),
    );
    assert.equal(readFileSync(out, 'utf8'), want);
    assertGone(namespace);
  });

  it('--state with --in-cluster: the same command again reattaches; a missing run is a clear error', async () => {
    const input = join(tmp.dir, 'state.txt');
    writeFileSync(input, addressList(3_000, 100));
    const state = join(tmp.dir, 'cluster.state');
    const out = join(tmp.dir, 'state.jsonl');
    const o = baseOptions({ paths: [input], offline: true, state, out });
    const want = await local(baseOptions({ paths: [input], offline: true }));
    const got = await inCluster(o);
    assert.equal(got.out, want);
    assert.equal(
      statSync(state, { throwIfNoEntry: false }),
      undefined,
      'the state file is removed once the run finished',
    );
    await assert.rejects(
      runCheckInCluster(baseOptions({ offline: true }), baseIo(), {
        shards: 1,
        kube: { kubeconfig: kube.kubeconfigPath },
        attach: got.namespace,
      }),
      (err: unknown) => isEmailValidateError(err) && err.code === 'EV_ERR_CHECK_ATTACH',
    );
  });

  describe('with DNS checks held in flight (pods deleted mid-run)', () => {
    let dns: FakeDns;
    let hold: DnsHold;
    before(async () => {
      dns = await startFakeDns((name): ZoneEntry | undefined => {
        const m = /^d(\d+)\.example$/.exec(name);
        if (!m) return name.startsWith('mx.') ? { a: ['192.0.2.10'] } : undefined;
        const n = Number(m[1]);
        if (n % 5 === 0) return { nxdomain: true };
        if (n % 7 === 0) return { a: ['192.0.2.20'] };
        return { mx: [{ priority: 10, exchange: `mx.d${n}.example` }] };
      });
      hold = await startDnsHold(dns.port);
    });
    after(async () => {
      await hold?.close();
      await dns?.close();
    });

    it("redoes the dead shard's work: results equal a local check, every address written exactly once", async () => {
      const input = join(tmp.dir, 'dns.txt');
      writeFileSync(input, addressList(1500, 300));
      const o = baseOptions({
        paths: [input],
        concurrency: 6,
        dnsServer: hold.server,
        dnsTimeoutMs: 20_000,
        dnsTries: 1,
      });
      const want = await local(o);
      hold.hold();
      let deleted = '';
      const killer = async (ns: string, client: KubeClient): Promise<void> => {
        try {
          // Global concurrency 6 over 3 shards of 2: six held queries mean every shard holds claimed work.
          await waitFor(() => hold.waiting >= 6, 60_000, 'six DNS queries in flight');
          const pods = await client.listPods(ns, SHARD_SELECTOR);
          assert.ok(pods.length >= 1);
          deleted = pods[0].metadata?.name ?? '';
          // Through the API, as `kubectl delete pod --grace-period=0` would.
          await client.core.deleteNamespacedPod({
            namespace: ns,
            name: deleted,
            gracePeriodSeconds: 0,
          });
          await waitFor(
            () => kube.get('pods', ns, deleted) === undefined,
            30_000,
            `pod ${deleted} gone`,
          );
        } finally {
          hold.release();
        }
      };
      let killing: Promise<void> = Promise.resolve();
      const got = await inCluster(o, {
        onRunning: ({ namespace, client }) => {
          killing = killer(namespace, client);
        },
      });
      await killing;
      assert.ok(deleted, 'a shard pod was deleted');
      assert.equal(got.out, want);
      const idx = indexes(got.out);
      assert.equal(new Set(idx).size, idx.length);
      assertGone(got.namespace);
    });
  });
});
