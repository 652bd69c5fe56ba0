/**
 * `check --in-cluster` end to end against the fake API server: the real
 * bundle runs as a coordinator pod and an Indexed Job of shard pods; input and
 * results stream through a port-forward tunnel. Results must equal a local
 * `check` of the same input byte for byte, with every address written once,
 * even when a shard pod is deleted while it holds leased work; nothing is
 * left in the cluster afterwards.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { MAX_CONFIGMAP_BYTES } from '../../../src/bundle-shipping.ts';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isEmailValidateError } from '../../../src/errors.ts';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { startFakeDns, type FakeDns, type ZoneEntry } from '../../support/fake-dns.ts';
import { runCheckCommand, type CheckOptions } from '../../../plugin/lib/check/run-check-command.ts';
import { runCheckInCluster, type ClusterCheckOptions } from '../../../plugin/lib/check-cluster/run.ts';
import { COORDINATOR_SELECTOR, SHARD_SELECTOR } from '../../../src/check-cluster/manifests.ts';
import type { KubeClient } from '../../../plugin/lib/kube/adapter.ts';
import { baseIo, baseOptions, tempDir, waitFor, ROOT } from '../check/helpers.ts';
import { startDnsHold, type DnsHold } from './dns-hold.ts';

function buildBundle(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** A list with duplicates (also after normalisation), invalid syntax, role and disposable addresses, blank lines. */
function addressList(n: number, domains: number): string {
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
  return jsonl.trim().split('\n').map((l) => (JSON.parse(l) as { index: number }).index);
}

