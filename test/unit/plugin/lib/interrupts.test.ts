import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { InterruptHandler } from '../../../../plugin/lib/interrupts.ts';

function setup() {
  const source = new EventEmitter();
  let out = '';
  const exits: number[] = [];
  let onExit = () => {};
  const exited = new Promise<void>((resolve) => {
    onExit = resolve;
  });
  const h = new InterruptHandler({
    source: source,
    stderr: {
      write: (t: string) => {
        out += t;
      },
    },
    exit: (c) => {
      exits.push(c);
      onExit();
    },
  }).install();
  return { h, source, exits, exited, out: () => out };
}

describe('interrupts', () => {
  it('first signal aborts, runs cleanups newest first, then exits 130', async () => {
    const { h, source, exits, exited } = setup();
    const order: string[] = [];
    h.register('a', async () => {
      order.push('a');
    });
    h.register('b', async () => {
      order.push('b');
    });
    const gone = h.register('c', async () => {
      order.push('c');
    });
    gone();
    source.emit('SIGINT', 'SIGINT');
    assert.equal(h.signal.aborted, true);
    await exited;
    assert.deepEqual(order, ['b', 'a']);
    assert.deepEqual(exits, [130]);
  });

  it('SIGTERM exits 143 (128 + 15), and the exit code is readable', async () => {
    const { h, source, exits, exited } = setup();
    assert.equal(h.exitCode, null);
    source.emit('SIGTERM', 'SIGTERM');
    await exited;
    assert.deepEqual(exits, [143]);
    assert.equal(h.exitCode, 143);
  });

  it('letCommandFinish: the first signal only aborts (the command reports and exits), a second one exits', async () => {
    const { h, source, exits, exited } = setup();
    h.letCommandFinish();
    let cleaned = false;
    h.register('tunnel', async () => {
      cleaned = true;
    });
    source.emit('SIGINT', 'SIGINT');
    assert.equal(h.signal.aborted, true);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(exits, [], 'the command decides when to exit');
    assert.equal(cleaned, false, 'the command closes what it opened on its own way out');
    assert.equal(h.exitCode, 130);
    source.emit('SIGTERM', 'SIGTERM');
    await exited;
    assert.deepEqual(exits, [130], 'the first signal decides the code');
  });

  it('a second signal exits at once and prints what was left and the gc command', async () => {
    const { h, source, exits, out } = setup();
    let release!: () => void;
    h.register(
      'namespace ns-1',
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    source.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, []);
    source.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [130]);
    assert.match(out(), /left behind: namespace ns-1/);
    assert.match(
      out(),
      /hint: `kubectl email-validate gc` removes it once its TTL has passed; to remove it now: `kubectl email-validate down ns-1`/,
    );
    assert.doesNotMatch(out(), /down --all/, "never suggests removing other people's sinks");
    release();
  });

  it('a failing cleanup is reported and the others still run', async () => {
    const { h, out } = setup();
    let ran = false;
    h.register('ok', async () => {
      ran = true;
    });
    h.register('bad', async () => {
      throw new Error('boom');
    });
    await h.runCleanups();
    assert.equal(ran, true);
    assert.match(out(), /cleanup of bad failed: boom/);
    assert.deepEqual(h.pending(), []);
  });
});
