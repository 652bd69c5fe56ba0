import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { createSink, openClusterSink, type ClusterSink, type CreatedSink } from '../../../plugin/lib/kube/cluster-sink.ts';
import { SinkClient } from '../../../plugin/lib/sink-client.ts';
import type { SinkEvent } from '../../../src/protocol.ts';
import { RUN_JS, cleanEnv } from './cli-harness.ts';

const EVENTS = 10_000;
const DROPS = 20;

describe('tail through the tunnel survives forced port-forward drops', function () {
  this.timeout(180_000);
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

  it(`${DROPS} drops during a ${EVENTS}-event \`tail -o json\`: every event printed exactly once, in order`, async () => {
    const producer = new SinkClient({ url: open.sinks[0].apiUrl, token: open.token });
    const child = spawn(process.execPath, [RUN_JS, 'tail', '-n', sink.namespace, '-o', 'json'], {
      env: cleanEnv({ KUBECONFIG: fake.kubeconfigPath }), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const seqs: number[] = [];
    let drops = 0;
    let buffered = '';
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => { resolveDone = r; });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const event = JSON.parse(buffered.slice(0, nl)) as SinkEvent;
        buffered = buffered.slice(nl + 1);
        seqs.push(event.seq);
        assert.notEqual(event.type, 'gap', 'nothing lost');
        if (drops < DROPS && seqs.length === Math.floor(((drops + 1) * EVENTS) / (DROPS + 2))) {
          drops++;
          fake.faults.dropPortForwards();
        }
        if (event.seq >= EVENTS) resolveDone();
      }
    });

    // Each DELETE /api/messages appends one event; retried across the drops.
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < EVENTS) {
        issued++;
        for (;;) {
          try { await producer.clear(); break; } catch { /* the forward dropped: retry on a fresh one */ }
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000);
    await Promise.race([done, exited.then((code) => assert.fail(`tail exited ${code} early: ${stderr}`))]);
    clearTimeout(deadline);
    child.kill('SIGTERM');
    await exited;
    await producer.close();

    assert.equal(drops, DROPS);
    assert.ok(fake.portForwardsOpened > DROPS);
    const last = seqs[seqs.length - 1];
    assert.ok(last >= EVENTS);
    assert.equal(seqs.length, last, 'exactly once');
    for (let i = 0; i < seqs.length; i++) if (seqs[i] !== i + 1) assert.fail(`line ${i} has seq ${seqs[i]}, expected ${i + 1}`);
  });
});
