import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink, type ClusterSink, type CreatedSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { SinkClient } from '../../../plugin/lib/sink-client.ts';
import type { SinkEvent } from '../../../src/protocol.ts';

/** Produces events through the tunnel (each DELETE /api/messages appends one), retrying across drops, until the sink's lastSeq reaches `target`. */
async function produce(client: SinkClient, target: number, concurrency: number): Promise<number> {
  let lastSeq = 0;
  let issued = 0;
  const worker = async () => {
    while (issued < target) {
      issued++;
      for (;;) {
        try { await client.clear(); break; } catch { /* the forward dropped: retry on a fresh one */ }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  for (;;) {
    try { lastSeq = (await client.stats()).lastSeq; } catch { continue; }
    if (lastSeq >= target) return lastSeq;
    await client.clear().catch(() => {});
  }
}

describe('cluster: the tunnel survives forced port-forward drops', function () {
  this.timeout(120_000);
  let fake: FakeKube;
  let sink: CreatedSink;
  let open: ClusterSink;
  before(async () => {
    fake = await startFakeKube();
    sink = await createSink({ kubeconfig: fake.kubeconfigPath });
    open = await openClusterSink({ kubeconfig: fake.kubeconfigPath });
  });
  after(async () => {
    await open?.close();
    await sink?.destroy();
    await fake?.close();
  });

  it('20 drops during a 10,000-event stream: every event received exactly once, in order', async () => {
    const TARGET = 10_000;
    const DROPS = 20;
    const url = open.sinks[0].apiUrl;
    const consumer = new SinkClient({ url, token: open.token });
    const producer = new SinkClient({ url, token: open.token });
    const seqs: number[] = [];
    const controller = new AbortController();
    let drops = 0;
    let lastSeq = Infinity;
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => { resolveAll = r; });
    const onEvent = (e: SinkEvent) => {
      seqs.push(e.seq);
      assert.notEqual(e.type, 'gap');
      // Drop every forward (feed and producer alike) at evenly spread points of the stream.
      if (drops < DROPS && seqs.length === Math.floor(((drops + 1) * TARGET) / (DROPS + 2))) {
        drops++;
        fake.faults.dropPortForwards();
      }
      if (e.seq >= lastSeq) resolveAll();
    };
    const following = consumer.events({ since: 0, signal: controller.signal, onEvent, reconnect: { initialDelayMs: 5, maxDelayMs: 50 } });
    lastSeq = await produce(producer, TARGET, 8);
    if (seqs.length && seqs[seqs.length - 1] >= lastSeq) resolveAll();
    await all;
    controller.abort();
    await following;
    await consumer.close();
    await producer.close();
    assert.equal(drops, DROPS);
    // Each drop forced fresh forwards through the same local tunnel ports.
    assert.ok(fake.portForwardsOpened > DROPS, `forwards opened: ${fake.portForwardsOpened}`);
    assert.ok(lastSeq >= TARGET);
    assert.equal(seqs.length, lastSeq, 'exactly once');
    for (let i = 0; i < seqs.length; i++) if (seqs[i] !== i + 1) assert.fail(`event ${i} has seq ${seqs[i]}, expected ${i + 1}`);
  });
});
