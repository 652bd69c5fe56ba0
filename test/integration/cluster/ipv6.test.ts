/**
 * IPv6-only clusters (issue 8, defect 3): with the fake in IPv6 mode every
 * pod's address is `::1` and a process listening on `0.0.0.0` is unreachable
 * to probes, port-forwards and Services, as on kind `ipFamily: ipv6` or EKS
 * IPv6. The sink must become Ready and be usable through the tunnel.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink } from '../../../plugin/lib/kube/cluster-sink.ts';

async function smtpGreeting(port: number): Promise<string> {
  const socket = createConnection(port, '127.0.0.1');
  socket.setEncoding('utf8');
  try {
    const [line] = (await once(socket, 'data')) as [string];
    return line;
  } finally {
    socket.destroy();
  }
}

describe('cluster: an IPv6-only cluster (fake in IPv6 mode)', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  before(async () => {
    fake = await startFakeKube({ ipFamily: 'IPv6' });
  });
  after(async () => {
    await fake.close();
  });

  it("the sink becomes Ready on the pod's IPv6 address, and the API and SMTP work through the tunnel", async () => {
    const kube = { kubeconfig: fake.kubeconfigPath };
    const sink = await createSink(kube, { wait: '20s' });
    try {
      const pod = fake.get('pods', sink.namespace, sink.pods[0])!;
      assert.equal((pod as { status?: { podIP?: string } }).status?.podIP, '::1');
      const open = await openClusterSink(kube, { namespace: sink.namespace });
      try {
        const info = await fetch(`${open.sinks[0].apiUrl}/api/info`, {
          headers: { authorization: `Bearer ${open.token}` },
        });
        assert.equal(info.status, 200);
        assert.match(await smtpGreeting(open.sinks[0].smtp.port), /^220 /);
      } finally {
        await open.close();
      }
    } finally {
      await sink.destroy();
    }
  });

  it('a process listening on 0.0.0.0 is unreachable on the pod address; one on :: is, also through a Service name', async () => {
    const ns = 'v6';
    fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const server = (host: string) =>
      `require('http').createServer((q, s) => s.end('ok from ${host}')).listen(8080, '${host}')`;
    const podOf = (name: string, host: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'node:24-alpine',
            command: ['node', '-e', server(host)],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
          },
        ],
      },
    });
    fake.create(podOf('v4-only', '0.0.0.0'));
    fake.create(podOf('dual', '::'));
    fake.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dual', namespace: ns },
      spec: { selector: { app: 'dual' }, ports: [{ port: 80, targetPort: 'http' }] },
    });
    const ready =
      (name: string) =>
      (p: {
        metadata: { name?: string };
        status?: { conditions?: Array<{ type: string; status: string }> };
      }) =>
        p.metadata.name === name &&
        (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    await fake.waitFor('pods', ready('dual'), 20_000);
    // A client pod reaches the dual-stack server through its Service name (port 80 -> targetPort http).
    fake.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client', namespace: ns },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'c',
            image: 'node:24-alpine',
            env: [{ name: 'URL', value: `http://dual.${ns}.svc.cluster.local:80/` }],
            command: [
              'node',
              '-e',
              'fetch(process.env.URL).then(async (r) => console.log(process.env.URL, r.status, await r.text()))',
            ],
          },
        ],
      },
    });
    await fake.waitFor(
      'pods',
      (p: { metadata: { name?: string }; status?: { phase?: string } }) =>
        p.metadata.name === 'client' && p.status?.phase === 'Succeeded',
      20_000,
    );
    assert.match(fake.podLogs(ns, 'client') ?? '', /^http:\/\/\[::1\]:\d+\/ 200 ok from ::$/m);
    // The IPv4-only one never passes its probe: the kubelet probes the pod's IPv6 address.
    const v4 = fake.get('pods', ns, 'v4-only') as {
      status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
    };
    assert.equal(v4.status?.phase, 'Running');
    assert.ok(
      !(v4.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      'never Ready',
    );
  });
});