describe('check --in-cluster (fake API server)', function () {
  this.timeout(120_000);
  let kube: FakeKube;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
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

  async function inCluster(o: CheckOptions, c: Partial<ClusterCheckOptions> = {}): Promise<{ out: string; status: string[]; namespace: string }> {
    const out = join(tmp.dir, `cluster-${Math.random()}.jsonl`);
    const status: string[] = [];
    let namespace = '';
    await runCheckInCluster({ ...o, out }, baseIo(), {
      shards: 3, kube: { kubeconfig: kube.kubeconfigPath }, leaseTtlMs: 2000, onStatus: (l) => status.push(l), ...c,
      onRunning: (info) => { namespace = info.namespace; c.onRunning?.(info); },
    });
    return { out: readFileSync(out, 'utf8'), status, namespace };
  }

  it('--offline --shards 3, a list larger than a ConfigMap: same results as a local check, each address once, nothing left behind', async () => {
    const input = join(tmp.dir, 'offline.txt');
    writeFileSync(input, addressList(60_000, 500));
    assert.ok(statSync(input).size > MAX_CONFIGMAP_BYTES, 'the list is larger than a ConfigMap can hold');
    const o = baseOptions({ paths: [input], offline: true });
    const want = await local(o);
    const got = await inCluster(o);
    assert.equal(got.out.length, want.length);
    assert.equal(got.out, want);
    const idx = indexes(got.out);
    assert.equal(new Set(idx).size, idx.length);
    assert.ok(got.namespace.startsWith('email-validation-'));
    assert.equal(kube.get('namespaces', undefined, got.namespace), undefined, 'namespace removed');
    assert.equal(kube.list('pods').filter((p) => p.metadata.namespace === got.namespace).length, 0, 'no pods left');
  });

  it('survives port-forward drops: retried pushes and pulls repeat nothing and lose nothing', async () => {
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
    assert.ok(kube.portForwardsOpened - opened >= 4, `the tunnel was re-opened after drops (${kube.portForwardsOpened - opened} forwards)`);
  });

  it('fails fast with the pod\'s reason when every shard crashes, and still cleans up', async () => {
    const input = join(tmp.dir, 'crash.txt');
    writeFileSync(input, 'a@example.com\n');
    // The real coordinator, and shards that exit at once.
    const real = pathToFileURL(join(ROOT, 'dist/check-cluster/check.bundle.mjs')).href;
    const bundle = Buffer.from(`if (process.env.EV_CHECK_ROLE === 'shard') { console.error('shard: cannot start'); process.exit(1); }\nawait import(${JSON.stringify(real)});\n`);
    let namespace = '';
    await assert.rejects(
      runCheckInCluster({ ...baseOptions({ paths: [input], offline: true }), out: join(tmp.dir, 'crash.jsonl') }, baseIo(), {
        shards: 2, kube: { kubeconfig: kube.kubeconfigPath }, bundle, onRunning: (info) => { namespace = info.namespace; },
      }),
      (err: unknown) => isEmailValidateError(err) && err.code === 'EV_ERR_CHECK_SHARDS_FAILED' && /keeps crashing/.test(err.message),
    );
    assert.ok(namespace);
    assert.equal(kube.get('namespaces', undefined, namespace), undefined, 'namespace removed');
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

    it('fails with EV_ERR_CHECK_COORDINATOR (not a hang) when the coordinator pod is replaced mid-run', async () => {
      const input = join(tmp.dir, 'coord.txt');
      writeFileSync(input, addressList(300, 100));
      const o = baseOptions({ paths: [input], concurrency: 3, dnsServer: hold.server, dnsTimeoutMs: 20_000, dnsTries: 1 });
      hold.hold();
      let killing: Promise<void> = Promise.resolve();
      let namespace = '';
      try {
        await assert.rejects(inCluster(o, {
          onRunning: ({ namespace: ns, client }) => {
            namespace = ns;
            killing = (async () => {
              await waitFor(() => hold.waiting >= 1, 60_000, 'work in flight');
              const [pod] = await client.listPods(ns, COORDINATOR_SELECTOR);
              await client.core.deleteNamespacedPod({ namespace: ns, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
            })();
          },
        }), (err: unknown) => isEmailValidateError(err) && err.code === 'EV_ERR_CHECK_COORDINATOR' && /restarted/.test(err.message));
        await killing;
      } finally {
        hold.release();
      }
      assert.equal(kube.get('namespaces', undefined, namespace), undefined, 'namespace removed');
    });

    it('redoes the dead shard\'s work: results equal a local check, every address written exactly once', async () => {
      const input = join(tmp.dir, 'dns.txt');
      writeFileSync(input, addressList(1500, 300));
      const o = baseOptions({ paths: [input], concurrency: 6, dnsServer: hold.server, dnsTimeoutMs: 20_000, dnsTries: 1 });
      const want = await local(o);
      hold.hold();
      let deleted = '';
      const killer = async (ns: string, client: KubeClient): Promise<void> => {
        try {
          // Global concurrency 6 over 3 shards of 2: six held queries mean every shard holds leased work.
          await waitFor(() => hold.waiting >= 6, 60_000, 'six DNS queries in flight');
          const pods = await client.listPods(ns, SHARD_SELECTOR);
          assert.ok(pods.length >= 1);
          deleted = pods[0].metadata?.name ?? '';
          // Through the API, as `kubectl delete pod --grace-period=0` would.
          await client.core.deleteNamespacedPod({ namespace: ns, name: deleted, gracePeriodSeconds: 0 });
          await waitFor(() => kube.get('pods', ns, deleted) === undefined, 30_000, `pod ${deleted} gone`);
        } finally {
          hold.release();
        }
      };
      let killing: Promise<void> = Promise.resolve();
      const got = await inCluster(o, { onRunning: ({ namespace, client }) => { killing = killer(namespace, client); } });
      await killing;
      assert.ok(deleted, 'a shard pod was deleted');
      assert.equal(got.out, want);
      const idx = indexes(got.out);
      assert.equal(new Set(idx).size, idx.length);
      const line = got.status.find((l) => l.startsWith('coordinator:')) ?? '';
      const expired = Number(/(\d+) leases given back/.exec(line)?.[1] ?? -1);
      assert.ok(expired >= 1, `the deleted shard's leases were given back: ${line}`);
      assert.equal(kube.get('namespaces', undefined, got.namespace), undefined, 'namespace removed');
    });
  });
});
