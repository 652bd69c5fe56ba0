/**
 * `status`, `down` and `gc` know check runs placed with `-n` in a namespace
 * the plugin did not create, as they know sinks: found by their labels
 * (cluster-wide, or in the context's namespace for a user without that
 * right), listed with progress, removed object by object (the namespace
 * stays). Runs are left going by a CLI killed with -9, as a laptop closed
 * mid-run would. Fake API server with RBAC; the user holds exactly the
 * documented Role in its namespace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderRoleYaml } from '../../../src/required-access.ts';
import { EXPIRES_AT_ANNOTATION, MANAGED_BY_LABEL } from '../../../src/cluster-meta.ts';
import { REDIS_NAME } from '../../../src/check-cluster/manifests.ts';
import { startFakeKube, type FakeKube, type FakeUser } from '../../support/fake-kube/index.ts';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { requireRedisServer } from '../../support/redis-server.ts';
import { CLI, NODE, ROOT, runCli, tempDir, waitFor } from '../check/helpers.ts';
import { startDnsHold, type DnsHold } from './dns-hold.ts';

const KINDS = ['deployments', 'services', 'configmaps', 'secrets', 'jobs', 'networkpolicies'];

interface StatusRow {
  kind?: string;
  namespace: string;
  managedNamespace: boolean;
  queued: number | null;
  total: number | null;
}

describe('status, down and gc find check runs placed with -n (fake API server)', function () {
  this.timeout(300_000);
  let kube: FakeKube;
  let dns: FakeDns;
  let hold: DnsHold;
  let tmp: ReturnType<typeof tempDir>;
  let dev: FakeUser;
  before(async function () {
    requireRedisServer(this);
    kube = await startFakeKube();
    tmp = tempDir();
    dns = await startFakeDns(() => ({ mx: [{ priority: 10, exchange: 'mx.example' }] }));
    hold = await startDnsHold(dns.port);
    for (const name of ['team-a', 'team-b'])
      kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    kube.create(parse(renderRoleYaml('team-a')));
    dev = kube.addUser('dev', {
      namespace: 'team-a',
      grants: [{ kind: 'Role', name: 'email-validate', namespace: 'team-a' }],
    });
  });
  after(async () => {
    hold?.release();
    await hold?.close();
    await dns?.close();
    await kube?.close();
    tmp?.cleanup();
  });

  const ours = (namespace: string): string[] =>
    KINDS.flatMap((k) =>
      kube
        .list(k, namespace)
        .filter((o) => o.metadata.labels?.[MANAGED_BY_LABEL] === 'kubectl-email-validate')
        .map((o) => `${k}/${o.metadata.name}`),
    );

  /** Starts a check in `namespace`, waits until a shard holds work, then kills the CLI with -9: the run goes on. */
  async function leaveRunning(namespace: string, kubeconfig: string): Promise<void> {
    const input = join(tmp.dir, `${namespace}.txt`);
    writeFileSync(input, Array.from({ length: 40 }, (_, i) => `u${i}@d${i}.example`).join('\n'));
    const before = hold.waiting;
    const child = spawn(
      NODE,
      [
        CLI,
        'check',
        input,
        '--in-cluster',
        '--shards',
        '1',
        '--concurrency',
        '2',
        '--dns-server',
        hold.server,
        '--dns-timeout',
        '60s',
        '--dns-tries',
        '1',
        '-n',
        namespace,
        '--kubeconfig',
        kubeconfig,
        '--out',
        join(tmp.dir, `${namespace}.jsonl`),
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    try {
      await waitFor(() => hold.waiting > before, 90_000, `a shard in ${namespace} holding work`);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
    child.kill('SIGKILL');
    await exited;
  }

  it('a user with the Role in its namespace: status lists the -n check with progress (no cluster-wide rights: the context namespace)', async () => {
    hold.hold();
    await leaveRunning('team-a', dev.kubeconfigPath);
    const env = { KUBECONFIG: dev.kubeconfigPath };
    // Progress is read from the run's Redis through a tunnel, best effort: ask until it answers.
    let check: StatusRow | undefined;
    let last = '';
    for (const until = Date.now() + 60_000; check?.queued == null;) {
      assert.ok(Date.now() < until, `status never showed the progress; last: ${last}`);
      const json = await runCli(['status', '-o', 'json'], { env });
      assert.equal(json.code, 0, json.stderr);
      last = json.stdout;
      check = (JSON.parse(json.stdout) as StatusRow[]).find(
        (r) => r.kind === 'check' && r.namespace === 'team-a',
      );
    }
    assert.ok(check);
    assert.equal(check.managedNamespace, false);
    // Queued before the CLI was killed: some or all of the 40 (all once the CLI had read the whole input).
    assert.ok(check.queued > 0 && check.queued <= 40, `queued ${check.queued}`);
    assert.ok(check.total === null || check.total === 40, `total ${check.total}`);
    const table = await runCli(['status'], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /team-a \(existing\)/);
  });

  it('gc removes an expired check run from a namespace it did not create, keeps the namespace and the runs within their TTL', async () => {
    await leaveRunning('team-b', kube.kubeconfigPath);
    const past = new Date(Date.now() - 60_000).toISOString();
    const r = await kube.request(
      'PATCH',
      `/apis/apps/v1/namespaces/team-b/deployments/${REDIS_NAME}`,
      {
        body: JSON.stringify({ metadata: { annotations: { [EXPIRES_AT_ANNOTATION]: past } } }),
        contentType: 'application/merge-patch+json',
      },
    );
    assert.equal(r.status, 200, r.body);
    const env = { KUBECONFIG: kube.kubeconfigPath };
    const dry = await runCli(['gc', '--dry-run', '-o', 'json'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(
      (JSON.parse(dry.stdout) as { expired: Array<{ kind: string; namespace: string }> }).expired,
      [{ kind: 'check', namespace: 'team-b', expiresAt: past }],
    );
    assert.ok(ours('team-b').length > 0, '--dry-run deletes nothing');
    const gc = await runCli(['gc'], { env });
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /deleted the check in team-b/);
    assert.deepEqual(ours('team-b'), [], 'every object of the run removed');
    await waitFor(
      () => kube.list('pods', 'team-b').length === 0,
      30_000,
      'shard and Redis pods gone',
    );
    assert.ok(kube.get('namespaces', undefined, 'team-b'), 'the namespace stays');
    assert.ok(ours('team-a').length > 0, "team-a's run is within its TTL");
  });

  it('down --all as the user (context namespace) removes the -n check run object by object; the namespace stays', async () => {
    const env = { KUBECONFIG: dev.kubeconfigPath };
    const down = await runCli(['down', '--all', '-o', 'json'], { env });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(JSON.parse(down.stdout), [{ namespace: 'team-a', outcome: 'deleted-check' }]);
    assert.deepEqual(ours('team-a'), []);
    await waitFor(() => kube.list('pods', 'team-a').length === 0, 30_000, 'pods gone');
    assert.ok(kube.get('namespaces', undefined, 'team-a'), 'the namespace stays');
    const again = await runCli(['down', 'team-a', '-o', 'json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), [{ namespace: 'team-a', outcome: 'no-sink' }]);
    const status = await runCli(['status', '-o', 'json'], { env });
    assert.deepEqual(
      (JSON.parse(status.stdout) as StatusRow[]).filter((r) => r.kind === 'check'),
      [],
    );
  });
});
