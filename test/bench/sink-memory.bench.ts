/**
 * `npm run bench:sink-memory`: peak resident memory of the sink bundle under
 * the pod's exact flags and limits, against the pod's 512 MiB limit (issue 10,
 * item 1). Printed, never asserted (test/integration/sink/memory-budget.test.ts
 * asserts the bound).
 *
 * Alternating rounds in one run: the baseline is the same bundle storing one
 * small message and opening its detail view; the worst case is five 24 MiB
 * text messages stored and each detail view opened, then 24 concurrent
 * 22 MiB DATA transfers. Each round is a fresh process; VmHWM is its peak.
 */
import {
  POD_MEMORY_LIMIT_BYTES,
  peakRssBytes,
  runWorstCase,
  sendOne,
  startPodSink,
  textMessage,
} from '../support/sink-memory.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MiB = 1024 * 1024;
const mib = (n: number | null) => (n === null ? 'n/a' : `${(n / MiB).toFixed(0)} MiB`);
const pct = (n: number | null) =>
  n === null ? '' : ` (${((100 * n) / POD_MEMORY_LIMIT_BYTES).toFixed(0)}% of the limit)`;

async function baseline(): Promise<number | null> {
  const sink = await startPodSink();
  try {
    const r = await sendOne(sink.smtpPort, textMessage(2048, 'small'));
    if (r.id)
      await (
        await fetch(`http://127.0.0.1:${sink.httpPort}/api/messages/${r.id}`, {
          headers: { authorization: `Bearer ${sink.token}` },
        })
      ).arrayBuffer();
    return peakRssBytes(sink.child.pid!);
  } finally {
    await sink.stop();
  }
}

async function worst(): Promise<{
  peak: number | null;
  stored: number;
  accepted: number;
  retried: number;
  survived: boolean;
}> {
  const sink = await startPodSink();
  try {
    const r = await runWorstCase(sink, (line) => process.stderr.write(`  ${line}\n`));
    return {
      peak: r.peakRss,
      stored: r.storedIds.length,
      accepted: r.concurrentCodes.filter((c) => c === 250).length,
      retried: r.concurrentCodes.filter((c) => c === 452).length,
      survived: !sink.exited() && r.liveAfter === 200,
    };
  } finally {
    await sink.stop();
  }
}

process.stdout.write(
  `sink memory: pod limit ${mib(POD_MEMORY_LIMIT_BYTES)}, ${ROUNDS} alternating rounds (noisy shared machine: figures vary by tens of MiB)\n`,
);
for (let round = 1; round <= ROUNDS; round++) {
  const b = await baseline();
  process.stdout.write(
    `round ${round}  baseline (one small message + detail): peak RSS ${mib(b)}${pct(b)}\n`,
  );
  const w = await worst();
  process.stdout.write(
    `round ${round}  worst case: peak RSS ${mib(w.peak)}${pct(w.peak)}, ${w.stored}/5 large stored, concurrent 22 MiB: ${w.accepted} stored, ${w.retried} told to retry (452), ${w.survived ? 'alive and answering' : 'DIED'}\n`,
  );
}
