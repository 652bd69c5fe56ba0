import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKube, writeKubeconfig, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { connect } from '../../../plugin/lib/kube/adapter.ts';
import { isEmailValidateError } from '../../../src/errors.ts';
import { MANAGED_BY_LABEL } from '../../../src/cluster-meta.ts';
import { runCli } from './helpers.ts';

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

/** A minimal SMTP conversation through the local end of a tunnel. */
async function smtpSend(port: number, to: string): Promise<string> {
  const socket = createConnection(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const reply = async () => {
    for (;;) {
      const m = /(^|\n)(\d{3}) [^\n]*\n/.exec(buffer);
      if (m) {
        const code = m[2];
        buffer = '';
        return code;
      }
      const [chunk] = await once(socket, 'data');
      buffer += chunk;
    }
  };
  assert.equal(await reply(), '220');
  const codes: string[] = [];
  for (const cmd of ['EHLO test', 'MAIL FROM:<app@example.com>', `RCPT TO:<${to}>`, 'DATA']) {
    socket.write(`${cmd}\r\n`);
    codes.push(await reply());
  }
  socket.write(
    `From: app@example.com\r\nTo: ${to}\r\nSubject: hello\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <1@example.com>\r\n\r\nhi\r\n.\r\n`,
  );
  codes.push(await reply());
  socket.end('QUIT\r\n');
  return codes.join(' ');
}

describe('cluster: up / down against the fake API server', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  beforeEach(async () => {
    fake = await startFakeKube();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('creates a labelled namespace with SSA, waits for the REAL sink bundle to be ready, carries SMTP and API through tunnels, then leaves nothing', async () => {
    const kube = { kubeconfig: fake.kubeconfigPath };
    const lines: string[] = [];
    const sink = await createSink(kube, { onStatus: (l) => lines.push(l) });
    assert.match(sink.namespace, /^email-validation-\d{8}-\d{6}-[a-z0-9]{5}$/);
    assert.deepEqual(sink.smtp.addresses, [
      `email-sink.${sink.namespace}.svc.cluster.local:25`,
      `email-sink.${sink.namespace}.svc.cluster.local:1025`,
    ]);
    assert.ok(lines.some((l) => /checking permissions/.test(l)));
    // SelfSubjectAccessReview before any create, and server-side apply with our field manager.
    const reqs = fake.requests.map((r) => `${r.method} ${r.path}`);
    const firstSsar = reqs.findIndex((r) => r.includes('selfsubjectaccessreviews'));
    const firstCreate = reqs.findIndex((r) => r.startsWith('POST /api/v1/namespaces'));
    assert.ok(firstSsar >= 0 && firstSsar < firstCreate, 'SSAR before namespace create');
    const applies = fake.requests.filter(
      (r) => r.method === 'PATCH' && r.contentType === 'application/apply-patch+yaml',
    );
    assert.ok(applies.length >= 6, 'every object server-side applied');
    for (const r of applies)
      assert.match(
        r.query,
        /fieldManager=kubectl-email-validate.*force=true|force=true.*fieldManager=kubectl-email-validate/,
      );
    const ns = fake.get('namespaces', undefined, sink.namespace)!;
    assert.equal(ns.metadata.labels?.[MANAGED_BY_LABEL], 'kubectl-email-validate');

    const open = await openClusterSink(kube, {});
    try {
      assert.equal(open.namespace, sink.namespace);
      assert.equal(open.token, sink.token);
      assert.equal(open.sinks.length, 1);
      assert.equal(
        await smtpSend(open.sinks[0].smtp.port, 'someone@example.com'),
        '250 250 250 354 250',
      );
      const stats = (await (
        await fetch(`${open.sinks[0].apiUrl}/api/stats`, {
          headers: { authorization: `Bearer ${open.token}` },
        })
      ).json()) as { received: number };
      assert.equal(stats.received, 1);
    } finally {
      await open.close();
    }
    await sink.destroy();
    assert.deepEqual(leftovers(fake, sink.namespace), []);
  });

  it('up and down through the CLI: -o json, then down leaves nothing; down again is a success', async () => {
    const env = { KUBECONFIG: fake.kubeconfigPath };
    const up = await runCli(['up', '-o', 'json', '--replicas', '2'], env);
    assert.equal(up.code, 0, up.stderr);
    const out = JSON.parse(up.stdout) as {
      namespace: string;
      pods: string[];
      smtp: { addresses: string[] };
    };
    assert.equal(out.pods.length, 2);
    assert.match(up.stderr, /waiting for the sink/);
    const status = await runCli(['status', '-o', 'json'], env);
    assert.equal(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout) as Array<{
      namespace: string;
      ready: number;
      desired: number;
      messages: number | null;
    }>;
    assert.deepEqual(
      rows.map((r) => [r.namespace, r.ready, r.desired, r.messages]),
      [[out.namespace, 2, 2, 0]],
    );
    const down = await runCli(['down', out.namespace], env);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(leftovers(fake, out.namespace), []);
    const again = await runCli(['down', out.namespace], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already gone/);
  });

  it('up in text: --ttl, --node-image and --rules reach the objects and the sink; stdout says where to point the application', async () => {
    const rules = join(fake.dir, 'rules.yaml');
    writeFileSync(
      rules,
      'rules:\n  - name: vip-closed\n    match: { recipient: "vip@example.com" }\n    reject: true\n',
    );
    const env = { KUBECONFIG: fake.kubeconfigPath };
    const up = await runCli(
      [
        'up',
        '--ttl',
        '30m',
        '--node-image',
        'registry.internal/library/node:24-alpine',
        '--rules',
        rules,
      ],
      env,
    );
    assert.equal(up.code, 0, up.stderr);
    const ns = /^Sink ready in namespace (email-validation-\S+) /m.exec(up.stdout)?.[1];
    assert.ok(ns, up.stdout);
    assert.match(
      up.stdout,
      new RegExp(
        `email-sink\\.${ns}\\.svc\\.cluster\\.local:25 .*email-sink\\.${ns}\\.svc\\.cluster\\.local:1025`,
      ),
    );
    assert.match(
      up.stdout,
      new RegExp(`SMTP_HOST=email-sink\\.${ns}\\.svc\\.cluster\\.local SMTP_PORT=25`),
    );
    assert.doesNotMatch(
      up.stdout,
      /waiting for the sink|checking permissions/,
      'progress goes to stderr',
    );
    const nsObj = fake.get('namespaces', undefined, ns)!;
    assert.equal(nsObj.metadata.annotations?.['email-validate.dev/ttl'], '30m');
    const deployment = fake.get('deployments', ns, 'email-sink') as unknown as {
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    assert.equal(
      deployment.spec.template.spec.containers[0].image,
      'registry.internal/library/node:24-alpine',
    );
    const got = await runCli(['rules', 'get', '-n', ns, '-o', 'json'], env);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(
      (JSON.parse(got.stdout) as { rules: Array<{ name: string }> }).rules.map((r) => r.name),
      ['vip-closed'],
    );
    const down = await runCli(['down', ns], env);
    assert.equal(down.code, 0, down.stderr);
  });

  it('with -n EXISTING deploys into it, and down removes only the sink objects, never the namespace', async () => {
    fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    fake.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'theirs', namespace: 'team-a' },
      data: {},
    });
    const sink = await createSink({ kubeconfig: fake.kubeconfigPath, namespace: 'team-a' });
    assert.equal(sink.createdNamespace, false);
    const down = await runCli(['down', '-n', 'team-a'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(down.code, 0, down.stderr);
    assert.ok(fake.get('namespaces', undefined, 'team-a'));
    assert.deepEqual(
      leftovers(fake, 'team-a').filter(
        (l) => !l.startsWith('pods/') && l !== 'configmaps/kube-root-ca.crt',
      ),
      ['configmaps/theirs', 'namespace/team-a'],
    );
  });

  it('403 on namespace create: stops before creating anything and says to use -n', async () => {
    fake.faults.denyNamespaceCreate();
    const before = fake.list('namespaces').length;
    await assert.rejects(
      createSink({ kubeconfig: fake.kubeconfigPath }),
      (err: unknown) =>
        isEmailValidateError(err) &&
        err.code === 'EV_ERR_KUBE_FORBIDDEN' &&
        /-n EXISTING/.test(err.hint ?? ''),
    );
    assert.equal(fake.list('namespaces').length, before);
    const cli = await runCli(['up'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(cli.code, 3);
    assert.match(
      cli.stderr,
      /^error: you cannot create namespaces in context "fake".*\[EV_ERR_KUBE_FORBIDDEN\]\nhint: use -n EXISTING_NAMESPACE/m,
    );
    assert.doesNotMatch(cli.stderr, /at .*\.js:\d+/);
  });

  it("a pod that never becomes ready: fails within --wait with the pod's own reason and removes what it created", async () => {
    fake.faults.podNeverReady({
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "node:24-alpine"',
    });
    const cli = await runCli(['up', '--wait', '1s'], { KUBECONFIG: fake.kubeconfigPath });
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(
      cli.stderr,
      /did not become ready within 1s: email-sink-[a-z0-9-]+: ImagePullBackOff/,
    );
    assert.match(cli.stderr, /hint: .*--node-image/);
    const created = /namespace (email-validation-[a-z0-9-]+)/.exec(cli.stderr)![1];
    assert.deepEqual(leftovers(fake, created), []);
  });

  it('unreachable server and rejected credentials are one-line errors', async () => {
    fake.faults.rejectAllTokens = true;
    await assert.rejects(
      connect({ kubeconfig: fake.kubeconfigPath }).serverVersion(),
      (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_KUBE_UNAUTHORIZED',
    );
    // A port nothing listens on: the fake's own, once it is closed.
    const other = await startFakeKube();
    const dead = join(fake.dir, 'dead-kubeconfig');
    writeKubeconfig(dead, { server: other.url, token: 't' });
    await other.close();
    const cli = await runCli(['status', '--request-timeout', '2s'], { KUBECONFIG: dead });
    assert.equal(cli.code, 3);
    assert.match(
      cli.stderr,
      /^error: cannot reach the API server at https?:\/\/127\.0\.0\.1:\d+ \(context "fake"\): ECONNREFUSED \[EV_ERR_KUBE_UNREACHABLE\]\nhint: /m,
    );
  });

  it('--request-timeout bounds each API request: a server that hangs is a one-line error naming the timeout', async () => {
    fake.faults.responseDelayMs = 10_000;
    const cli = await runCli(['status', '--request-timeout', '500ms'], {
      KUBECONFIG: fake.kubeconfigPath,
    });
    // The CLI exited while the fake still held its request: it gave up on its own timeout, not on an answer.
    const heldAtExit = fake.faults.delayedInFlight;
    fake.faults.responseDelayMs = 0;
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(
      cli.stderr,
      /^error: the API server at https:\/\/127\.0\.0\.1:\d+ \(context "fake"\) did not answer within 0\.5s while trying to list \S+.* \[EV_ERR_KUBE_UNREACHABLE\]\nhint: .*--request-timeout/m,
    );
    assert.ok(heldAtExit >= 1, 'the CLI gave up before the server answered');
  });

  it('no kubeconfig at all: EV_ERR_KUBECONFIG_MISSING, not a silent localhost:8080', async () => {
    const cli = await runCli(['status'], { HOME: fake.dir + '/nohome' });
    assert.equal(cli.code, 3);
    assert.match(cli.stderr, /\[EV_ERR_KUBECONFIG_MISSING\]/);
  });
});
