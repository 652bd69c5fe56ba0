import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { InterruptHandler } from '../../../plugin/lib/interrupts.ts';

function setup() {
  const source = new EventEmitter();
  let out = '';
  const exits: number[] = [];
  let onExit = () => {};
  const exited = new Promise<void>((resolve) => { onExit = resolve; });
  const h = new InterruptHandler({ source: source as never, stderr: { write: (t: string) => { out += t; } }, exit: (c) => { exits.push(c); onExit(); } }).install();
  return { h, source, exits, exited, out: () => out };
}

describe('interrupts', () => {
  it('first signal aborts, runs cleanups newest first, then exits 130', async () => {
    const { h, source, exits, exited } = setup();
    const order: string[] = [];
    h.register('a', async () => { order.push('a'); });
    h.register('b', async () => { order.push('b'); });
    const gone = h.register('c', async () => { order.push('c'); });
    gone();
    source.emit('SIGINT', 'SIGINT');
    assert.equal(h.signal.aborted, true);
    await exited;
    assert.deepEqual(order, ['b', 'a']);
    assert.deepEqual(exits, [130]);
  });

  it('a second signal exits at once and prints what was left and the gc command', async () => {
    const { h, source, exits, out } = setup();
    let release!: () => void;
    h.register('namespace ns-1', () => new Promise<void>((r) => { release = r; }));
    source.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, []);
    source.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [130]);
    assert.match(out(), /left behind: namespace ns-1/);
    assert.match(out(), /hint: `kubectl email-validate gc` removes it once its TTL has passed; to remove it now: `kubectl email-validate down ns-1`/);
    assert.doesNotMatch(out(), /down --all/, 'never suggests removing other people\'s sinks');
    release();
  });

  it('a failing cleanup is reported and the others still run', async () => {
    const { h, out } = setup();
    let ran = false;
    h.register('ok', async () => { ran = true; });
    h.register('bad', async () => { throw new Error('boom'); });
    await h.runCleanups();
    assert.equal(ran, true);
    assert.match(out(), /cleanup of bad failed: boom/);
    assert.deepEqual(h.pending(), []);
  });
});
