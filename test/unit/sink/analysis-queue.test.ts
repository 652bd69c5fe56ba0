import assert from 'node:assert/strict';
import type { MessageAnalysis } from '../../../src/protocol.ts';
import { AnalysisQueue } from '../../../sink/analysis-queue.ts';
import { EventLog } from '../../../sink/event-log.ts';
import { silentLogger } from '../../../sink/logger.ts';
import { parseHeaderBlock } from '../../../sink/message-headers.ts';
import { InlineParser } from '../../../sink/parse-worker.ts';
import { MemoryMessageStore } from '../../../sink/store.ts';

const ANALYSIS: MessageAnalysis = {
  requiredHeaders: { from: true, date: true, messageId: true },
  listUnsubscribe: { present: false, oneClick: false, urls: [], mailto: [] },
  dkim: { result: 'none', signatures: [] },
  links: [],
  hasText: true,
  hasHtml: false,
  spamScore: 0,
  reasons: [],
};

function setup(pauseRate: number, maxBacklog?: number) {
  let now = 10_000;
  let analyses = 0;
  const events = new EventLog();
  const parser = new InlineParser(async () => {
    analyses++;
    return ANALYSIS;
  });
  const store = new MemoryMessageStore({ maxMessages: 1000, maxBytes: 1 << 20, events, parser });
  const queue = new AnalysisQueue({
    store,
    parser,
    events,
    logger: silentLogger,
    pauseRate,
    now: () => now,
    ...(maxBacklog ? { maxBacklog } : {}),
  });
  const add = () => {
    const raw = Buffer.from('Subject: x\r\n\r\nbody');
    const m = store.add({
      envelope: {
        helo: 'h',
        mailFrom: null,
        rcptTo: [{ address: 'a@b', tag: null }],
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
      raw,
      headers: parseHeaderBlock(raw),
    });
    queue.enqueue(m.id);
    return m.id;
  };
  return {
    queue,
    store,
    events,
    add,
    analysed: () => analyses,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

describe('AnalysisQueue', () => {
  it('analyses every message and publishes message.analyzed', async () => {
    const { queue, store, events, add } = setup(1000);
    const ids = [add(), add(), add()];
    await queue.idle();
    for (const id of ids) assert.equal(store.get(id)!.parsed, true);
    assert.equal(
      events.replaySince(0).events.filter((e) => e.type === 'message.analyzed').length,
      3,
    );
  });

  it('pauses during a flood and resumes when the rate drops (fake clock)', async () => {
    const { queue, add, analysed, tick } = setup(10); // 10 msg/s = more than 5 in the 500 ms window
    for (let i = 0; i < 5; i++) add();
    assert.equal(queue.pending, 5, 'below the rate: all started at once');
    await queue.idle();
    assert.equal(analysed(), 5);
    for (let i = 0; i < 20; i++) add();
    assert.equal(queue.pending, 20, 'above the rate: nothing started');
    await new Promise((r) => setImmediate(r));
    assert.equal(analysed(), 5, 'still paused');
    assert.ok(queue.ingestRate > 10);
    tick(1000); // the flood is over
    await queue.idle();
    assert.equal(analysed(), 25);
  });

  it('keeps at most maxBacklog waiting ids, dropping the oldest', async () => {
    const { queue, add, tick } = setup(1, 3);
    for (let i = 0; i < 10; i++) add();
    assert.ok(queue.pending <= 4);
    assert.ok(queue.dropped >= 6);
    tick(1000);
    await queue.idle();
  });
});
