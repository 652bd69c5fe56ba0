/**
 * Flow benchmarks (`npm run bench:flow`, builds first). Prints figures; asserts nothing.
 *
 * 1. The local example flow, start to exit: `run --local examples/articles-flow.yaml`
 *    through the built CLI, median of several runs (target <= 1.5 s), next to
 *    the CLI's own start-up (`version`) and a bare `node -e 0` measured in the
 *    same run.
 * 2. 100 expectations evaluated against 1,000 arriving messages (target <= 200 ms
 *    of evaluation time), next to ingesting the same messages with no
 *    expectation registered.
 */
import { spawnSync } from 'node:child_process';
import { FakeClock } from '../support/fake-clock.ts';
import { compileCriteria } from '../../src/flow/criteria.ts';
import { watchMessages } from '../../src/flow/expectations.ts';
import { FlowHistory } from '../../src/flow/history.ts';
import { parseFlow } from '../../src/flow/parse.ts';
import type { ExpectStep } from '../../src/flow/types.ts';
import type { MessageDetail, SinkEvent } from '../../src/protocol.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeCommand(args: string[]): { ms: number; code: number | null } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { ms: performance.now() - t0, code: r.status };
}

function benchLocalFlow(): void {
  const node: number[] = [];
  const version: number[] = [];
  const flow: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    node.push(timeCommand(['-e', '0']).ms);
    version.push(timeCommand(['plugin/bin/run.js', 'version']).ms);
    const r = timeCommand(['plugin/bin/run.js', 'run', '--local', 'examples/articles-flow.yaml']);
    if (r.code !== 0) throw new Error(`the example flow failed (exit ${r.code})`);
    flow.push(r.ms);
  }
  const m = median(flow);
  console.log(`local example flow (run --local examples/articles-flow.yaml), ${RUNS} runs:`);
  console.log(`  node -e 0 median            ${median(node).toFixed(0)} ms`);
  console.log(`  CLI start-up (version)       ${median(version).toFixed(0)} ms`);
  console.log(
    `  flow, start to exit median   ${m.toFixed(0)} ms (min ${Math.min(...flow).toFixed(0)}, max ${Math.max(...flow).toFixed(0)}); target <= 1500 ms: ${m <= 1500 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `  flow minus CLI start-up      ${(m - median(version)).toFixed(0)} ms (includes the example's 200 ms expectNone window)`,
  );
}

function message(i: number): MessageDetail {
  const to = `user${i % 100}+run@example.test`;
  return {
    id: `m${i}`,
    time: '2026-11-28T00:00:00.000Z',
    envelope: {
      helo: 'h',
      mailFrom: { address: 'app@example.test', tag: null },
      rcptTo: [{ address: to, tag: 'run' }],
      clientAddress: '127.0.0.1',
      tls: false,
      authUser: null,
    },
    from: 'App <app@example.test>',
    to: [to],
    subject: `Order ${i} confirmed`,
    messageId: `<m${i}@x>`,
    size: 2048,
    parsed: true,
    parseError: null,
    headers: [{ name: 'X-Order', value: String(i) }],
    text: `Thanks for order ${i}. Track it at https://shop.test/orders/${i}`,
    html: `<a href="https://shop.test/orders/${i}">track</a>`,
    attachments: [],
    analysis: null,
  };
}

async function benchEvaluation(): Promise<void> {
  const N_MSG = 1000;
  const N_EXP = 100;
  const details = Array.from({ length: N_MSG }, (_, i) => message(i));
  const byId = new Map(details.map((d) => [d.id, d]));
  const events: SinkEvent[] = details.map((d, i) => {
    const { headers: _h, text: _t, html: _x, attachments: _a, analysis: _an, ...summary } = d;
    return { seq: i + 1, time: d.time, type: 'message.received', data: summary };
  });
  // Half the expectations need only the summary; half need the body and links (a detail fetch).
  const yaml = Array.from({ length: N_EXP }, (_, k) =>
    k % 2 === 0
      ? `  - expect: { to: "user${k}+run@example.test", subject: "/^Order \\\\d+ confirmed$/", count: ${N_MSG / 100} }`
      : `  - expect: { to: "/^user${k}\\\\+/", text: "/Thanks for order \\\\d+/", link: "/shop\\\\.test\\\\/orders\\\\//", count: ${N_MSG / 100} }`,
  ).join('\n');
  const flow = parseFlow(
    `apiVersion: email-validate.dev/v1\nkind: EmailFlow\nsteps:\n${yaml}\n`,
    'bench.yaml',
  );

  const run = async (withExpectations: boolean): Promise<{ ms: number; passed: number }> => {
    const history = new FlowHistory(async (id) => byId.get(id) as MessageDetail);
    const clock = new FakeClock();
    const t0 = performance.now();
    const watches = withExpectations
      ? flow.steps.map((s) =>
          watchMessages({
            history,
            clock,
            timeoutMs: 60_000,
            mode: 'expect',
            count: (s.action as ExpectStep).count,
            criteria: compileCriteria((s.action as ExpectStep).criteria, {
              run: { id: 'run' },
              env: {},
            }),
            probeLink: async () => ({ status: 200, error: null }),
          }),
        )
      : [];
    for (const e of events) history.ingest(e);
    const outcomes = await Promise.all(watches);
    return { ms: performance.now() - t0, passed: outcomes.filter((o) => o.ok).length };
  };

  for (let i = 0; i < 3; i++) await run(true); // warm-up
  const base: number[] = [];
  const full: number[] = [];
  let passed = 0;
  for (let i = 0; i < RUNS; i++) {
    base.push((await run(false)).ms);
    const r = await run(true);
    full.push(r.ms);
    passed = r.passed;
  }
  const m = median(full);
  console.log(
    `\n${N_EXP} expectations against ${N_MSG} arriving messages (${passed}/${N_EXP} satisfied), ${RUNS} runs:`,
  );
  console.log(`  ingest only (baseline) median      ${median(base).toFixed(1)} ms`);
  console.log(
    `  ingest + evaluation median         ${m.toFixed(1)} ms; target <= 200 ms: ${m <= 200 ? 'met' : 'NOT met'}`,
  );
}

if (process.env.BENCH_SKIP_CLI !== '1') benchLocalFlow();
await benchEvaluation();
