/**
 * `run` in a cluster, end to end against the fake Kubernetes API server: a
 * sink is created for the run, reached through port-forward tunnels, used by
 * send / expect / expectEvent / job steps, and deleted afterwards, also when
 * the flow fails and on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeKube } from '../../support/fake-kube/index.ts';
import { cleanEnv, RUN_JS, runCli, useFakeClusterPerTest } from '../cli/cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'ev-flow-cluster-'));

function flowFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `apiVersion: email-validate.dev/v1\nkind: EmailFlow\n${body}`);
  return path;
}

function managedNamespaces(fake: FakeKube): string[] {
  return fake
    .list('namespaces')
    .map((n) => n.metadata.name ?? '')
    .filter((n) => n.startsWith('email-validation-'));
}

describe('run in a cluster (fake API server)', function () {
  this.timeout(120_000);
  const cluster = useFakeClusterPerTest();

  it('creates a sink, passes the articles flow through tunnels, and deletes the sink', async () => {
    const r = await runCli(['run', 'examples/articles-flow.yaml'], {
      env: cluster.env,
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /creating namespace email-validation-/);
    assert.match(r.stdout, /^PASSED articles-flow /m);
    assert.match(r.stdout, /✓ the sink rejected it with 550 5\.1\.1/);
    assert.deepEqual(managedNamespaces(cluster.fake), [], 'nothing left behind');
  });

  it('runs job steps as Jobs (log shown on failure) and still deletes the sink when the flow fails', async () => {
    const file = flowFile(
      'jobs.yaml',
      `steps:
  - name: script ok
    job: { image: "node:24-alpine", runAsUser: 1000, command: [node, -e, "console.log('hi', process.env.RUN)"], env: { RUN: "{{run.id}}" } }
  - name: script fails
    job: { image: "node:24-alpine", runAsUser: 1000, command: [node, -e, "console.error('boom'); process.exit(3)"] }
`,
    );
    const r = await runCli(['run', file], { env: cluster.env, timeoutMs: 90_000 });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /✓ script ok: job node:24-alpine completed \(exit 0\)/);
    assert.match(r.stdout, /✗ script fails: job node:24-alpine failed with exit code 3/);
    assert.match(r.stdout, /log: boom/);
    assert.deepEqual(managedNamespaces(cluster.fake), []);
  });

  it('a job step passes restricted Pod Security; an image that runs as root fails at once with the reason, not at the deadline', async () => {
    const file = flowFile(
      'root.yaml',
      `steps:
  - name: as uid 1000
    job: { image: "node:24-alpine", runAsUser: 1000, command: [node, -e, "console.log('uid ok')"] }
  - name: as root
    timeout: 10m
    job: { image: "node:24-alpine", command: [node, -e, "console.log('never')"] }
`,
    );
    let restricted = false;
    const unsubscribe = setInterval(() => {
      for (const ns of cluster.fake.list('namespaces'))
        if (
          ns.metadata.name?.startsWith('email-validation-') &&
          ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted'
        )
          restricted = true;
    }, 20);
    const r = await runCli(['run', file], { env: cluster.env, timeoutMs: 90_000 }).finally(() =>
      clearInterval(unsubscribe),
    );
    assert.ok(restricted, 'the job ran in a namespace enforcing restricted Pod Security');
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /✓ as uid 1000: job node:24-alpine completed \(exit 0\)/);
    assert.match(
      r.stdout,
      /✗ as root: job node:24-alpine failed: the pod cannot start \(CreateContainerConfigError: container has runAsNonRoot and image will run as root .*\); the image runs as root, which the namespace's restricted Pod Security forbids: set runAsUser in the job step/,
    );
    assert.deepEqual(managedNamespaces(cluster.fake), []);
  });

  it("a job step whose pod the cluster refuses (a quota, a webhook) fails at once with the refusal from the Job's FailedCreate Event", async () => {
    cluster.fake.refusePods({
      labelSelector: 'app.kubernetes.io/component=flow-job',
      message: 'exceeded quota: pods-quota, requested: pods=1, used: pods=10, limited: pods=10',
    });
    const file = flowFile(
      'quota.yaml',
      `steps:
  - name: no room
    timeout: 10m
    job: { image: "node:24-alpine", runAsUser: 1000, command: [node, -e, "1"] }
`,
    );
    const r = await runCli(['run', file], { env: cluster.env, timeoutMs: 90_000 });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /✗ no room: job node:24-alpine failed: the Job could not create its pod: pods "flow-job-[0-9a-f]+-[a-z0-9]{5}" is forbidden: exceeded quota: pods-quota/,
    );
    assert.deepEqual(managedNamespaces(cluster.fake), []);
  });

  it('a job sends mail to the sink over its Service ({{sink.namespace}}), and expect sees it', async () => {
    const r = await runCli(['run', 'test/integration/flow/fixtures/job-sends-mail.yaml'], {
      env: cluster.env,
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /✓ a job sends mail the way the app does: job node:24-alpine completed/);
    assert.match(
      r.stdout,
      /matched 1 of 1: message \S+ from job@x\.test to job\+\w+@example\.test, subject "from a job"/,
    );
  });

  it('reaches in-cluster services (http://svc.ns.svc.cluster.local) through a tunnel to a ready pod', async () => {
    cluster.fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    cluster.fake.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'node:24-alpine',
            command: [
              'node',
              '-e',
              "require('node:http').createServer((q, s) => { s.statusCode = q.url.startsWith('/missing') ? 404 : 200; s.end(JSON.stringify({ path: q.url, host: q.headers.host })); }).listen(8080, process.env.EV_HOST)",
            ],
            env: [{ name: 'EV_HOST', value: '0.0.0.0' }],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 } },
          },
        ],
      },
    });
    cluster.fake.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
    });
    await cluster.fake.waitFor(
      'pods',
      (p) =>
        p.metadata.name === 'web' &&
        (
          ((p.status ?? {}) as { conditions?: Array<{ type: string; status: string }> })
            .conditions ?? []
        ).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
      30_000,
    );
    const file = flowFile(
      'svc.yaml',
      `steps:
  - name: signup
    http: { method: POST, url: "http://web.shop.svc.cluster.local/signup", json: { u: "{{run.id}}" }, responseBody: '/"path":"\\/signup","host":"web\\.shop\\.svc\\.cluster\\.local"/' }
  - name: missing
    http: { url: "http://web.shop.svc/missing", status: 200 }
`,
    );
    const r = await runCli(['run', file], { env: cluster.env, timeoutMs: 90_000 });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /✓ signup: POST http:\/\/web\.shop\.svc\.cluster\.local\/signup answered 200/,
    );
    assert.match(
      r.stdout,
      /✗ missing: GET http:\/\/web\.shop\.svc\/missing: status 404, expected 200/,
    );
    assert.deepEqual(managedNamespaces(cluster.fake), []);
  });

  it('reuses the sink in -n NAMESPACE, leaves it in place and puts its rules back', async () => {
    const up = await runCli(['up', '-o', 'json'], { env: cluster.env, timeoutMs: 90_000 });
    assert.equal(up.code, 0, up.stderr);
    const { namespace } = JSON.parse(up.stdout) as { namespace: string };
    const file = flowFile(
      'reuse.yaml',
      `metadata: { name: reuse }
sink:
  rules:
    - { name: flow-rule, match: { recipient: "blocked+*@example.test" }, reject: { code: 554 } }
steps:
  - send: { to: "blocked+{{run.id}}@example.test" }
  - expectEvent: { type: rejected, to: "blocked+{{run.id}}@example.test", code: 554 }
`,
    );
    const r = await runCli(['run', '-n', namespace, file], { env: cluster.env, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /creating namespace/);
    assert.deepEqual(
      managedNamespaces(cluster.fake),
      [namespace],
      'the sink we were pointed at stays',
    );
    const rules = await runCli(['rules', 'get', '-n', namespace], { env: cluster.env });
    assert.equal(rules.code, 0, rules.stderr);
    assert.doesNotMatch(rules.stdout, /flow-rule/, "the flow's rules are gone after the run");
  });

  it('warns that a run follows one pod when the reused sink has several replicas', async () => {
    const up = await runCli(['up', '-o', 'json', '--replicas', '2'], {
      env: cluster.env,
      timeoutMs: 90_000,
    });
    assert.equal(up.code, 0, up.stderr);
    const { namespace } = JSON.parse(up.stdout) as { namespace: string };
    const file = flowFile(
      'two-pods.yaml',
      'steps:\n  - send: { to: "a+{{run.id}}@example.test" }\n  - expect: { to: "a+{{run.id}}@example.test" }\n',
    );
    const r = await runCli(['run', '-n', namespace, file], { env: cluster.env, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^warning: the sink in ${namespace} has 2 pods; this run follows email-sink-\\S+ only`,
        'm',
      ),
    );
  });

  it('keeps the sink with --keep', async () => {
    const r = await runCli(['run', '--keep', 'examples/articles-flow.yaml'], {
      env: cluster.env,
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--keep: the sink in namespace email-validation-\S+ stays/);
    assert.equal(managedNamespaces(cluster.fake).length, 1);
  });

  it('Ctrl-C during a step deletes the sink and exits 130', async () => {
    const file = flowFile('wait.yaml', 'steps:\n  - timeout: 5m\n    expect: { subject: never }\n');
    const child = spawn(process.execPath, [RUN_JS, 'run', file], {
      env: cleanEnv(cluster.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/flow wait .* 1 steps/.test(stderr)) resolve();
      });
      child.on('close', () => reject(new Error(`exited early: ${stderr}`)));
    });
    assert.equal(managedNamespaces(cluster.fake).length, 1, 'the sink exists while the flow runs');
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => resolve(code)),
    );
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted: cleaning up .*the sink in the cluster/);
    assert.deepEqual(managedNamespaces(cluster.fake), []);
  });
});
