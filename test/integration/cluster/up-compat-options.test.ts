/**
 * `up --release-to` and `--cors-origin` (issue 13): they reach the sink in
 * the cluster (the real bundle, run by the fake API server), where a MailHog
 * release relays to the allowed server and the MailHog routes carry the CORS
 * origin; a bad value is a usage error before anything is applied.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { openClusterSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import { waitForEvent } from '../sink/wait-event.ts';
import { runCli } from './helpers.ts';

/** One message through the local end of the SMTP tunnel; resolves with the last reply line. */
async function smtpSend(port: number, subject: string): Promise<string> {
  const socket = createConnection(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const reply = async (): Promise<string> => {
    for (;;) {
      const end = buffer.search(/(^|\n)\d{3} [^\n]*\n/);
      if (end >= 0) {
        const line = buffer.slice(end).trim();
        buffer = '';
        return line;
      }
      const [chunk] = (await once(socket, 'data')) as [string];
      buffer += chunk;
    }
  };
  await reply();
  let last = '';
  for (const cmd of [
    'EHLO test',
    'MAIL FROM:<app@example.com>',
    'RCPT TO:<carol@example.com>',
    'DATA',
  ]) {
    socket.write(`${cmd}\r\n`);
    last = await reply();
  }
  socket.write(
    `From: app@example.com\r\nTo: carol@example.com\r\nSubject: ${subject}\r\n\r\nhi\r\n.\r\n`,
  );
  last = await reply();
  socket.end('QUIT\r\n');
  return last;
}

describe('cluster: up --release-to and --cors-origin (fake API server)', function () {
  this.timeout(90_000);
  let fake: FakeKube;
  let relayTarget: RunningSink;
  before(async () => {
    relayTarget = await startSink({ logger: silentLogger, noAuth: true });
  });
  after(async () => {
    await relayTarget?.stop();
  });
  beforeEach(async () => {
    fake = await startFakeKube();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('reach the sink: a MailHog release relays to the allowed server, others get 403; the MailHog routes answer with the CORS origin', async () => {
    const env = { KUBECONFIG: fake.kubeconfigPath };
    const allowed = `127.0.0.1:${relayTarget.smtpPort}`;
    const up = await runCli(
      ['up', '-o', 'json', '--release-to', allowed, '--cors-origin', 'https://app.example'],
      env,
    );
    assert.equal(up.code, 0, up.stderr);
    const ns = (JSON.parse(up.stdout) as { namespace: string }).namespace;
    const deployment = fake.get('deployments', ns, 'email-sink') as unknown as {
      spec: {
        template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
      };
    };
    const containerEnv = deployment.spec.template.spec.containers[0].env;
    assert.deepEqual(
      containerEnv.filter((e) => e.name === 'EV_RELEASE_TO' || e.name === 'EV_CORS_ORIGIN'),
      [
        { name: 'EV_RELEASE_TO', value: allowed },
        { name: 'EV_CORS_ORIGIN', value: 'https://app.example' },
      ],
    );

    const open = await openClusterSink({ kubeconfig: fake.kubeconfigPath }, { namespace: ns });
    try {
      const api = open.sinks[0].apiUrl;
      const auth = { authorization: `Bearer ${open.token}` };
      assert.match(await smtpSend(open.sinks[0].smtp.port, 'Release me'), /^250 /);
      const list = (await (await fetch(`${api}/api/v2/messages`, { headers: auth })).json()) as {
        items: Array<{ ID: string }>;
      };
      const id = list.items[0].ID;

      const preflight = await fetch(`${api}/api/v2/messages`, { method: 'OPTIONS', headers: auth });
      assert.equal(preflight.status, 200);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');

      const release = (host: string, port: string) =>
        fetch(`${api}/api/v1/messages/${id}/release`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ Host: host, Port: port, Email: 'dave@example.net' }),
        });
      const arrived = waitForEvent(
        relayTarget.context.events,
        (e) => e.type === 'message.received',
      );
      assert.equal((await release('127.0.0.1', String(relayTarget.smtpPort))).status, 200);
      const summary = ((await arrived) as SinkEvent<'message.received'>).data;
      assert.equal(summary.subject, 'Release me');
      assert.deepEqual(
        summary.envelope.rcptTo.map((r) => r.address),
        ['dave@example.net'],
      );
      assert.equal((await release('smtp.example.com', '25')).status, 403);
    } finally {
      await open.close();
    }
    const down = await runCli(['down', ns], env);
    assert.equal(down.code, 0, down.stderr);
  });

  it('a bad --release-to or --cors-origin is a usage error naming the option, before anything is created', async () => {
    const env = { KUBECONFIG: fake.kubeconfigPath };
    const bad = await runCli(['up', '--release-to', 'smtp.example.com:99999'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--release-to/);
    assert.match(bad.stderr, /EV_ERR_INVALID_OPTION/);
    const badCors = await runCli(['up', '--cors-origin', 'https://a.example\r\nX-Evil: 1'], env);
    assert.notEqual(badCors.code, 0);
    assert.match(badCors.stderr, /--cors-origin/);
    assert.equal(
      fake.requests.filter((r) => r.method !== 'GET').length,
      0,
      'nothing was created or applied',
    );
  });
});
