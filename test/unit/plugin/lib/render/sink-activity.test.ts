import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  ACTIVITY_INTERVAL_MS,
  ACTIVITY_MAX_LINES,
  SinkActivity,
} from '../../../../../plugin/lib/render/sink-activity.ts';
import { fitToWidth } from '../../../../../plugin/lib/render/fit.ts';
import { colored } from '../../../../../plugin/lib/render/color.ts';
import type { SinkEvent } from '../../../../../src/protocol.ts';
import { FakeClock } from '../../../../support/fake-clock.ts';

const T = '2026-11-28T10:11:12.345Z';
let seq = 0;
function received(n: number): SinkEvent {
  return {
    seq: ++seq,
    time: T,
    type: 'message.received',
    data: {
      id: `id-${n}`,
      time: T,
      envelope: {
        helo: 'h',
        mailFrom: { address: 'app@shop.example', tag: null },
        rcptTo: [{ address: `user+${n}@example.com`, tag: null }],
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
      from: 'app@shop.example',
      to: [`user+${n}@example.com`],
      subject: `A subject that goes on for a while, number ${n}`,
      messageId: null,
      size: 100,
      parsed: false,
      parseError: null,
    },
  };
}
const rejected: SinkEvent = {
  seq: 0,
  time: T,
  type: 'message.rejected',
  data: {
    stage: 'rcpt',
    code: 550,
    enhancedCode: '5.1.1',
    text: 'no',
    from: 'app@shop.example',
    to: 'bounce@example.com',
    clientAddress: '127.0.0.1',
    rule: null,
  },
};

function harness(width: number | null = 60) {
  const clock = new FakeClock(Date.parse(T));
  const lines: string[] = [];
  const activity = new SinkActivity({
    write: (l) => lines.push(...l.split('\n').filter((x) => x !== '')),
    clock,
    width: () => width,
    utc: true,
  });
  return { clock, lines, activity };
}

describe('sink activity on a terminal', () => {
  it('one line per message, as tail prints it, cut to the width', () => {
    const { lines, activity } = harness(60);
    activity.handle(received(1));
    activity.handle(rejected);
    const rules: SinkEvent = { seq: 9, time: T, type: 'rules.updated', data: { count: 1 } };
    activity.handle(rules);
    assert.equal(lines.length, 2, 'only message arrivals');
    assert.equal(lines[0], '10:11:12.345  RECEIVED  app@shop.… -> user+1@ex…  "A subjec…');
    assert.match(lines[1], /REJECTED/);
    for (const l of lines) assert.ok(Array.from(l).length <= 60, `${l} is ${l.length}`);
    assert.equal(
      Array.from(lines[0]).length,
      60,
      'time, verdict, from, to and subject share the width',
    );
  });

  it(`under load (more than ${ACTIVITY_MAX_LINES} in ${ACTIVITY_INTERVAL_MS / 1000}s) prints a summary every interval instead, then lines again when quiet`, async () => {
    const { clock, lines, activity } = harness(null);
    for (let i = 0; i < 100; i++) activity.handle(received(i));
    for (let i = 0; i < 5; i++) activity.handle(rejected);
    assert.equal(
      lines.length,
      ACTIVITY_MAX_LINES,
      'the first lines, then nothing until the window ends',
    );
    await clock.advance(ACTIVITY_INTERVAL_MS);
    assert.equal(lines.length, ACTIVITY_MAX_LINES + 1);
    assert.match(lines.at(-1)!, /BUSY {6}\+85 in 5s \(17\/s\): 80 received, 5 rejected$/);
    // Still busy: no lines, one summary per interval.
    for (let i = 0; i < 30; i++) activity.handle(received(i));
    assert.equal(lines.length, ACTIVITY_MAX_LINES + 1);
    await clock.advance(ACTIVITY_INTERVAL_MS);
    assert.match(lines.at(-1)!, / \+30 in 5s \(6\/s\): 30 received$/);
    // A calmer window: still summarised (it was entered busy), then lines come back.
    activity.handle(received(1));
    await clock.advance(ACTIVITY_INTERVAL_MS);
    assert.match(lines.at(-1)!, / \+1 in 5s \(0\/s\): 1 received$/);
    await clock.advance(ACTIVITY_INTERVAL_MS);
    assert.equal(clock.pending, 0, 'no timer while idle');
    const before = lines.length;
    activity.handle(received(7));
    assert.equal(lines.length, before + 1);
    assert.match(lines.at(-1)!, /RECEIVED/);
  });

  it('stop prints what is held', () => {
    const { lines, activity, clock } = harness(null);
    for (let i = 0; i < ACTIVITY_MAX_LINES + 3; i++) activity.handle(received(i));
    activity.stop();
    assert.match(lines.at(-1)!, / \+3 in 1s/);
    assert.equal(clock.pending, 0);
  });
});

describe('fitToWidth', () => {
  it('counts characters, not colour sequences, and resets a cut coloured line', () => {
    const line = `${colored('green', 'RECEIVED')}  ${'x'.repeat(30)}`;
    assert.equal(fitToWidth(line, 80), line, 'fits: unchanged');
    const cut = fitToWidth(line, 20);
    // eslint-disable-next-line no-control-regex
    const visible = cut.replace(/\u001b\[[0-9;]*m/g, '');
    assert.equal(visible, `RECEIVED  ${'x'.repeat(9)}…`);
    assert.ok(cut.endsWith('\u001b[0m'));
    assert.equal(fitToWidth('😀'.repeat(5), 3), '😀😀…');
    assert.equal(fitToWidth('plain', 3), 'pl…');
  });
});
