/**
 * `kubectl email-validate check --in-cluster` through the built CLI against
 * the fake API server: flag wiring, output on stdout, the summary, and the
 * cleanup on Ctrl-C while shards hold work.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { CLI, NODE, ROOT, runCli, tempDir, waitFor } from '../check/helpers.ts';
import { startDnsHold, type DnsHold } from './dns-hold.ts';
import { requireRedisServer } from '../../support/redis-server.ts';

describe('check --in-cluster: the CLI (fake API server)', function () {
  this.timeout(90_000);
  let kube: FakeKube;
  let tmp: ReturnType<typeof tempDir>;
  let dns: FakeDns;
  let hold: DnsHold;
  before(async function () {
    requireRedisServer(this);
    kube = await startFakeKube();
    tmp = tempDir();
    dns = await startFakeDns(() => ({ mx: [{ priority: 10, exchange: 'mx.example' }] }));
    hold = await startDnsHold(dns.port);
  });
  after(async () => {
    await hold?.close();
    await dns?.close();
    await kube?.close();
    tmp?.cleanup();
  });
  const managedNamespaces = (): string[] =>
    kube
      .list('namespaces')
      .map((n) => n.metadata.name ?? '')
      .filter((n) => n.startsWith('email-validation-'));

  it('--offline --shards 2 writes one JSON line per distinct address and removes the namespace', async () => {
    const input = join(tmp.dir, 'list.txt');
    writeFileSync(
      input,
      'a@example.com\nb@example.com\nA@EXAMPLE.COM\nnot-an-address\nadmin@example.org\na@example.com\n',
    );
    const r = await runCli([
      'check',
      input,
      '--in-cluster',
      '--shards',
      '2',
      '--offline',
      '--kubeconfig',
      kube.kubeconfigPath,
      '-o',
      'jsonl',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { address: string; index: number; verdict: string });
    assert.deepEqual(
      lines.map((l) => l.address),
      ['a@example.com', 'b@example.com', 'A@EXAMPLE.COM', 'not-an-address', 'admin@example.org'],
    );
    assert.deepEqual(
      lines.map((l) => l.index),
      [1, 2, 3, 4, 5],
    );
    assert.match(r.stderr, /5 addresses checked \(1 duplicate skipped\)/);
    assert.deepEqual(managedNamespaces(), []);
  });

  it('-n EXISTING: runs in that namespace, removes its own objects and leaves the namespace', async () => {
    kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-checks' } });
    const input = join(tmp.dir, 'ns.txt');
    writeFileSync(input, 'a@example.com\nb@example.com\n');
    const r = await runCli([
      'check',
      input,
      '--in-cluster',
      '--shards',
      '1',
      '--offline',
      '-n',
      'team-checks',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 2);
    assert.ok(kube.get('namespaces', undefined, 'team-checks'), 'the namespace stays');
    await waitFor(
      () =>
        ['deployments', 'services', 'configmaps', 'secrets', 'jobs', 'networkpolicies'].every(
          (kind) =>
            kube
              .list(kind, 'team-checks')
              .filter(
                (o) =>
                  o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'kubectl-email-validate',
              ).length === 0,
        ),
      10_000,
      'objects removed',
    );
    await waitFor(() => kube.list('pods', 'team-checks').length === 0, 10_000, 'pods gone');
  });

  it('checks RBAC up front: no namespace-create right means a hint about -n and nothing created', async () => {
    const input = join(tmp.dir, 'rbac.txt');
    writeFileSync(input, 'a@example.com\n');
    kube.faults.denyNamespaceCreate();
    try {
      const r = await runCli([
        'check',
        input,
        '--in-cluster',
        '--offline',
        '--kubeconfig',
        kube.kubeconfigPath,
      ]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /EV_ERR_KUBE_FORBIDDEN/);
      assert.match(r.stderr, /-n EXISTING_NAMESPACE/);
    } finally {
      kube.faults.denyNamespaceCreate(false);
    }
    assert.deepEqual(managedNamespaces(), []);
  });

  it('refuses --state without --out with --in-cluster before touching the cluster', async () => {
    const input = join(tmp.dir, 'one.txt');
    writeFileSync(input, 'a@example.com\n');
    const r = await runCli([
      'check',
      input,
      '--in-cluster',
      '--state',
      join(tmp.dir, 's'),
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--state needs --out.*EV_ERR_INVALID_OPTION/);
    assert.equal(r.stderr.includes('    at '), false, 'no stack trace');
    assert.deepEqual(managedNamespaces(), []);
  });

  it('refuses a fake HELO name with --in-cluster --smtp-probe (as a local run does) before touching the cluster', async () => {
    const input = join(tmp.dir, 'one.txt');
    writeFileSync(input, 'a@example.com\n');
    const r = await runCli([
      'check',
      input,
      '--in-cluster',
      '--smtp-probe',
      '--helo',
      'gmail.com',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--helo "gmail\.com".*EV_ERR_INVALID_OPTION/);
    assert.equal(r.stderr.includes('    at '), false, 'no stack trace');
    assert.deepEqual(managedNamespaces(), []);
  });

  it('Ctrl-C while shards hold work: exits 130 and deletes the namespace', async () => {
    const input = join(tmp.dir, 'many.txt');
    writeFileSync(input, Array.from({ length: 200 }, (_, i) => `u${i}@d${i}.example`).join('\n'));
    hold.hold();
    try {
      const child = spawn(
        NODE,
        [
          CLI,
          'check',
          input,
          '--in-cluster',
          '--shards',
          '2',
          '--concurrency',
          '4',
          '--dns-server',
          hold.server,
          '--dns-timeout',
          '30s',
          '--dns-tries',
          '1',
          '--kubeconfig',
          kube.kubeconfigPath,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) =>
        child.on('close', (code) => resolve(code)),
      );
      await waitFor(() => hold.waiting >= 1, 60_000, 'a shard holding work');
      assert.equal(managedNamespaces().length, 1);
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 130, stderr);
      assert.match(stderr, /EV_ERR_INTERRUPTED/);
      assert.deepEqual(managedNamespaces(), [], 'namespace deleted before exit');
    } finally {
      hold.release();
    }
  });
});
