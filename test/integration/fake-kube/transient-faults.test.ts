/**
 * Transient faults of the fake (issue 8): 429 with Retry-After, 500, 503, a
 * reset connection and a watch closed early, on any request, seen by real
 * kubectl and by the plugin's `up`, which must ride them out (defect 5).
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startFakeKube, FAKE_KUBE_CA_PEM, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { kubectl } from './helpers.ts';

/** One raw request; resolves with the status and headers, or the socket error code. */
function raw(
  fake: FakeKube,
  path: string,
): Promise<{ status?: number; headers?: Record<string, unknown>; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: fake.host,
        port: fake.port,
        path,
        ca: FAKE_KUBE_CA_PEM,
        agent: false,
        headers: { authorization: `Bearer ${fake.token}` },
      },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => {
            body += c;
          })
          .on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('fake-kube: transient faults', function () {
  this.timeout(60_000);
  let fake: FakeKube;
  beforeEach(async () => {
    fake = await startFakeKube();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('429 carries Retry-After and the APF wording; 500 and 503 are Status objects; a reset gets no answer', async () => {
    fake.faults.injectTransient({ kind: 'status', status: 429, retryAfterSeconds: 2 }, 1, {
      path: '/namespaces',
    });
    fake.faults.injectTransient({ kind: 'status', status: 500 }, 1, { path: '/namespaces' });
    fake.faults.injectTransient({ kind: 'status', status: 503, retryAfterSeconds: 1 }, 1, {
      path: '/namespaces',
    });
    fake.faults.injectTransient({ kind: 'reset' }, 1, { path: '/namespaces' });
    const throttled = await raw(fake, '/api/v1/namespaces');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers?.['retry-after'], '2');
    assert.match(throttled.body ?? '', /"reason":"TooManyRequests"/);
    assert.match(throttled.body ?? '', /"message":"Too many requests, please try again later\."/);
    const failed = await raw(fake, '/api/v1/namespaces');
    assert.equal(failed.status, 500);
    assert.match(failed.body ?? '', /"reason":"InternalError"/);
    const unavailable = await raw(fake, '/api/v1/namespaces');
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers?.['retry-after'], '1');
    const reset = await raw(fake, '/api/v1/namespaces');
    assert.equal(reset.error, 'ECONNRESET');
    assert.equal((await raw(fake, '/api/v1/namespaces')).status, 200, 'faults are used up');
    assert.equal(fake.faults.transientsServed, 4);
    assert.equal(fake.faults.pendingTransients, 0);
  });

  it('real kubectl retries a 429 after its Retry-After, and reports a 500 as the server words it', async () => {
    fake.faults.injectTransient({ kind: 'status', status: 429, retryAfterSeconds: 1 }, 1, {
      method: 'GET',
      path: '/api/v1/namespaces',
    });
    const ok = await kubectl(fake, ['get', 'namespaces', '-o', 'name']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /namespace\/default/);
    const statuses = fake.requests
      .filter((r) => r.path === '/api/v1/namespaces')
      .map((r) => r.status);
    assert.deepEqual(statuses.slice(0, 2), [429, 200]);
    fake.faults.injectTransient({ kind: 'status', status: 500 }, 1, {
      method: 'GET',
      path: '/api/v1/namespaces/default',
    });
    const failed = await kubectl(fake, ['get', 'namespace', 'default']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Error from server \(InternalError\)/);
  });

  it('a watch closed early ends cleanly after the given number of events; kubectl get -w exits', async () => {
    fake.faults.injectTransient({ kind: 'watch-close', afterEvents: 1 }, 1, {
      path: '/namespaces',
    });
    const watched = await raw(fake, '/api/v1/namespaces?watch=true');
    assert.equal(watched.status, 200);
    const events = (watched.body ?? '')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED'],
    );
    fake.faults.injectTransient({ kind: 'watch-close', afterEvents: 0 }, 1, { watch: true });
    const empty = await raw(fake, '/api/v1/namespaces?watch=true');
    assert.equal(empty.status, 200);
    assert.equal(empty.body, '');
  });

  it('port-forward upgrades get the faults too (503, reset); the tunnel retries them', async () => {
    const sink = await createSink({ kubeconfig: fake.kubeconfigPath }, { wait: '30s' });
    const open = await openClusterSink(
      { kubeconfig: fake.kubeconfigPath },
      { namespace: sink.namespace },
    );
    try {
      fake.faults.injectTransient({ kind: 'status', status: 503, retryAfterSeconds: 1 }, 1, {
        path: '/portforward',
      });
      fake.faults.injectTransient({ kind: 'reset' }, 1, { path: '/portforward' });
      const res = await fetch(`${open.sinks[0].apiUrl}/api/info`, {
        headers: { authorization: `Bearer ${open.token}` },
      });
      assert.equal(res.status, 200);
      assert.equal(fake.faults.pendingTransients, 0);
      const upgrades = fake.requests
        .filter((r) => r.path.endsWith('/portforward'))
        .map((r) => r.status);
      assert.deepEqual(upgrades.slice(-3), [503, 0, 101], 'refused, reset, then accepted');
    } finally {
      await open.close();
      await sink.destroy();
    }
  });

  it('defect 5: `up` rides out a 429 (Retry-After), a 503, a 500 and a reset connection during the readiness wait, and a 503 on an apply', async () => {
    const readinessReads = { method: 'GET', watch: false };
    fake.faults.injectTransient({ kind: 'status', status: 429, retryAfterSeconds: 1 }, 1, {
      ...readinessReads,
      path: '/deployments/email-sink',
    });
    fake.faults.injectTransient({ kind: 'status', status: 503 }, 1, {
      ...readinessReads,
      path: '/pods',
    });
    fake.faults.injectTransient({ kind: 'reset' }, 1, { ...readinessReads, path: '/pods' });
    fake.faults.injectTransient({ kind: 'status', status: 500 }, 1, {
      ...readinessReads,
      path: '/pods',
    });
    // And one on an apply (server-side apply is idempotent, so it is sent again).
    fake.faults.injectTransient({ kind: 'status', status: 503 }, 1, {
      method: 'PATCH',
      path: '/deployments/email-sink',
    });
    const lines: string[] = [];
    const sink = await createSink(
      { kubeconfig: fake.kubeconfigPath },
      { wait: '30s', onStatus: (l) => lines.push(l) },
    );
    try {
      assert.equal(fake.faults.pendingTransients, 0, 'every fault was hit');
      assert.ok(fake.get('namespaces', undefined, sink.namespace), 'the namespace was kept');
      assert.equal(sink.pods.length, 1);
      assert.ok(
        lines.some((l) => /429.*trying again in 1s \(Retry-After\)/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await sink.destroy();
    }
  });
});
