/**
 * `up` to ready against the fake API server with zero simulated delays, and
 * event throughput through one tunnel. Baselines measured in the same run:
 * the sink's own boot (the bundle started directly, until /readyz answers)
 * and the feed read straight from the pod's address without a tunnel.
 * Prints figures; asserts nothing. Targets (docs/performance.md): our own `up` overhead
 * <= 1.5 s; >= 2,000 events/s through one tunnel with none lost.
 *
 *   npm run build && node test/bench/up.bench.ts
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { createSink, openClusterSink } from '../../plugin/lib/kube/cluster-sink.ts';
import { SinkClient } from '../../plugin/lib/sink-client.ts';
import { connect } from '../../plugin/lib/kube/adapter.ts';
import { removeSink } from '../../plugin/lib/kube/managed-sinks.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const EVENTS = 10_000;
const bundle = fileURLToPath(new URL('../../dist/sink/sink.bundle.mjs', import.meta.url));
const runJs = fileURLToPath(new URL('../../plugin/bin/run.js', import.meta.url));
/**
 * Pause between /readyz polls of the baseline boot: short next to a boot of hundreds of ms (it adds
 * at most this much), long enough that the poll does not compete for CPU with the sink it times.
 */
const READY_POLL_MS = 10;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** The sink bundle started directly, until /readyz says 200: what any `up` must wait for. */
async function sinkBoot(): Promise<number> {
  const t = performance.now();
  const child = spawn(process.execPath, [bundle], {
    env: {
      ...process.env,
      EV_HOST: '127.0.0.1',
      EV_SMTP_PORT: '0',
      EV_HTTP_PORT: '0',
      EV_TOKEN: 'x'.repeat(32),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`sink exited: ${err}`)));
  });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  const ms = performance.now() - t;
  child.kill('SIGTERM');
  return ms;
}

async function cliUp(kubeconfig: string): Promise<{ ms: number; namespace: string }> {
  const t = performance.now();
  const child = spawn(process.execPath, [runJs, 'up', '-o', 'json', '--kubeconfig', kubeconfig], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`up failed (${code})`);
  return {
    ms: performance.now() - t,
    namespace: (JSON.parse(out) as { namespace: string }).namespace,
  };
}

/** Reads `count` events (since 0) and returns events per second. */
async function drain(
  url: string,
  token: string,
  count: number,
): Promise<{ rate: number; lost: number }> {
  const client = new SinkClient({ url, token });
  const controller = new AbortController();
  let n = 0;
  let last = 0;
  let lost = 0;
  const t = performance.now();
  await client.events({
    since: 0,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.seq !== last + 1) lost += e.seq - last - 1;
      last = e.seq;
      if (++n >= count) controller.abort();
    },
  });
  const rate = count / ((performance.now() - t) / 1000);
  await client.close();
  return { rate, lost };
}

const fake = await startFakeKube();
try {
  const kube = { kubeconfig: fake.kubeconfigPath };
  const boots: number[] = [];
  const ups: number[] = [];
  const clis: number[] = [];
  await createSink(kube).then((s) => s.destroy()); // warm-up: file cache, client-node import
  for (let i = 0; i < ROUNDS; i++) {
    boots.push(await sinkBoot());
    const t = performance.now();
    const sink = await createSink(kube);
    ups.push(performance.now() - t);
    await sink.destroy();
    const cli = await cliUp(fake.kubeconfigPath);
    clis.push(cli.ms);
    await removeSink(connect(kube), cli.namespace);
  }
  const boot = median(boots);
  process.stdout.write(`up to ready against the fake (zero delays), ${ROUNDS} rounds, medians\n`);
  process.stdout.write(
    `  sink boot alone (bundle -> /readyz, baseline)   ${boot.toFixed(0).padStart(6)} ms\n`,
  );
  process.stdout.write(
    `  createSink() in-process                        ${median(ups).toFixed(0).padStart(6)} ms  (our overhead ${(median(ups) - boot).toFixed(0)} ms)\n`,
  );
  process.stdout.write(
    `  \`kubectl-email_validate up\` (new process)       ${median(clis).toFixed(0).padStart(6)} ms  (our overhead ${(median(clis) - boot).toFixed(0)} ms)\n`,
  );
  process.stdout.write('  target: our own overhead <= 1500 ms\n');

  // Throughput: fill the sink's event log, then read it back through one tunnel and directly.
  const sink = await createSink(kube);
  const open = await openClusterSink(kube, { namespace: sink.namespace });
  const pod = fake.get('pods', sink.namespace, open.sinks[0].pod)!;
  const direct = `http://${(pod.status as { podIP: string }).podIP}:8025`;
  const filler = new SinkClient({ url: direct, token: open.token });
  let issued = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (issued < EVENTS) {
        issued++;
        await filler.clear();
      }
    }),
  );
  await filler.close();
  const viaDirect = await drain(direct, open.token, EVENTS);
  const viaTunnel = await drain(open.sinks[0].apiUrl, open.token, EVENTS);
  const tailStart = performance.now();
  const tail = spawn(
    process.execPath,
    [
      runJs,
      'tail',
      '--no-follow',
      '-o',
      'json',
      '-n',
      sink.namespace,
      '--kubeconfig',
      fake.kubeconfigPath,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let lines = 0;
  tail.stdout.setEncoding('utf8').on('data', (d: string) => {
    for (const c of d) if (c === '\n') lines++;
  });
  const tailCode = await new Promise<number | null>((r) => tail.on('close', r));
  const tailMs = performance.now() - tailStart;
  process.stdout.write(`events through the feed, ${EVENTS} events\n`);
  process.stdout.write(
    `  direct to the pod (baseline)        ${viaDirect.rate.toFixed(0).padStart(7)} events/s  lost ${viaDirect.lost}\n`,
  );
  process.stdout.write(
    `  through one tunnel (SinkClient)     ${viaTunnel.rate.toFixed(0).padStart(7)} events/s  lost ${viaTunnel.lost}  (${((viaTunnel.rate / viaDirect.rate) * 100).toFixed(0)}% of direct)\n`,
  );
  process.stdout.write(
    `  \`tail --no-follow -o json\` process  ${(lines / (tailMs / 1000)).toFixed(0).padStart(7)} events/s  ${lines} lines, exit ${tailCode}, ${tailMs.toFixed(0)} ms incl. start-up\n`,
  );
  process.stdout.write('  target: >= 2000 events/s through one tunnel, none lost\n');
  await open.close();
  await sink.destroy();
} finally {
  await fake.close();
}
