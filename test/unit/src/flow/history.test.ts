import assert from 'node:assert/strict';
import {
  FlowHistory,
  MAX_TRACKED_EVENTS,
  MAX_TRACKED_MESSAGES,
  type HistoryChange,
} from '../../../../src/flow/history.ts';
import { sinkEvent, type MessageDetail } from '../../../../src/protocol.ts';
import { analysis, detail } from './helpers.ts';

function summaryOf(d: MessageDetail) {
  const { headers: _h, text: _t, html: _x, attachments: _a, analysis: _an, ...summary } = d;
  return summary;
}

describe('flow history', () => {
  it('tracks messages once, the highest sequence number, and tells its listeners', () => {
    const h = new FlowHistory(() => Promise.reject(new Error('unused')));
    const changes: string[] = [];
    const off = h.subscribe((c: HistoryChange) =>
      changes.push(
        c.kind === 'event' ? `event ${c.event.type}` : `${c.kind} ${c.message.summary.id}`,
      ),
    );
    const d = detail({ id: 'h1' });
    h.ingest(sinkEvent(5, '', 'message.received', summaryOf(d)));
    h.ingest(sinkEvent(3, '', 'message.received', summaryOf(d)));
    assert.equal(h.lastSeq, 5);
    assert.equal(h.messages.length, 1);
    assert.equal(h.get('h1')?.seq, 5);
    h.ingest(
      sinkEvent(7, '', 'message.analyzed', { id: 'h1', analysis: analysis(), parseError: null }),
    );
    h.ingest(
      sinkEvent(8, '', 'message.analyzed', { id: 'nope', analysis: analysis(), parseError: null }),
    );
    h.ingest(sinkEvent(9, '', 'gap', { from: 1, to: 3, missed: 2 }));
    h.ingest(sinkEvent(10, '', 'gap', { from: 4, to: 4, missed: 1 }));
    assert.equal(h.lost, 3);
    assert.equal(h.lastSeq, 10);
    off();
    h.ingest(sinkEvent(11, '', 'message.received', summaryOf(detail({ id: 'h2' }))));
    assert.deepEqual(changes, ['message h1', 'updated h1']);
    assert.equal(h.messages.length, 2);
  });

  it('fetches a detail once, keeps the analysis it carries, and records a failure', async () => {
    let fetches = 0;
    const withAnalysis = detail({ id: 'f1', analysis: analysis({ spamScore: 4 }) });
    const h = new FlowHistory(async (id) => {
      fetches++;
      if (id === 'f1') return withAnalysis;
      if (id === 'f2') return detail({ id: 'f2' });
      throw new Error(`HTTP 500 for ${id}`);
    });
    for (const d of [withAnalysis, detail({ id: 'f2' }), detail({ id: 'f3' })])
      h.ingest(sinkEvent(1, '', 'message.received', summaryOf(d)));
    const m1 = h.get('f1');
    assert.ok(m1);
    const [a, b] = await Promise.all([h.loadDetail(m1), h.loadDetail(m1)]);
    assert.equal(a, b);
    assert.equal(fetches, 1);
    assert.equal(m1.detail, withAnalysis);
    assert.equal(m1.analysis?.spamScore, 4);
    await h.loadDetail(m1);
    assert.equal(fetches, 1);
    const m2 = h.get('f2');
    assert.ok(m2);
    m2.analysis = analysis({ spamScore: 9 });
    await h.loadDetail(m2);
    assert.equal(m2.analysis.spamScore, 9, 'an analysis event already seen is kept');
    const m3 = h.get('f3');
    assert.ok(m3);
    await h.loadDetail(m3);
    assert.equal(m3.detail, null);
    assert.equal(m3.detailError, 'HTTP 500 for f3');
    await h.loadDetail(m3);
    assert.equal(fetches, 3, 'a failed fetch is not retried');
  });

  it('adds an analysis that arrives after the detail to the detail too, once', async () => {
    const d = detail({ id: 'g1' });
    const h = new FlowHistory(async () => d);
    h.ingest(sinkEvent(1, '', 'message.received', summaryOf(d)));
    const m = h.get('g1');
    assert.ok(m);
    await h.loadDetail(m);
    const first = analysis({ spamScore: 1 });
    h.ingest(sinkEvent(2, '', 'message.analyzed', { id: 'g1', analysis: first, parseError: null }));
    assert.equal(m.detail?.analysis, first);
    assert.equal(d.analysis, null, 'the fetched object is not changed');
    const second = analysis({ spamScore: 2 });
    h.ingest(
      sinkEvent(3, '', 'message.analyzed', { id: 'g1', analysis: second, parseError: null }),
    );
    assert.equal(m.analysis, second);
    assert.equal(m.detail?.analysis, first);
  });
});

describe('flow history: bounds and analyses', () => {
  it(`keeps ${MAX_TRACKED_MESSAGES} messages; the next one makes it forget the oldest, counted`, () => {
    const h = new FlowHistory(() => Promise.reject(new Error('unused')));
    for (let i = 1; i <= MAX_TRACKED_MESSAGES; i++)
      h.ingest(sinkEvent(i, '', 'message.received', summaryOf(detail({ id: `b${i}` }))));
    assert.deepEqual([h.messages.length, h.forgotten], [MAX_TRACKED_MESSAGES, 0]);
    assert.equal(h.get('b1')?.seq, 1);
    h.ingest(sinkEvent(0, '', 'message.received', summaryOf(detail({ id: 'next' }))));
    assert.deepEqual([h.messages.length, h.forgotten], [MAX_TRACKED_MESSAGES, 1]);
    assert.equal(h.get('b1'), undefined);
    assert.equal(h.messages[0].summary.id, 'b2');
    assert.equal(h.get('next')?.seq, 0);
  });

  it(`keeps ${MAX_TRACKED_EVENTS} delivery events, then drops the oldest`, () => {
    const h = new FlowHistory(() => Promise.reject(new Error('unused')));
    const bounce = (seq: number) =>
      sinkEvent(seq, '', 'message.bounced', {
        messageId: 'm',
        dsnId: 'd',
        recipient: `r${seq}@x.test`,
        sender: 's@x.test',
        status: '5.1.1',
        diagnostic: '550 5.1.1 gone',
        rule: null,
      });
    for (let i = 1; i <= MAX_TRACKED_EVENTS; i++) h.ingest(bounce(i));
    assert.deepEqual([h.events.length, h.events[0].seq], [MAX_TRACKED_EVENTS, 1]);
    h.ingest(bounce(MAX_TRACKED_EVENTS + 1));
    assert.deepEqual(
      [h.events.length, h.events[0].seq, h.events.at(-1)?.seq],
      [MAX_TRACKED_EVENTS, 2, MAX_TRACKED_EVENTS + 1],
    );
  });

  it('an analysis event seen before the detail arrives wins over the one the detail carries', async () => {
    const fromEvent = analysis({ spamScore: 1 });
    const d = detail({ id: 'w1', analysis: analysis({ spamScore: 5 }) });
    const h = new FlowHistory(async () => d);
    h.ingest(sinkEvent(1, '', 'message.received', summaryOf(d)));
    h.ingest(
      sinkEvent(2, '', 'message.analyzed', { id: 'w1', analysis: fromEvent, parseError: null }),
    );
    const m = h.get('w1');
    assert.ok(m);
    await h.loadDetail(m);
    assert.equal(m.detail, d);
    assert.equal(m.analysis, fromEvent);
  });
});
