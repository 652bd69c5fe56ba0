/**
 * What the two "tunnel survives port-forward drops" tests share
 * (test/integration/cluster/tunnel-drops.test.ts through SinkClient,
 * test/integration/cli/tail-drops.test.ts through the `tail` command): a
 * cluster sink in the fake API server, a producer of events that retries
 * across the drops, a schedule of evenly spread drops, and the
 * exactly-once-in-order check.
 */
import { hookState } from './hook-state.ts';
import assert from 'node:assert/strict';
import { after, before } from 'mocha';
import {
  createSink,
  openClusterSink,
  type ClusterSink,
  type CreatedSink,
} from '../../plugin/lib/kube/cluster-sink.ts';
import type { SinkClient } from '../../plugin/lib/sink-client.ts';
import { startFakeKube, type FakeKube } from './fake-kube/index.ts';

export interface DropRig {
  fake: FakeKube;
  sink: CreatedSink;
  open: ClusterSink;
}

/** Mocha hooks: a fake cluster with a sink created and opened (tunnels up) before the tests, all torn down after. */
export function useClusterSinkRig(): DropRig {
  const rig = hookState<DropRig>();
  before(async () => {
    rig.fake = await startFakeKube();
    rig.sink = await createSink({ kubeconfig: rig.fake.kubeconfigPath });
    rig.open = await openClusterSink({ kubeconfig: rig.fake.kubeconfigPath });
  });
  after(async () => {
    await rig.open?.close();
    await rig.sink?.destroy();
    await rig.fake?.close();
  });
  return rig;
}

/**
 * Produces events through the tunnel (each DELETE /api/messages appends one)
 * with `concurrency` workers, retrying each on a fresh forward when one drops,
 * until the sink's lastSeq reaches `target`. Returns that lastSeq.
 */
export async function produceEvents(
  client: SinkClient,
  target: number,
  concurrency: number,
): Promise<number> {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < target) {
      issued++;
      for (;;) {
        try {
          await client.clear();
          break;
        } catch {
          /* the forward dropped: retry on a fresh one */
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  for (;;) {
    let lastSeq: number;
    try {
      lastSeq = (await client.stats()).lastSeq;
    } catch {
      continue;
    }
    if (lastSeq >= target) return lastSeq;
    await client.clear().catch(() => {});
  }
}

/** Drops every port-forward (feed and producer alike) `drops` times, at evenly spread points of a `total`-event stream. */
export function dropSchedule(
  fake: FakeKube,
  total: number,
  drops: number,
): { seen(received: number): void; readonly dropped: number } {
  let dropped = 0;
  return {
    seen(received) {
      if (dropped < drops && received === Math.floor(((dropped + 1) * total) / (drops + 2))) {
        dropped++;
        fake.faults.dropPortForwards();
      }
    },
    get dropped() {
      return dropped;
    },
  };
}

/** Every seq from 1 to lastSeq, once each, in order. */
export function assertExactlyOnceInOrder(seqs: readonly number[], lastSeq: number): void {
  assert.equal(seqs.length, lastSeq, 'exactly once');
  for (let i = 0; i < seqs.length; i++)
    if (seqs[i] !== i + 1) assert.fail(`event ${i} has seq ${seqs[i]}, expected ${i + 1}`);
}
