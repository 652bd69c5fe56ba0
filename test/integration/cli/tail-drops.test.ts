import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { SinkClient } from '../../../plugin/lib/sink-client.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import {
  assertExactlyOnceInOrder,
  dropSchedule,
  produceEvents,
  useClusterSinkRig,
} from '../../support/tunnel-drops.ts';
import { RUN_JS, cleanEnv } from './cli-harness.ts';

const EVENTS = 10_000;
const DROPS = 20;

describe('tail through the tunnel survives forced port-forward drops', function () {
  this.timeout(180_000);
  const rig = useClusterSinkRig();

  it(`${DROPS} drops during a ${EVENTS}-event \`tail -o json\`: every event printed exactly once, in order`, async () => {
    const producer = new SinkClient({ url: rig.open.sinks[0].apiUrl, token: rig.open.token });
    const child = spawn(
      process.execPath,
      [RUN_JS, 'tail', '-n', rig.sink.namespace, '-o', 'json'],
      {
        env: cleanEnv({ KUBECONFIG: rig.fake.kubeconfigPath }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const drops = dropSchedule(rig.fake, EVENTS, DROPS);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const seqs: number[] = [];
    let buffered = '';
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const event = JSON.parse(buffered.slice(0, nl)) as SinkEvent;
        buffered = buffered.slice(nl + 1);
        seqs.push(event.seq);
        assert.notEqual(event.type, 'gap', 'nothing lost');
        drops.seen(seqs.length);
        if (event.seq >= EVENTS) resolveDone();
      }
    });

    await produceEvents(producer, EVENTS, 8);
    const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000);
    await Promise.race([
      done,
      exited.then((code) => assert.fail(`tail exited ${code} early: ${stderr}`)),
    ]);
    clearTimeout(deadline);
    child.kill('SIGTERM');
    await exited;
    await producer.close();

    assert.equal(drops.dropped, DROPS);
    assert.ok(rig.fake.portForwardsOpened > DROPS);
    const last = seqs[seqs.length - 1];
    assert.ok(last >= EVENTS);
    assertExactlyOnceInOrder(seqs, last);
  });
});
