import assert from 'node:assert/strict';
import { runFlowFiles, type FlowSinkApi } from '../../../plugin/lib/flow/run-flows.ts';

const FLOW = `apiVersion: email-validate.dev/v1
kind: EmailFlow
metadata: { name: restart }
steps:
  - timeout: 1m
    expect: { subject: never }
  - expect: { subject: never }
`;

/** A sink API whose feed says hello as `first`, then (after `restartAfterMs`) as `second`. */
function feedApi(first: string, second: string): FlowSinkApi {
  return {
    info: async () => ({ lastSeq: 0, smtp: { host: '127.0.0.1', port: 1 } }),
    get: async () => { throw new Error('no messages'); },
    rules: async () => '',
    setRules: async () => ({ count: 0 }),
    events: (o) => new Promise<void>((resolve) => {
      o.onHello?.({ type: 'hello', protocol: 1, instance: first, oldestSeq: 1, lastSeq: 0 });
      const timer = setTimeout(() => o.onHello?.({ type: 'hello', protocol: 1, instance: second, oldestSeq: 1, lastSeq: 0 }), 50);
      o.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    }),
  };
}

async function run(api: FlowSinkApi, timeoutMs: number | null) {
  return runFlowFiles({
    files: ['restart.yaml'], readFile: async () => FLOW, cluster: false, env: {}, timeoutMs,
    signal: new AbortController().signal, registerCleanup: () => () => undefined,
    acquireSink: async () => ({ mode: 'external', url: 'http://sink.test', smtp: { host: '127.0.0.1', port: 1 }, api, restoreRules: false, release: async () => undefined }),
  });
}

describe('runFlowFiles: the sink restarting mid-run', () => {
  it('ends the flow as a sink error (exit 3) at once, not as expectations failing at their deadline', async () => {
    const report = await run(feedApi('pod-a', 'pod-b'), null);
    const steps = report.flows[0].steps;
    assert.equal(report.status, 'error');
    assert.deepEqual(steps.map((s) => s.status), ['error', 'skipped']);
    assert.equal(steps[0].errorCode, 'EV_ERR_SINK_UNREACHABLE');
    assert.match(steps[0].summary, /restarted during the run/);
  });

  it('a reconnect to the same instance is no restart', async () => {
    const report = await run(feedApi('pod-a', 'pod-a'), 300);
    assert.deepEqual(report.flows[0].steps.map((s) => s.status), ['failed', 'skipped'], 'ran until the --timeout budget, no sink error');
  });
});
