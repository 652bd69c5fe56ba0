import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import {
  RUN_JS,
  assertLoadAndRefusals,
  jsonLines,
  runCli,
  runUntil,
  useFakeClusterPerTest,
} from './cli-harness.ts';

interface SendJson {
  messages: number;
  accepted: number;
  rejected: number;
  deferred: number;
  failed: number;
}

const NAMESPACED = [
  'deployments',
  'replicasets',
  'pods',
  'services',
  'configmaps',
  'secrets',
  'networkpolicies',
];

function leftovers(fake: FakeKube, namespace: string): string[] {
  const left = NAMESPACED.flatMap((r) =>
    fake.list(r, namespace).map((o) => `${r}/${o.metadata.name}`),
  );
  if (fake.get('namespaces', undefined, namespace)) left.push(`namespace/${namespace}`);
  return left;
}

describe('CLI end to end against the fake Kubernetes API server', function () {
  this.timeout(120_000);
  const cluster = useFakeClusterPerTest();

  it("up, send 100, tail --no-follow -o json shows all 100 plus the conventions' bounces, down leaves nothing", async () => {
    const up = await runCli(['up', '-o', 'json'], { env: cluster.env });
    assert.equal(up.code, 0, up.stderr);
    const { namespace } = JSON.parse(up.stdout) as { namespace: string };
    const ns = ['-n', namespace];

    const sent = await runCli(
      [
        'send',
        ...ns,
        '--to',
        'user+{{n}}@example.com',
        '--subject',
        'Cluster {{n}}',
        '--count',
        '100',
        '--concurrency',
        '8',
        '-o',
        'json',
      ],
      { env: cluster.env },
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /\(tunnel to email-sink-/, 'sent through the forwarded SMTP port');
    const r = JSON.parse(sent.stdout) as SendJson;
    assert.deepEqual(
      [r.messages, r.accepted, r.rejected, r.deferred, r.failed],
      [100, 100, 0, 0, 0],
    );

    const conv = await runCli(
      [
        'send',
        ...ns,
        '--to',
        'bounce@example.com',
        '--to',
        'defer@example.com',
        '--to',
        'asyncbounce@example.com',
        '-o',
        'json',
      ],
      { env: cluster.env },
    );
    assert.equal(conv.code, 0, conv.stderr);
    const c = JSON.parse(conv.stdout) as SendJson;
    assert.deepEqual([c.accepted, c.rejected, c.deferred], [1, 1, 1]);

    const follow = await runUntil(
      ['tail', ...ns, '-o', 'json', '--type', 'bounced'],
      (l) => l.includes('"message.bounced"'),
      { env: cluster.env, timeoutMs: 30_000 },
    );
    follow.child.kill('SIGTERM');

    const tail = await runCli(['tail', ...ns, '--no-follow', '-o', 'json'], { env: cluster.env });
    assert.equal(tail.code, 0, tail.stderr);
    const events = jsonLines<SinkEvent>(tail.stdout);
    assertLoadAndRefusals(events);

    // status: one row per sink with age, TTL, time left, readiness and the sink's own message count.
    const status = await runCli(['status', '-o', 'json'], { env: cluster.env });
    assert.equal(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout) as Array<{
      namespace: string;
      ttl: string;
      ready: number;
      desired: number;
      messages: number;
      expired: boolean;
    }>;
    assert.deepEqual(
      rows.map((s) => [s.namespace, s.ttl, s.ready, s.desired, s.expired]),
      [[namespace, '2h', 1, 1, false]],
    );
    assert.ok(
      rows[0].messages >= 101,
      `the sink's message count (${rows[0].messages}) includes the 100 + 1 sent`,
    );
    const table = await runCli(['status'], { env: cluster.env });
    assert.equal(table.code, 0, table.stderr);
    const [header, row, extra] = table.stdout.trimEnd().split('\n');
    assert.match(header, /^NAMESPACE +AGE +TTL +EXPIRES IN +READY +MESSAGES$/);
    assert.match(row, new RegExp(`^${namespace} +\\d+s +2h +1h5\\dm +1/1 +${rows[0].messages}$`));
    assert.equal(extra, undefined);
    // On a 60-column terminal (script(1) makes one): the lesser columns go, the namespace stays whole.
    const narrow = await runCli(
      ['-qec', `stty cols 60; ${process.execPath} ${RUN_JS} status`, '/dev/null'],
      { script: '/usr/bin/script', direct: true, env: { ...cluster.env, NO_COLOR: '1' } },
    );
    assert.equal(narrow.code, 0, narrow.stdout);
    const narrowLines = narrow.stdout.replace(/\r/g, '').trimEnd().split('\n');
    for (const l of narrowLines) assert.ok(l.length <= 60, `${JSON.stringify(l)} is ${l.length}`);
    assert.match(narrowLines[0], /^NAMESPACE +READY +MESSAGES$/);
    assert.match(narrowLines[1], new RegExp(`^${namespace} +1/1 +${rows[0].messages}$`));
    const wide = await runCli(
      ['-qec', `stty cols 60; ${process.execPath} ${RUN_JS} status -o wide`, '/dev/null'],
      { script: '/usr/bin/script', direct: true, env: { ...cluster.env, NO_COLOR: '1' } },
    );
    assert.match(wide.stdout, /^NAMESPACE +AGE +TTL +EXPIRES IN +READY +MESSAGES\r?$/m);

    const list = await runCli(['messages', 'list', ...ns, '--to', 'user+5@', '-o', 'json'], {
      env: cluster.env,
    });
    assert.equal(list.code, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout) as { total: number }).total, 1);

    const down = await runCli(['down', namespace], { env: cluster.env });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(leftovers(cluster.fake, namespace), []);
  });

  it("with two replicas, tail merges both pods' feeds and names the pod", async () => {
    const up = await runCli(['up', '-o', 'json', '--replicas', '2'], { env: cluster.env });
    assert.equal(up.code, 0, up.stderr);
    const { namespace, pods } = JSON.parse(up.stdout) as { namespace: string; pods: string[] };
    assert.equal(pods.length, 2);
    const rules = await runCli(['rules', 'set', '-', '-n', namespace], {
      env: cluster.env,
      input: 'rules: []\n',
    });
    assert.equal(rules.code, 0, rules.stderr);
    assert.match(rules.stdout, /on 2 pods/);

    const tail = await runCli(
      ['tail', '-n', namespace, '--no-follow', '-o', 'json', '--type', 'rules'],
      { env: cluster.env },
    );
    assert.equal(tail.code, 0, tail.stderr);
    const events = jsonLines<SinkEvent & { pod: string }>(tail.stdout);
    assert.deepEqual(
      events.map((e) => e.type),
      ['rules.updated', 'rules.updated'],
    );
    assert.deepEqual(
      events.map((e) => e.pod).sort(),
      [...pods].sort(),
      'one event from each pod, each named',
    );

    const text = await runCli(['tail', '-n', namespace, '--no-follow', '--type', 'rules'], {
      env: cluster.env,
    });
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines)
      assert.match(line, /^email-sink-\S+ \d\d:\d\d:\d\d\.\d{3} {2}RULES {5}0 rule\(s\) active$/);

    const down = await runCli(['down', namespace], { env: cluster.env });
    assert.equal(down.code, 0, down.stderr);
  });

  it('without a sink in the cluster: a one-line error with the `up` hint', async () => {
    const r = await runCli(['tail', '--no-follow'], { env: cluster.env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /^error: no sink found .*\[EV_ERR_KUBE_NOT_FOUND\]\nhint: start one with `kubectl email-validate up`/m,
    );
  });
});
