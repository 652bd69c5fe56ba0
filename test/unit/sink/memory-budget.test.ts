/**
 * The memory budget's parts (issue 10, item 1), one by one: accounts, DATA
 * blocks counted with their copy, detail bodies cut, the detail cache bounded
 * by bytes, and a detail view that still answers when the parse failed (the
 * worker ran out of memory): headers from the raw source, truncated, /raw.
 */
import assert from 'node:assert/strict';
import { DataBuffer, DATA_BLOCK_BYTES, DATA_FIRST_BLOCK_BYTES } from '../../../sink/data-buffer.ts';
import { EventLog } from '../../../sink/event-log.ts';
import { MEMORY_HEADROOM, MEMORY_PLAN, MemoryBudget } from '../../../sink/memory-budget.ts';
import { parseHeaderBlock } from '../../../sink/message-headers.ts';
import { MAX_DETAIL_BODY_CHARS, parseParts } from '../../../sink/message-parse.ts';
import type { ParseBackend } from '../../../sink/parse-worker.ts';
import { WorkerParser } from '../../../sink/parse-worker.ts';
import { MemoryMessageStore } from '../../../sink/store.ts';

const envelope = {
  helo: 'x',
  mailFrom: null,
  rcptTo: [{ address: 'a@example.com', tag: null }],
  clientAddress: '127.0.0.1',
  tls: false,
  authUser: null,
};

describe('memory budget', () => {
  it('the plan fits the pod limit with headroom', () => {
    assert.ok(MEMORY_HEADROOM >= 32 * 1024 * 1024, `headroom ${MEMORY_HEADROOM}`);
    assert.ok(
      MEMORY_PLAN.inflight >= 2 * 25 * 1024 * 1024 + DATA_BLOCK_BYTES,
      'a 25 MiB message and its copy fit the in-flight account',
    );
  });

  it('accounts refuse past their cap; one oversized item may run alone', () => {
    const b = new MemoryBudget({ parse: 100 });
    assert.equal(b.tryAcquire('parse', 60), true);
    assert.equal(b.tryAcquire('parse', 60), false);
    assert.equal(b.tryAcquireAlone('parse', 500), false, 'not while something else runs');
    b.release('parse', 60);
    assert.equal(b.tryAcquireAlone('parse', 500), true);
    assert.equal(b.snapshot().find((a) => a.account === 'parse')!.refused, 2);
  });

  it('DATA: blocks and the stored copy are counted, everything is returned, and a full account refuses', () => {
    const b = new MemoryBudget({ inflight: 2 * 1024 * 1024 });
    const d = new DataBuffer(b);
    const chunk = Buffer.alloc(100 * 1024, 0x61);
    for (let i = 0; i < 6; i++) assert.equal(d.append(chunk), true);
    assert.equal(d.size, 600 * 1024);
    const blocks = DATA_FIRST_BLOCK_BYTES + 3 * DATA_BLOCK_BYTES;
    assert.equal(b.used('inflight'), blocks);
    const raw = d.take()!;
    assert.ok(
      raw.buffer instanceof SharedArrayBuffer,
      'stored in shared memory, read by the worker without a copy',
    );
    assert.equal(raw.length, 600 * 1024);
    assert.ok(raw.every((x) => x === 0x61));
    assert.equal(b.used('inflight'), 600 * 1024, 'the copy stays counted until released');
    d.release();
    assert.equal(b.used('inflight'), 0);

    const big = new DataBuffer(b);
    let ok = true;
    for (let i = 0; i < 40 && ok; i++) ok = big.append(chunk);
    assert.equal(ok, false);
    assert.equal(big.overBudget, true);
    assert.equal(big.take(), null);
    big.release();
    assert.equal(b.used('inflight'), 0);
  });

  it('detail bodies are cut at MAX_DETAIL_BODY_CHARS and flagged', async () => {
    const long = 'y'.repeat(MAX_DETAIL_BODY_CHARS + 10);
    const p = await parseParts(
      Buffer.from(`Subject: t\r\nContent-Type: text/plain\r\n\r\n${long}\r\n`),
    );
    assert.equal(p.text!.length, MAX_DETAIL_BODY_CHARS);
    assert.equal(p.truncated, true);
    const small = await parseParts(Buffer.from('Subject: t\r\n\r\nhello\r\n'));
    assert.equal(small.truncated, undefined);
  });

  it('a detail whose parse failed still gives the headers from the raw source, flagged truncated', async () => {
    const failing: ParseBackend = {
      analyze: async () => ({ parseError: 'x', analysis: null, analysisError: 'x' }),
      parts: async () => ({
        parseError: 'parse worker exited with code 1 (out of memory)',
        headers: [],
        text: null,
        html: null,
        attachments: [],
      }),
      attachment: async () => undefined,
      snippet: async () => '',
      inFlight: 0,
      close: async () => {},
    };
    const store = new MemoryMessageStore({
      maxMessages: 10,
      maxBytes: 1 << 20,
      events: new EventLog(),
      parser: failing,
      budget: new MemoryBudget(),
    });
    const raw = Buffer.from('From: a@example.com\r\nSubject: huge\r\nX-Thing: 1\r\n\r\nbody\r\n');
    const m = store.add({ envelope, raw, headers: parseHeaderBlock(raw) });
    const d = (await store.detail(m.id))!;
    assert.deepEqual(
      d.headers.map((h) => h.name),
      ['from', 'subject', 'x-thing'],
    );
    assert.equal(d.truncated, true);
    assert.match(d.parseError ?? '', /out of memory/);
    assert.equal(store.raw(m.id)!.length, raw.length);
  });

  it('the detail cache is bounded by bytes, and what does not fit is served uncached', async () => {
    const budget = new MemoryBudget({ detail: 3 * MAX_DETAIL_BODY_CHARS });
    let parses = 0;
    const parser: ParseBackend = {
      analyze: async () => ({ parseError: null, analysis: null, analysisError: null }),
      parts: async () => {
        parses++;
        return {
          parseError: null,
          headers: [],
          text: 'z'.repeat(MAX_DETAIL_BODY_CHARS),
          html: null,
          attachments: [],
        };
      },
      attachment: async () => undefined,
      snippet: async () => '',
      inFlight: 0,
      close: async () => {},
    };
    const store = new MemoryMessageStore({
      maxMessages: 10,
      maxBytes: 1 << 20,
      events: new EventLog(),
      parser,
      budget,
    });
    const ids = ['a', 'b', 'c'].map(
      (s) => store.add({ envelope, raw: Buffer.from(`Subject: ${s}\r\n\r\n`), headers: [] }).id,
    );
    for (const id of ids) await store.detail(id);
    await new Promise((r) => setImmediate(r));
    assert.ok(budget.used('detail') <= budget.cap('detail'));
    for (const id of ids) await store.detail(id);
    assert.equal(parses, 5, 'one view cached (2 bytes per character), the other two parsed again');
    store.clear();
    assert.equal(budget.used('detail'), 0);
  });

  it('the worker parser hands shared memory over without a copy and bounds the bytes in the worker', async () => {
    const budget = new MemoryBudget({ parse: 64 * 1024 });
    const parser = new WorkerParser({ budget });
    try {
      const make = (s: string) => {
        const text = Buffer.from(`Subject: ${s}\r\n\r\n${'w'.repeat(40 * 1024)}\r\n`);
        const shared = Buffer.from(new SharedArrayBuffer(text.length));
        text.copy(shared);
        return shared;
      };
      const all = await Promise.all(['one', 'two', 'three'].map((s) => parser.parts(make(s))));
      assert.deepEqual(
        all.map((p) => p.headers.find((h) => h.name.toLowerCase() === 'subject')?.value),
        ['one', 'two', 'three'],
      );
      assert.equal(budget.used('parse'), 0, 'released after the replies');
      assert.ok(
        budget.snapshot().find((a) => a.account === 'parse')!.refused > 0,
        'jobs waited for the parse budget',
      );
    } finally {
      await parser.close();
    }
  });
});

