import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { lifetimeAnnotations, managedLabels } from '../../../src/cluster-meta.ts';
import { runCli, spawnCli } from './helpers.ts';

/** Resolves with the first stderr line matching `re`. */
function lineMatching(cli: ReturnType<typeof spawnCli>, re: RegExp): Promise<string> {
  return new Promise((resolve) =>
    cli.stderrLines((l) => {
      if (re.test(l)) resolve(l);
    }),
  );
}

describe('cluster: Ctrl-C and gc', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  beforeEach(async () => {
    fake = await startFakeKube();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('Ctrl-C in the middle of `up` removes everything it created, then exits 130', async () => {
    fake.faults.setDelays({ startMs: 60_000 });
    const cli = spawnCli(['up'], { KUBECONFIG: fake.kubeconfigPath });
    const created = /creating namespace (\S+)…/.exec(
      await lineMatching(cli, /creating namespace/),
    )![1];
    await lineMatching(cli, /waiting for the sink/);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /interrupted: cleaning up namespace email-validation-/);
    assert.equal(fake.get('namespaces', undefined, created), undefined, 'namespace removed');
    assert.equal(fake.list('pods').filter((p) => p.metadata.namespace === created).length, 0);
  });

  it('a second Ctrl-C exits at once, printing what was left and the gc command', async () => {
    fake.faults.setDelays({ startMs: 60_000, namespaceDeleteMs: 60_000 });
    const cli = spawnCli(['up'], { KUBECONFIG: fake.kubeconfigPath });
    await lineMatching(cli, /waiting for the sink/);
    cli.child.kill('SIGINT');
    await lineMatching(cli, /interrupted: cleaning up/);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    assert.equal(result.code, 130);
    assert.match(result.stderr, /left behind: namespace email-validation-\S+/);
    assert.match(result.stderr, /kubectl email-validate gc/);
  });

  it('gc deletes only managed namespaces whose TTL has passed; --dry-run deletes nothing', async () => {
    const past = new Date(Date.now() - 3 * 3600_000);
    const mk = (
      name: string,
      labels: Record<string, string>,
      annotations: Record<string, string>,
    ) =>
      fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });
    mk('email-validation-old', managedLabels(), lifetimeAnnotations(past, 3600_000));
    mk('email-validation-fresh', managedLabels(), lifetimeAnnotations(new Date(), 3600_000));
    mk('someone-elses', { team: 'a' }, lifetimeAnnotations(past, 3600_000));
    mk('managed-no-ttl', managedLabels(), {});
    const env = { KUBECONFIG: fake.kubeconfigPath };
    const dry = await runCli(['gc', '--dry-run', '-o', 'json'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(
      (JSON.parse(dry.stdout) as { expired: Array<{ namespace: string }> }).expired.map(
        (e) => e.namespace,
      ),
      ['email-validation-old'],
    );
    assert.ok(fake.get('namespaces', undefined, 'email-validation-old'));
    const real = await runCli(['gc'], env);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /deleted email-validation-old/);
    // Deleted: gone, or terminating (gc does not wait).
    const old = fake.get('namespaces', undefined, 'email-validation-old');
    assert.ok(
      old === undefined || Boolean(old.metadata.deletionTimestamp),
      'expired namespace deleted',
    );
    const names = fake.list('namespaces').map((n) => n.metadata.name);
    for (const kept of ['email-validation-fresh', 'someone-elses', 'managed-no-ttl'])
      assert.ok(names.includes(kept), kept);
  });
});
