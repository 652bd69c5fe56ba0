/**
 * `tail` throughput from an embedded sink (no tunnel): N events replayed into
 * `tail --no-follow -o json` and text mode, both as child processes writing to
 * a pipe, against a baseline measured in the same run: the same events read
 * in-process by SinkClient with no rendering. Prints figures; asserts only
 * that no event was lost. Target (docs/performance.md): >= 2,000 events/s into tail -o json.
 *
 *   npm run build && node test/bench/tail.bench.ts [events]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSink } from '../../sink/index.ts';
import { SinkClient } from '../../plugin/lib/sink-client.ts';
import type { MessageSummary } from '../../src/protocol.ts';

const N = Number(process.argv[2] ?? 20_000);
const runJs = fileURLToPath(new URL('../../plugin/bin/run.js', import.meta.url));
const sink = await startSink();
const token = sink.token ?? '';

for (let i = 1; i <= N; i++) {
  const summary: MessageSummary = {
    id: `m${i}`,
    time: new Date().toISOString(),
    envelope: {
      helo: 'bench',
      mailFrom: { address: 'app@example.com', tag: null },
      rcptTo: [{ address: `user+${i}@example.com`, tag: String(i) }],
      clientAddress: '127.0.0.1',
      tls: false,
      authUser: null,
    },
    from: 'app@example.com',
    to: [`user+${i}@example.com`],
    subject: `Bench ${i}`,
    messageId: `<${i}@bench>`,
    size: 2048,
    parsed: false,
    parseError: null,
  };
  sink.context.events.append('message.received', summary);
}

async function baseline(): Promise<number> {
  const client = new SinkClient({ url: sink.url, token });
  const ac = new AbortController();
  let seen = 0;
  const t = performance.now();
  await client.events({
    since: 0,
    signal: ac.signal,
    onEvent: () => {
      if (++seen === N) ac.abort();
    },
  });
  const ms = performance.now() - t;
  await client.close();
  if (seen !== N) throw new Error(`baseline saw ${seen} of ${N}`);
  return ms;
}

function tail(args: string[]): Promise<{ ms: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(
      process.execPath,
      [runJs, 'tail', '--no-follow', '--sink', sink.url, '--token', token, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) lines++;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ ms: performance.now() - t, lines })
        : reject(new Error(`tail exited ${code}`)),
    );
  });
}

const start = await tail(['--since', `seq:${N}`]); // start-up cost alone: nothing after the last seq
const base = await baseline();
const json = await tail(['-o', 'json']);
const text = await tail([]);
await sink.stop();
if (json.lines !== N || text.lines !== N)
  throw new Error(`lost events: json ${json.lines}, text ${text.lines} of ${N}`);

const rate = (ms: number) => Math.round(N / (ms / 1000));
process.stdout.write(`tail throughput, ${N} retained events, embedded sink, no tunnel\n`);
process.stdout.write(
  `  baseline: SinkClient in-process, no rendering   ${base.toFixed(0).padStart(6)} ms  ${rate(base)} events/s\n`,
);
process.stdout.write(
  `  tail start-up with nothing to print            ${start.ms.toFixed(0).padStart(6)} ms\n`,
);
process.stdout.write(
  `  tail --no-follow -o json (whole process)       ${json.ms.toFixed(0).padStart(6)} ms  ${rate(json.ms)} events/s (${rate(json.ms - start.ms)} excluding start-up), ${(json.ms / base).toFixed(1)}x baseline\n`,
);
process.stdout.write(
  `  tail --no-follow text (whole process)          ${text.ms.toFixed(0).padStart(6)} ms  ${rate(text.ms)} events/s (${rate(text.ms - start.ms)} excluding start-up)\n`,
);
process.stdout.write('target: >= 2,000 events/s into tail -o json, none lost\n');
