import assert from 'node:assert/strict';
import { SinkClient } from '../../../plugin/lib/sink-client.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import {
  assertExactlyOnceInOrder,
  dropSchedule,
  produceEvents,
  useClusterSinkRig,
} from '../../support/tunnel-drops.ts';

describe('cluster: the tunnel survives forced port-forward drops', function () {
  this.timeout(120_000);
  const rig = useClusterSinkRig();

  it('20 drops during a 10,000-event stream: every event received exactly once, in order', async () => {
    const TARGET = 10_000;
    const DROPS = 20;
    const url = rig.open.sinks[0].apiUrl;
    const consumer = new SinkClient({ url, token: rig.open.token });
    const producer = new SinkClient({ url, token: rig.open.token });
    const drops = dropSchedule(rig.fake, TARGET, DROPS);
    const seqs: number[] = [];
    const controller = new AbortController();
    let lastSeq = Infinity;
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => {
      resolveAll = r;
    });
    const onEvent = (e: SinkEvent) => {
      seqs.push(e.seq);
      assert.notEqual(e.type, 'gap');
      drops.seen(seqs.length);
      if (e.seq >= lastSeq) resolveAll();
    };
    const following = consumer.events({
      since: 0,
      signal: controller.signal,
      onEvent,
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
    });
    lastSeq = await produceEvents(producer, TARGET, 8);
    if (seqs.length && seqs[seqs.length - 1] >= lastSeq) resolveAll();
    await all;
    controller.abort();
    await following;
    await consumer.close();
    await producer.close();
    assert.equal(drops.dropped, DROPS);
    // Each drop forced fresh forwards through the same local tunnel ports.
    assert.ok(
      rig.fake.portForwardsOpened > DROPS,
      `forwards opened: ${rig.fake.portForwardsOpened}`,
    );
    assert.ok(lastSeq >= TARGET);
    assertExactlyOnceInOrder(seqs, lastSeq);
  });
});