describe('memory budget: bounds, listeners and DATA transfers', () => {
  it('an account takes exactly up to its cap', () => {
    const b = new MemoryBudget({ detail: 100 });
    assert.equal(b.tryAcquire('detail', 100), true);
    assert.equal(b.tryAcquire('detail', 1), false);
    b.release('detail', 500);
    assert.equal(b.used('detail'), 0, 'never below zero');
    b.set('detail', 42);
    assert.equal(b.used('detail'), 42);
    assert.deepEqual(
      b.snapshot().find((a) => a.account === 'detail'),
      {
        account: 'detail',
        used: 42,
        cap: 100,
        refused: 1,
      },
    );
  });

  it('release listeners hear every release of bytes, not of nothing, until unsubscribed', () => {
    const b = new MemoryBudget();
    const heard: string[] = [];
    const off = b.onRelease((account) => heard.push(account));
    b.tryAcquire('parse', 10);
    b.release('parse', 10);
    b.release('store', 0);
    off();
    b.release('parse', 10);
    assert.deepEqual(heard, ['parse']);
  });

  it('a transfer refused once stays refused, and gives back what it held at once', () => {
    const b = new MemoryBudget({ inflight: DATA_FIRST_BLOCK_BYTES });
    const d = new DataBuffer(b);
    assert.equal(d.append(Buffer.alloc(DATA_FIRST_BLOCK_BYTES)), true);
    assert.equal(b.used('inflight'), DATA_FIRST_BLOCK_BYTES);
    assert.equal(d.append(Buffer.alloc(1)), false, 'a second block does not fit');
    assert.equal(d.overBudget, true);
    assert.equal(b.used('inflight'), 0, 'released when refused');
    assert.equal(d.append(Buffer.alloc(1)), false, 'not kept even though the budget is free again');
    assert.equal(b.used('inflight'), 0);
  });

  it('a transfer whose exact copy does not fit is refused at take()', () => {
    const b = new MemoryBudget({ inflight: DATA_FIRST_BLOCK_BYTES + 100 });
    const d = new DataBuffer(b);
    assert.equal(d.append(Buffer.alloc(200, 0x62)), true);
    assert.equal(d.take(), null);
    assert.equal(d.overBudget, true);
    assert.equal(b.used('inflight'), 0);
  });

  it('each transfer returns exactly what it holds, whatever the others hold', () => {
    const b = new MemoryBudget({ inflight: 4 * 1024 * 1024 });
    const a = new DataBuffer(b);
    const other = new DataBuffer(b);
    a.append(Buffer.alloc(300 * 1024, 0x61));
    other.append(Buffer.alloc(10, 0x62));
    const raw = a.take();
    assert.equal(raw?.length, 300 * 1024);
    assert.equal(b.used('inflight'), 300 * 1024 + DATA_FIRST_BLOCK_BYTES);
    a.release();
    assert.equal(
      b.used('inflight'),
      DATA_FIRST_BLOCK_BYTES,
      "the other transfer's block is still counted",
    );
    assert.deepEqual(other.take(), Buffer.alloc(10, 0x62));
    other.release();
    assert.equal(b.used('inflight'), 0);
  });
});
