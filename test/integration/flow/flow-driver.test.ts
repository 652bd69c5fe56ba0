import assert from 'node:assert/strict';
import { createFlowDriver, type FlowMailTransport } from '../../../plugin/lib/flow/flow-driver.ts';
import { startMockApp, type MockApp } from '../../../plugin/lib/flow/mock-app.ts';
import type { OutgoingMail } from '../../../src/flow/runner.ts';

const MAIL: OutgoingMail = {
  from: 'a@x.test',
  to: ['ok@x.test', 'bad@x.test'],
  cc: [],
  bcc: [],
  subject: 's',
  text: 't',
  html: null,
  headers: {},
  attachments: [],
};

function transport(
  fn: (m: Record<string, unknown>) => Promise<{
    accepted?: unknown[];
    rejectedErrors?: Array<{ responseCode?: number; response?: string; recipient?: string }>;
  }>,
): FlowMailTransport {
  return { sendMail: fn, close: () => undefined };
}

describe('flow driver', () => {
  let mock: MockApp;
  before(async () => {
    mock = await startMockApp();
  });
  after(async () => {
    await mock.close();
  });

  it('classifies per-recipient SMTP outcomes: accepted, rejected (5xx), deferred (4xx)', async () => {
    const driver = createFlowDriver({
      smtp: { host: '127.0.0.1', port: 1 },
      transport: transport(async () => ({
        accepted: ['ok@x.test'],
        rejectedErrors: [
          { responseCode: 550, response: '550 5.1.1 no', recipient: 'bad@x.test' },
          { responseCode: 451, response: '451 4.7.1 later', recipient: 'later@x.test' },
        ],
      })),
    });
    const o = await driver.sendMail(MAIL, new AbortController().signal);
    assert.deepEqual(o.accepted, ['ok@x.test']);
    assert.deepEqual(o.rejected, [
      { recipient: 'bad@x.test', code: 550, response: '550 5.1.1 no' },
    ]);
    assert.deepEqual(o.deferred, [
      { recipient: 'later@x.test', code: 451, response: '451 4.7.1 later' },
    ]);
    await driver.close();
  });

  it('a reply error for the whole message applies to every recipient; a connection failure is EV_ERR_SINK_UNREACHABLE', async () => {
    const refused = createFlowDriver({
      smtp: { host: '127.0.0.1', port: 1 },
      transport: transport(async () => {
        throw Object.assign(new Error('Mail command failed'), {
          responseCode: 554,
          response: '554 5.7.1 go away',
        });
      }),
    });
    const o = await refused.sendMail(MAIL, new AbortController().signal);
    assert.deepEqual(
      o.rejected.map((r) => [r.recipient, r.code]),
      [
        ['ok@x.test', 554],
        ['bad@x.test', 554],
      ],
    );
    const down = createFlowDriver({
      smtp: { host: '127.0.0.1', port: 1 },
      transport: transport(async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNECTION' });
      }),
    });
    await assert.rejects(
      down.sendMail(MAIL, new AbortController().signal),
      (err: { code?: string; message?: string }) =>
        err.code === 'EV_ERR_SINK_UNREACHABLE' && /127\.0\.0\.1:1/.test(err.message ?? ''),
    );
  });

  it('an abort ends a hanging send without an unhandled rejection later', async () => {
    let fail!: (e: Error) => void;
    const driver = createFlowDriver({
      smtp: { host: '127.0.0.1', port: 1 },
      transport: transport(
        () =>
          new Promise((_, reject) => {
            fail = reject;
          }),
      ),
    });
    const controller = new AbortController();
    const pending = driver.sendMail(MAIL, controller.signal);
    controller.abort(new Error('step timed out'));
    await assert.rejects(pending, /step timed out/);
    fail(new Error('socket closed'));
  });

  it('http: method, headers and body reach the application; the answer is read', async () => {
    const driver = createFlowDriver({
      smtp: { host: '127.0.0.1', port: 1 },
      transport: transport(async () => ({})),
    });
    const r = await driver.httpRequest(
      {
        method: 'POST',
        url: `${mock.url}/signup?status=201`,
        headers: { 'content-type': 'application/json', 'x-run': 'r1' },
        body: '{"a":1}',
      },
      new AbortController().signal,
    );
    assert.equal(r.status, 201);
    assert.match(r.body, /"path":"\/signup"/);
    const seen = mock.requests.at(-1);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.headers['x-run'], 'r1');
    assert.equal(seen?.body, '{"a":1}');
    await assert.rejects(
      driver.httpRequest(
        { method: 'GET', url: 'http://127.0.0.1:1/', headers: {}, body: null },
        new AbortController().signal,
      ),
      (err: { code?: string }) => err.code === 'EV_ERR_FLOW_STEP',
    );
    await assert.rejects(
      driver.httpRequest(
        { method: 'GET', url: 'http://app.shop.svc.cluster.local/', headers: {}, body: null },
        new AbortController().signal,
      ),
      /cluster-internal address and this run has no cluster/,
    );
    await driver.close();
  });

  it('link probes follow redirects, report failures, and fetch each URL once', async () => {
    const driver = createFlowDriver({
      smtp: { host: '127.0.0.1', port: 1 },
      transport: transport(async () => ({})),
    });
    const before = mock.requests.length;
    assert.deepEqual(await driver.probeLink(`${mock.url}/confirm?x=1`), {
      status: 200,
      error: null,
    });
    assert.deepEqual(await driver.probeLink(`${mock.url}/confirm?x=1`), {
      status: 200,
      error: null,
    });
    assert.equal(mock.requests.length - before, 1, 'cached per run');
    assert.deepEqual(await driver.probeLink(`${mock.url}/gone?status=410`), {
      status: 410,
      error: null,
    });
    assert.deepEqual(
      await driver.probeLink(
        `${mock.url}/track?redirect=${encodeURIComponent('/landing?status=204')}`,
      ),
      { status: 204, error: null },
    );
    assert.equal(mock.requests.at(-1)?.path, '/landing?status=204', 'the redirect was followed');
    const dead = await driver.probeLink('http://127.0.0.1:1/');
    assert.equal(dead.status, null);
    assert.match(dead.error ?? '', /ECONNREFUSED/);
    await driver.close();
  });
});
