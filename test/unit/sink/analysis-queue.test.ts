import assert from 'node:assert/strict';
import type { MessageAnalysis } from '../../../src/protocol.ts';
import { AnalysisQueue } from '../../../sink/analysis-queue.ts';
import { EventLog } from '../../../sink/event-log.ts';
import { silentLogger } from '../../../sink/logger.ts';
import type { AnalyzedParts } from '../../../sink/message-parse.ts';
import { parseHeaderBlock } from '../../../sink/message-headers.ts';
import { InlineParser } from '../../../sink/parse-worker.ts';
import { MemoryMessageStore } from '../../../sink/store.ts';
import type { Logger } from '../../../sink/types.ts';
import { analysis } from '../../support/message-analysis.ts';

const ANALYSIS: MessageAnalysis = analysis();

function setup(pauseRate: number, maxBacklog?: number, wanted?: () => boolean) {
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
    ...(wanted ? { wanted } : {}),
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

  describe('with nobody following the analyses', () => {
    const analyzedIds = (events: EventLog) =>
      events
        .replaySince(0)
        .events.filter((e) => e.type === 'message.analyzed')
        .map((e) => (e.data as { id: string }).id);

    it('defers every analysis: nothing parsed, nothing pending', async () => {
      const { queue, store, events, add, analysed } = setup(1000, undefined, () => false);
      const ids = [add(), add(), add()];
      await queue.idle();
      assert.equal(analysed(), 0);
      assert.equal(queue.deferred, 3);
      assert.equal(queue.pending, 0);
      for (const id of ids) assert.equal(store.analysed(id), false);
      assert.deepEqual(analyzedIds(events), []);
    });

    it('analyses one message on demand, once, and publishes its message.analyzed', async () => {
      const { queue, store, events, add, analysed } = setup(1000, undefined, () => false);
      const [a, b] = [add(), add()];
      await Promise.all([queue.demand(b), queue.demand(b)]);
      assert.equal(analysed(), 1, 'two demands of one message, one analysis');
      assert.equal(store.analysed(b), true);
      assert.equal(store.analysed(a), false);
      assert.deepEqual(analyzedIds(events), [b]);
      await queue.demand(b); // already analysed: nothing more
      await queue.demand('no-such-id');
      assert.equal(analysed(), 1);
    });

    it("a detail view runs the message's analysis and carries it", async () => {
      const { queue, store, add } = setup(1000, undefined, () => false);
      store.analysisOnDemand = (id) => queue.demand(id);
      const id = add();
      assert.equal(store.get(id)!.parsed, false);
      const detail = await store.detail(id);
      assert.deepEqual(detail!.analysis, ANALYSIS);
      assert.equal(detail!.parsed, true);
      assert.equal(store.get(id)!.parsed, true);
    });

    it('demand goes past the flood pause', async () => {
      const { queue, store, add } = setup(1, undefined, () => false);
      const ids = Array.from({ length: 20 }, () => add());
      assert.ok(queue.ingestRate > 1);
      await queue.demand(ids[7]);
      assert.equal(store.analysed(ids[7]), true);
    });

    it('a follower arriving (resume) gets the deferred ones analysed, oldest first, each once', async () => {
      let following = false;
      const { queue, events, add, analysed } = setup(1000, undefined, () => following);
      const ids = [add(), add(), add()];
      await queue.demand(ids[1]);
      following = true;
      queue.resume();
      const late = add();
      await queue.idle();
      assert.equal(analysed(), 4);
      assert.deepEqual(analyzedIds(events), [ids[1], ids[0], ids[2], late]);
      assert.equal(queue.deferred, 0);
    });

    it('analyzeAll analyses the deferred ones and waits for them', async () => {
      const { queue, store, add } = setup(1000, undefined, () => false);
      const ids = [add(), add()];
      await queue.analyzeAll();
      for (const id of ids) assert.equal(store.analysed(id), true);
    });

    it('a follower arriving gets every stored message not analysed yet, also beyond the backlog cap', async () => {
      let following = false;
      const { queue, store, add } = setup(1000, 3, () => following);
      const ids = Array.from({ length: 5 }, () => add());
      assert.equal(queue.deferred, 5);
      following = true;
      queue.resume();
      assert.equal(queue.deferred, 0);
      await queue.idle();
      assert.deepEqual(
        ids.map((id) => store.analysed(id)),
        [true, true, true, true, true],
      );
    });
  });

  describe('scheduling, measured exactly', () => {
    /** A queue over a parser whose analyses the test settles one by one. */
    function held(
      options: {
        maxInFlight?: number;
        maxBacklog?: number;
        pauseRate?: number;
        maxMessages?: number;
        start?: number;
        wanted?: () => boolean;
      } = {},
    ) {
      let now = options.start ?? 10_000;
      const events = new EventLog();
      const lines: [string, string, Record<string, unknown> | undefined][] = [];
      const logger: Logger = {
        debug: () => undefined,
        info: () => undefined,
        warn: (msg, fields) => lines.push(['warn', msg, fields]),
        error: (msg, fields) => lines.push(['error', msg, fields]),
      };
      const jobs: { settle: (r: AnalyzedParts | Error) => void }[] = [];
      const parser = Object.assign(new InlineParser(async () => ANALYSIS), {
        analyze: () =>
          new Promise<AnalyzedParts>((resolve, reject) => {
            jobs.push({ settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
          }),
      });
      const store = new MemoryMessageStore({
        maxMessages: options.maxMessages ?? 1000,
        maxBytes: 1 << 24,
        events,
        parser,
      });
      const queue = new AnalysisQueue({
        store,
        parser,
        events,
        logger,
        pauseRate: options.pauseRate ?? 1_000_000,
        now: () => now,
        ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
        ...(options.maxBacklog ? { maxBacklog: options.maxBacklog } : {}),
        ...(options.wanted ? { wanted: options.wanted } : {}),
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
      return { queue, store, jobs, lines, add, tick: (ms: number) => (now += ms) };
    }
    const turn = () => new Promise((r) => setImmediate(r));

    it('a fresh queue is idle at once', async () => {
      const { queue } = held();
      assert.equal(queue.pending, 0);
      let idle = false;
      void queue.idle().then(() => (idle = true));
      await turn();
      assert.equal(idle, true);
    });

    it('the ingest rate counts the messages of the last 500 ms, in 50 ms slots', () => {
      const { queue, add, tick } = held();
      assert.equal(queue.ingestRate, 0);
      for (let i = 0; i < 3; i++) add();
      assert.equal(queue.ingestRate, 6, '3 in 500 ms');
      tick(49);
      add();
      assert.equal(queue.ingestRate, 8, 'the same slot');
      tick(201);
      add();
      add();
      assert.equal(queue.ingestRate, 12);
      tick(300); // the first slot (4 messages) has left the window
      assert.equal(queue.ingestRate, 4);
      tick(200);
      assert.equal(queue.ingestRate, 0);
      tick(10_000);
      add();
      assert.equal(queue.ingestRate, 2);
    });

    it('starts at most maxInFlight analyses, at once, and the next as one finishes', async () => {
      const { queue, jobs, add } = held({ maxInFlight: 2 });
      for (let i = 0; i < 5; i++) add();
      assert.equal(jobs.length, 2, 'started synchronously, two of them');
      assert.equal(queue.pending, 5);
      jobs[0].settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await turn();
      assert.equal(jobs.length, 3);
      assert.equal(queue.pending, 4);
    });

    it('while paused, keeps exactly maxBacklog ids and counts the dropped ones', () => {
      const { queue, jobs, add } = held({ pauseRate: 0, maxBacklog: 3 });
      for (let i = 0; i < 10; i++) add();
      assert.equal(jobs.length, 0);
      assert.equal(queue.pending, 3);
      assert.equal(queue.dropped, 7);
    });

    it('a long run of analyses keeps its count right (the waiting list is compacted, not replayed)', () => {
      const { queue, jobs, add } = held({ maxInFlight: 5000, maxMessages: 5000 });
      for (let i = 0; i < 1100; i++) add();
      assert.equal(jobs.length, 1100);
      assert.equal(queue.pending, 1100);
    });

    it('an analysis error is logged at warn, a failed job at error, and the queue goes on', async () => {
      const { queue, jobs, lines, add } = held();
      const [a, b] = [add(), add()];
      add();
      jobs[0].settle({ analysis: null, parseError: 'bad MIME', analysisError: 'analysis threw' });
      jobs[1].settle(new Error('worker died'));
      jobs[2].settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await queue.idle();
      assert.deepEqual(lines, [
        ['warn', 'analysis failed', { id: a, error: 'analysis threw' }],
        ['error', 'analysis job failed', { id: b, error: 'worker died' }],
      ]);
    });

    it('counts the rate from the first message, even at time 0', () => {
      const { queue, add } = held({ start: 0 });
      for (let i = 0; i < 3; i++) add();
      assert.equal(queue.ingestRate, 6);
    });

    it('idle waits for every analysis, not the first', async () => {
      const { queue, jobs, add } = held({ maxInFlight: 1 });
      add();
      add();
      let idle = false;
      void queue.idle().then(() => (idle = true));
      jobs[0].settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await turn();
      assert.equal(idle, false, 'one still to run');
      jobs[1].settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await turn();
      assert.equal(idle, true);
    });

    it('resume with nothing deferred queues nothing twice; a message analysed on demand while waiting is not analysed again', async () => {
      const { queue, jobs, add, tick } = held({ pauseRate: 0 });
      const [a] = [add(), add()];
      queue.resume();
      assert.equal(queue.pending, 2, 'the two waiting, once each');
      const demanded = queue.demand(a);
      assert.equal(jobs.length, 1);
      jobs[0].settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await demanded;
      tick(10_000); // the pause ends when the queue next checks (one 50 ms slot later)
      const deadline = Date.now() + 5000;
      while (jobs.length < 2) {
        assert.ok(Date.now() < deadline, 'the waiting analysis started');
        await turn();
      }
      for (const j of jobs.slice(1))
        j.settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await queue.idle();
      assert.equal(jobs.length, 2, 'only the other one');
    });

    it('a demand after a failed analysis runs it again', async () => {
      const { queue, jobs, add } = held({ wanted: () => false });
      const id = add();
      const first = queue.demand(id);
      jobs[0].settle(new Error('worker died'));
      await first;
      const second = queue.demand(id);
      assert.equal(jobs.length, 2);
      jobs[1].settle({ analysis: ANALYSIS, parseError: null, analysisError: null });
      await second;
    });
  });
});
