import assert from 'node:assert/strict';
import type { Envelope } from '../../../src/protocol.ts';
import { EventLog } from '../../../sink/event-log.ts';
import { parseHeaderBlock } from '../../../sink/message-headers.ts';
import { InlineParser } from '../../../sink/parse-worker.ts';
import { analysis } from '../../support/message-analysis.ts';
import { MEMORY_PLAN, MemoryBudget } from '../../../sink/memory-budget.ts';
import type { ParsedParts } from '../../../sink/message-parse.ts';
import {
  DETAIL_CACHE_SIZE,
  MemoryMessageStore,
  SNIPPET_CACHE_SIZE,
  flatUuid,
  isoTimeCache,
  parseSummary,
  subMillisecondClock,
} from '../../../sink/store.ts';
import type * as storeModule from '../../../sink/store.ts';

const envelope = (to = 'user@example.com', from = 'sender@example.com'): Envelope => ({
  helo: 'client.example',
  mailFrom: { address: from, tag: null },
  rcptTo: [{ address: to, tag: to.includes('+') ? to.split('+')[1].split('@')[0] : null }],
  clientAddress: '127.0.0.1',
  tls: false,
  authUser: null,
});

function makeStore(maxMessages: number, maxBytes: number) {
  const events = new EventLog();
  let n = 0;
  const parser = new InlineParser(async () => analysis());
  const store = new MemoryMessageStore({
    maxMessages,
    maxBytes,
    events,
    parser,
    newId: () => `m${++n}`,
    now: () => new Date('2026-11-28T00:00:00Z'),
  });
  const add = (subject: string, size = 0, to?: string, from?: string) => {
    const raw = Buffer.from(
      `Subject: ${subject}\r\nTo: ${to ?? 'user@example.com'}\r\n\r\n${'x'.repeat(size)}`,
    );
    return store.add({ envelope: envelope(to, from), raw, headers: parseHeaderBlock(raw) });
  };
  return { store, events, add };
}

describe('MemoryMessageStore', () => {
  it('default ids are distinct version-4 UUIDs', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = flatUuid();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 5000);
  });

  it('the time cache follows the clock to the millisecond', () => {
    const t = Date.parse('2026-11-28T00:00:00.000Z');
    const iso = isoTimeCache();
    assert.equal(iso(new Date(t)), '2026-11-28T00:00:00.000Z');
    assert.equal(iso(new Date(t + 1)), '2026-11-28T00:00:00.001Z');
    assert.equal(iso(new Date(t)), '2026-11-28T00:00:00.000Z');
  });

  describe('sub-millisecond clock (MailHog Created nanoseconds)', () => {
    const wall = Date.parse('2026-11-28T00:00:00.000Z');
    /** A clock whose monotonic reading 0 is at `wall + phase` ms on the wall clock. */
    const clock = (phase: number) => {
      const c: { mono: number; sub: (wallMs: number) => number } = { mono: 0, sub: () => 0 };
      c.sub = subMillisecondClock(() => c.mono, wall + phase);
      return c;
    };

    it("takes the digits under the millisecond from the monotonic clock and the origin's phase", () => {
      const c = clock(0.25); // the process started 0.25 ms into a millisecond
      assert.equal(c.sub(wall), 250_000);
      c.mono = 0.000123;
      assert.equal(c.sub(wall), 250_123);
      c.mono = 0.5;
      assert.equal(c.sub(wall), 750_000);
      c.mono = 1.1; // the next millisecond on both clocks
      assert.equal(c.sub(wall + 1), 350_000);
      c.mono = 3_600_000.6; // an hour on
      assert.equal(c.sub(wall + 3_600_000), 850_000);
    });

    it('keeps nanoseconds an hour into the epoch of 2026 (no digits lost to the size of the time)', () => {
      const c = clock(0);
      c.mono = 3_600_000.000001;
      assert.equal(c.sub(wall + 3_600_000), 1);
      c.mono = 86_400_000.000042;
      assert.equal(c.sub(wall + 86_400_000), 42);
    });

    it('only increases within one millisecond, up to 999,999', () => {
      const c = clock(0);
      assert.equal(c.sub(wall), 0);
      assert.equal(c.sub(wall), 1, 'same reading: one nanosecond later');
      c.mono = 0.999999;
      assert.equal(c.sub(wall), 999_999);
      assert.equal(c.sub(wall), 999_999, 'never a tenth digit');
    });

    it('a wall clock ahead of the estimate: the digits start at its millisecond, and run on from there', () => {
      const c = clock(0.375); // a phase a double holds exactly next to 1.8e12 (2^-12 steps)
      c.mono = 0.1;
      assert.equal(c.sub(wall), 475_000);
      assert.equal(c.sub(wall + 60_000), 0, 'a step forward: the start of the new millisecond');
      c.mono = 0.35;
      assert.equal(c.sub(wall + 60_000), 250_000);
      c.mono = 1.2;
      assert.equal(c.sub(wall + 60_001), 100_000, 'the next millisecond, from the new anchor');
    });

    it('a wall clock behind the estimate: the digits stop at the end of its millisecond', () => {
      const c = clock(0.375);
      c.mono = 0.1;
      assert.equal(c.sub(wall), 475_000);
      c.mono = 0.7; // 1.075 ms on the estimate: the wall clock has not ticked
      assert.equal(c.sub(wall), 999_999, 'the least shift: the end of the millisecond');
      c.mono = 0.8;
      assert.equal(c.sub(wall + 1), 99_999, 'the next millisecond, from the new anchor');
      c.mono = 10;
      assert.equal(c.sub(wall - 50), 999_999, 'a step back: the end of that millisecond');
      c.mono = 10.5;
      assert.equal(c.sub(wall - 49), 499_999);
    });

    it('exactly a whole millisecond ahead is ahead (the end of the millisecond, not a wrap to 0)', () => {
      const c = clock(0);
      assert.equal(c.sub(wall), 0);
      c.mono = 1; // 1 ms on the monotonic clock, none on the wall clock
      assert.equal(c.sub(wall), 999_999);
      c.mono = 1.5; // moved to the end of the millisecond: half a millisecond on, less a nanosecond
      assert.equal(c.sub(wall + 1), 499_999);
    });

    it('a new millisecond may have smaller digits than the last one', () => {
      const c = clock(0);
      c.mono = 0.9;
      assert.equal(c.sub(wall), 900_000);
      c.mono = 1.1;
      assert.equal(c.sub(wall + 1), 100_000);
    });

    it('by default: the real clocks, with digits under the millisecond', () => {
      const sub = subMillisecondClock();
      const digits = new Set<number>();
      for (let i = 0; i < 50; i++) digits.add(sub(Date.now()));
      assert.ok(digits.size > 1, [...digits].join(','));
    });

    it('the store keeps each message its nanoseconds (0 for an unknown id)', () => {
      let mono = 1;
      const store = new MemoryMessageStore({
        maxMessages: 10,
        maxBytes: 1 << 20,
        events: new EventLog(),
        parser: new InlineParser(async () => analysis()),
        now: () => new Date(wall + 1),
        monotonicMs: () => mono,
        timeOriginMs: wall,
      });
      const raw = Buffer.from('Subject: a\r\n\r\nbody\r\n');
      const a = store.add({ raw, envelope: envelope(), headers: parseHeaderBlock(raw) });
      mono += 0.000042;
      const b = store.add({ raw, envelope: envelope(), headers: parseHeaderBlock(raw) });
      assert.equal(store.createdNanos(a.id), 0);
      assert.equal(store.createdNanos(b.id), 42);
      assert.equal(store.createdNanos('no-such-id'), 0);
    });
  });

  it('evicts the oldest by count, one message.evicted event each', () => {
    const { store, events, add } = makeStore(3, 1 << 20);
    for (let i = 1; i <= 5; i++) add(`s${i}`);
    assert.equal(store.count, 3);
    assert.deepEqual(
      store.list(0, 10).items.map((m) => m.subject),
      ['s5', 's4', 's3'],
    );
    const evicted = events
      .replaySince(0)
      .events.filter((e) => e.type === 'message.evicted')
      .map((e) => e.data);
    assert.deepEqual(evicted, [
      { id: 'm1', reason: 'count' },
      { id: 'm2', reason: 'count' },
    ]);
    assert.equal(store.evicted, 2);
    assert.equal(store.get('m1'), undefined);
  });

  it('evicts in age order across deletions and many age-list rebuilds', () => {
    // Random deletions among thousands of messages through a small cap: every
    // eviction must take the oldest message still stored, whatever was deleted.
    const { store, events, add } = makeStore(50, 1 << 30);
    const model: string[] = []; // ids stored, oldest first
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 6000; i++) {
      if (model.length > 0 && random() < 0.3) {
        const [id] = model.splice(Math.floor(random() * model.length), 1);
        assert.equal(store.delete(id), true);
      }
      const expectedVictim = model.length === 50 ? model.shift() : undefined;
      const lastSeq = events.lastSeq;
      model.push(add(`s${i}`).id);
      const evicted = events
        .replaySince(lastSeq)
        .events.filter((e) => e.type === 'message.evicted')
        .map((e) => (e.data as { id: string }).id);
      assert.deepEqual(evicted, expectedVictim === undefined ? [] : [expectedVictim], `add ${i}`);
    }
    assert.deepEqual(
      store.list(0, 100).items.map((m) => m.id),
      [...model].reverse(),
    );
  });

  it('the replay still rebuilds message.received of evicted, deleted and cleared messages', () => {
    const { store, events, add } = makeStore(2, 1 << 20);
    const a = add('first');
    const b = add('second');
    add('third'); // evicts a
    store.delete(b.id);
    assert.equal(store.raw(a.id), undefined);
    store.clear();
    const received = events
      .replaySince(0)
      .events.filter((e) => e.type === 'message.received')
      .map((e) => e.data as { id: string; subject: string; parsed: boolean });
    assert.deepEqual(
      received.map((d) => [d.subject, d.parsed]),
      [
        ['first', false],
        ['second', false],
        ['third', false],
      ],
    );
    assert.equal(received[0].id, a.id);
  });

  it('deleting without ever filling up keeps eviction order once it fills', () => {
    // 5,000 messages added and deleted under a cap never reached, then filled past the cap.
    const { store, events, add } = makeStore(10, 1 << 30);
    for (let i = 0; i < 5000; i++) store.delete(add(`gone${i}`).id);
    assert.equal(store.count, 0);
    const kept = Array.from({ length: 12 }, (_, i) => add(`k${i}`).id);
    const evicted = events
      .replaySince(0)
      .events.filter((e) => e.type === 'message.evicted')
      .map((e) => (e.data as { id: string }).id);
    assert.deepEqual(evicted, kept.slice(0, 2));
    assert.equal(store.count, 10);
  });

  it('evicts the oldest by bytes and keeps the byte count exact', () => {
    const { store, events, add } = makeStore(100, 1010); // three 336-byte messages fit
    const a = add('a', 300);
    add('b', 300);
    add('c', 300);
    assert.equal(store.count, 3);
    add('d', 300);
    assert.equal(store.get(a.id), undefined);
    assert.ok(store.bytes <= 1010);
    assert.equal(
      store.bytes,
      store.list(0, 10).items.reduce((n, m) => n + m.size, 0),
    );
    assert.equal(
      (
        events.replaySince(0).events.filter((e) => e.type === 'message.evicted')[0].data as {
          reason: string;
        }
      ).reason,
      'bytes',
    );
  });

  describe('the byte cap', () => {
    /** A store capped at 300 bytes and a message of exactly `size` raw bytes. */
    function byteStore() {
      const { store, events } = makeStore(100, 300);
      const add = (size: number) => {
        const head = 'Subject: s\r\n\r\n';
        const raw = Buffer.from(head + 'x'.repeat(size - head.length));
        assert.equal(raw.length, size);
        return store.add({ envelope: envelope(), raw, headers: parseHeaderBlock(raw) }).id;
      };
      const evictedIds = () =>
        events
          .replaySince(0)
          .events.filter((e) => e.type === 'message.evicted')
          .map((e) => (e.data as { id: string }).id);
      return { store, add, evictedIds };
    }

    it('messages that fill it exactly are all kept', () => {
      const { store, add, evictedIds } = byteStore();
      const ids = [add(100), add(100), add(100)];
      assert.equal(store.bytes, 300);
      assert.deepEqual(evictedIds(), []);
      assert.deepEqual(
        store.list(0, 10).items.map((m) => m.id),
        [...ids].reverse(),
      );
    });

    it('a large message evicts as many of the oldest as it needs, no more', () => {
      const { store, add, evictedIds } = byteStore();
      const [a, b] = [add(100), add(100)];
      const c = add(80);
      const big = add(210); // 280 + 210 > 300: a and b must go (80 + 210 fits)
      assert.deepEqual(evictedIds(), [a, b]);
      assert.deepEqual(
        store.list(0, 10).items.map((m) => m.id),
        [big, c],
      );
      assert.equal(store.bytes, 290);
      const huge = add(300); // the whole cap: everything else goes
      assert.deepEqual(evictedIds(), [a, b, c, big]);
      assert.deepEqual([store.count, store.bytes, store.evicted], [1, 300, 4]);
      assert.equal(store.get(huge)?.size, 300);
    });
  });

  it('keeps exactly the bytes of a raw source that is a view into larger memory', () => {
    const budget = new MemoryBudget();
    const store = new MemoryMessageStore({
      maxMessages: 10,
      maxBytes: 1 << 20,
      events: new EventLog(),
      parser: new InlineParser(async () => analysis()),
      budget,
    });
    const text = 'Subject: view\r\n\r\nbody';
    const memory = Buffer.alloc(4096, '#');
    memory.write(text, 0);
    memory.write(text, 100);
    const views = [
      memory.subarray(0, text.length), // at the start of its memory, shorter than it
      memory.subarray(100, 100 + text.length), // inside it
      Buffer.alloc(text.length, text), // its own memory, all of it
    ];
    assert.deepEqual(
      views.map((v) => [v.byteOffset > 0, v.byteLength === v.buffer.byteLength]),
      [
        [false, false],
        [true, false],
        [false, true],
      ],
    );
    const ids = views.map(
      (raw) => store.add({ envelope: envelope(), raw, headers: parseHeaderBlock(raw) }).id,
    );
    for (const id of ids) {
      assert.equal(store.raw(id)?.toString('latin1'), text, id);
      assert.equal(store.get(id)?.size, text.length);
    }
    assert.equal(store.bytes, 3 * text.length);
    assert.equal(budget.used('store'), 3 * text.length);
    for (const id of ids) store.delete(id);
    assert.equal(store.bytes, 0, 'each removal gives back what its message counted');
    assert.equal(budget.used('store'), 0);
  });

  it('unanalysed lists exactly the messages whose analysis has not run, oldest first', () => {
    const { store, add } = makeStore(10, 1 << 20);
    const [a, b, c] = [add('a').id, add('b').id, add('c').id];
    assert.deepEqual(store.unanalysed(), [a, b, c]);
    store.setAnalysis(b, analysis(), null);
    assert.deepEqual(store.unanalysed(), [a, c]);
    store.setAnalysis(a, null, 'bad MIME');
    store.setAnalysis(c, analysis(), null);
    assert.deepEqual(store.unanalysed(), []);
  });

  it('appends message.received with the summary (header-parsed on ingest)', () => {
    const { events, add } = makeStore(10, 1 << 20);
    const m = add('=?utf-8?B?R3LDvMOfZQ==?=', 0, 'a+promo@example.com');
    const ev = events.replaySince(0).events.at(-1)!;
    assert.equal(ev.type, 'message.received');
    // The window keeps the summary's JSON (one string, not its objects) and replays an equal copy.
    assert.deepEqual(ev.data, m);
    assert.notEqual(ev.data, m);
    assert.equal(m.subject, 'Grüße');
    assert.equal(m.parsed, false);
    assert.deepEqual(m.envelope.rcptTo[0], { address: 'a+promo@example.com', tag: 'promo' });
  });

  it('filters by to, from, subject, containing and tag, newest first with paging', () => {
    const { store, add } = makeStore(100, 1 << 20);
    add('Welcome', 0, 'new+signup@example.com');
    add('Receipt 1', 0, 'buyer@shop.example', 'billing@shop.example');
    add('Receipt 2', 0, 'buyer@shop.example', 'billing@shop.example');
    assert.equal(store.list(0, 10, { to: 'SHOP.example' }).total, 2);
    assert.equal(store.list(0, 10, { from: 'billing@' }).total, 2);
    assert.equal(store.list(0, 10, { subject: 'receipt' }).total, 2);
    assert.equal(store.list(0, 10, { tag: 'signup' }).total, 1);
    assert.equal(store.list(0, 10, { containing: 'WELCOME' }).total, 1);
    assert.equal(store.list(0, 10, { to: 'new+signup@' }).total, 1, '+ is literal text');
    assert.equal(store.list(0, 10, { subject: '/^receipt \\d$/' }).total, 2, '/…/: an expression');
    assert.equal(store.list(0, 10, { from: '/^billing@shop\\.example$/' }).total, 2);
    const page = store.list(1, 1, { subject: 'receipt' });
    assert.equal(page.total, 2);
    assert.deepEqual(
      page.items.map((m) => m.subject),
      ['Receipt 1'],
    );
  });

  it('delete and clear publish their events', () => {
    const { store, events, add } = makeStore(10, 1 << 20);
    const a = add('a');
    add('b');
    assert.equal(store.delete(a.id), true);
    assert.equal(store.delete(a.id), false);
    assert.equal(store.clear(), 1);
    assert.equal(store.count, 0);
    assert.equal(store.bytes, 0);
    const types = events.replaySince(0).events.map((e) => e.type);
    assert.deepEqual(types.slice(-2), ['message.deleted', 'messages.cleared']);
  });

  it('detail parses lazily; broken MIME is kept with its parse result', async () => {
    const { store } = makeStore(10, 1 << 20);
    const raw = Buffer.from(
      'Subject: broken\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello',
    );
    const m = store.add({ envelope: envelope(), raw, headers: parseHeaderBlock(raw) });
    const d = (await store.detail(m.id))!;
    assert.equal(d.subject, 'broken');
    assert.equal(d.headers[0].name, 'Subject');
    assert.ok(store.raw(m.id)!.equals(raw));
    assert.equal(await store.detail('nope'), undefined);
    assert.equal(await store.attachment(m.id, 5), undefined);
  });

  it('setAnalysis marks the summary parsed without touching earlier event payloads', () => {
    const { store, events, add } = makeStore(10, 1 << 20);
    const m = add('a');
    assert.equal(store.setAnalysis(m.id, null, 'bad MIME'), true);
    assert.equal(store.get(m.id)!.parsed, true);
    assert.equal(store.get(m.id)!.parseError, 'bad MIME');
    assert.equal((events.replaySince(0).events[0].data as { parsed: boolean }).parsed, false);
    assert.deepEqual(
      store.list(0, 10).items.map((s) => [s.id, s.parsed, s.parseError]),
      [[m.id, true, 'bad MIME']],
    );
    assert.equal(store.setAnalysis('gone', null, null), false);
  });

  it('default ids use every hex digit outside the version and variant positions', () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 2000; i++) firsts.add(flatUuid()[0]);
    assert.equal(firsts.size, 16);
  });

  it('the ids of a freshly loaded module are random from the first one, across pool refills', async () => {
    // A new instance of the module, loaded inside the test: its id pool starts used up, as at
    // process start. (The module shared by the other tests has drawn ids already, so its pool
    // is part-used; only a fresh load shows whether the first draw fills it.)
    const url = new URL(`../../../sink/store.ts?fresh=${process.hrtime.bigint()}`, import.meta.url);
    const fresh: unknown = await import(url.href);
    assert.ok(
      typeof fresh === 'object' &&
        fresh !== null &&
        'flatUuid' in fresh &&
        typeof fresh.flatUuid === 'function',
    );
    const ids: unknown[] = [];
    for (let i = 0; i < 2000; i++) ids.push(fresh.flatUuid()); // about eight pools of 256
    assert.notEqual(ids[0], '00000000-0000-4000-8000-000000000000');
    assert.equal(new Set(ids).size, 2000);
    assert.equal(new Set(ids.map((id) => String(id)[0])).size, 16);
    for (const id of ids)
      assert.match(
        String(id),
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
  });

  it("a freshly loaded module's defaults keep to the memory plan, and a message without Cc has no Cc address", async () => {
    // Values set when the module loads: a fresh instance, loaded inside the test (see above).
    const url = new URL(`../../../sink/store.ts?fresh=${process.hrtime.bigint()}`, import.meta.url);
    const fresh: unknown = await import(url.href);
    assert.ok(isStoreModule(fresh));
    assert.equal(fresh.DEFAULT_MAX_BYTES, MEMORY_PLAN.store, "the pod's store account");
    assert.equal(fresh.DEFAULT_MAX_BYTES, 128 * 1024 * 1024);
    const store = new fresh.MemoryMessageStore({
      maxMessages: 10,
      maxBytes: 1 << 20,
      events: new EventLog(),
      parser: new InlineParser(async () => analysis()),
    });
    const raw = Buffer.from('Subject: s\r\nTo: user@example.com\r\n\r\nbody');
    store.add({ envelope: envelope(), raw, headers: parseHeaderBlock(raw) });
    const withCc = Buffer.from('Subject: cc\r\nCc: team\r\n\r\nbody');
    store.add({ envelope: envelope(), raw: withCc, headers: parseHeaderBlock(withCc) });
    // Every address of both messages has an @ except the second one's Cc.
    assert.deepEqual(
      store.list(0, 10, { to: '/^[^@]*$/' }).items.map((m) => m.subject),
      ['cc'],
    );
    assert.equal(store.list(0, 10, { to: '/^[^@]*$/' }).total, 1);
  });

  it('parseSummary reads back a stored summary and refuses any other JSON', () => {
    const { add } = makeStore(10, 1 << 20);
    const m = add('a');
    assert.deepEqual(parseSummary(JSON.stringify(m)), m);
    const good = { id: 'x', envelope: {}, to: [], size: 1 };
    assert.deepEqual(parseSummary(JSON.stringify(good)), good);
    for (const bad of [
      '"text"',
      '12',
      'null',
      '[]',
      JSON.stringify({ ...good, id: 1 }),
      JSON.stringify({ ...good, envelope: 'e' }),
      JSON.stringify({ ...good, to: 'a@b' }),
      JSON.stringify({ ...good, size: '1' }),
      JSON.stringify({ envelope: {}, to: [], size: 1 }),
    ])
      assert.throws(
        () => parseSummary(bad),
        (e: unknown) => e instanceof Error && e.message === 'stored summary JSON is not a summary',
        bad,
      );
  });

  it('an eviction is for count only when the count is what overflows', () => {
    const { store, events, add } = makeStore(3, 250); // a message with an empty body: 36 bytes
    add('a');
    add('b');
    const c = add('c', 150); // three fit the count, not the bytes
    assert.equal(store.count, 2);
    store.delete(c.id);
    add('d');
    add('e');
    add('f'); // now the count
    const reasons = events
      .replaySince(0)
      .events.filter((e) => e.type === 'message.evicted')
      .map((e) => (e.data as { reason: string }).reason);
    assert.deepEqual(reasons, ['bytes', 'count']);
  });

  describe('lists and queries', () => {
    /** A message with this envelope recipient(s) and header text. */
    function addRaw(
      store: MemoryMessageStore,
      rcpts: { address: string; tag: string | null }[],
      head: string,
    ) {
      const raw = Buffer.from(`${head}\r\n\r\nbody`);
      return store.add({
        envelope: { ...envelope(), rcptTo: rcpts },
        raw,
        headers: parseHeaderBlock(raw),
      });
    }

    it('to matches any envelope recipient, any To address or any Cc address, and nothing else', () => {
      const { store } = makeStore(100, 1 << 20);
      const rcpt = (a: string) => ({ address: a, tag: null });
      const env = addRaw(store, [rcpt('x@a.example'), rcpt('env@b.example')], 'Subject: env');
      const to = addRaw(
        store,
        [rcpt('x@a.example')],
        'Subject: to\r\nTo: x@a.example, hdr@b.example',
      );
      const cc = addRaw(
        store,
        [rcpt('x@a.example')],
        'Subject: cc\r\nCc: y@a.example, copy@b.example',
      );
      addRaw(
        store,
        [rcpt('x@a.example')],
        'Subject: none\r\nFrom: copy@b.example\r\nReply-To: env@b.example',
      );
      const ids = (q: string) => store.list(0, 10, { to: q }).items.map((m) => m.id);
      assert.deepEqual(ids('env@b.example'), [env.id]);
      assert.deepEqual(ids('hdr@b.example'), [to.id]);
      assert.deepEqual(ids('copy@b.example'), [cc.id]);
      assert.deepEqual(ids('nobody@b.example'), []);
    });

    it('a tag matches any recipient; empty and absent fields do not filter', () => {
      const { store } = makeStore(100, 1 << 20);
      const two = addRaw(
        store,
        [
          { address: 'a+one@x.example', tag: 'one' },
          { address: 'b+two@x.example', tag: 'two' },
        ],
        'Subject: tagged',
      );
      const other = addRaw(store, [{ address: 'c@x.example', tag: null }], 'Subject: other');
      assert.deepEqual(
        store.list(0, 10, { tag: 'two' }).items.map((m) => m.id),
        [two.id],
      );
      assert.deepEqual(
        store.list(0, 10, { to: '', subject: 'other' }).items.map((m) => m.id),
        [other.id],
      );
      assert.deepEqual(
        store.list(0, 10, { to: 'c@x.example', from: undefined }).items.map((m) => m.id),
        [other.id],
      );
      assert.equal(store.list(0, 10, { to: '', from: undefined }).total, 2);
    });

    it('an empty field does not filter out a message that lacks that field', () => {
      const { store } = makeStore(100, 1 << 20);
      const rcpt = { address: 'x@a.example', tag: null };
      const bare = addRaw(store, [rcpt], 'X-Nothing: here'); // no Subject, no From, no To
      const other = addRaw(store, [{ address: 'y@a.example', tag: null }], 'Subject: s');
      assert.deepEqual(
        store.list(0, 10, { subject: '', from: '', to: 'x@a.example' }).items.map((m) => m.id),
        [bare.id],
      );
      assert.equal(store.list(0, 10, { subject: '', to: '@a.example' }).total, 2);
      assert.notEqual(other.id, bare.id);
    });

    it('pages the unfiltered list and the filtered one', () => {
      const { store, add } = makeStore(100, 1 << 20);
      for (const s of ['a', 'b', 'c', 'd']) add(s);
      assert.deepEqual(
        store.list(1, 2).items.map((m) => m.subject),
        ['c', 'b'],
      );
      assert.equal(store.list(1, 2).total, 4);
      const page = store.list(0, 1, { containing: 'zzz' });
      assert.deepEqual([page.total, page.items.map((m) => m.subject)], [0, []]);
      const all = store.list(1, 1, { subject: '/^[abcd]$/' });
      assert.deepEqual([all.total, all.items.map((m) => m.subject)], [4, ['c']]);
    });
  });

  describe('caches and the parser', () => {
    /** A store over a parser that counts its calls and answers parts() as scripted. */
    function counted(
      options: { parts?: ParsedParts; budget?: MemoryBudget; maxMessages?: number } = {},
    ) {
      const calls = { parts: 0, snippet: 0, attachment: 0 };
      const inline = new InlineParser();
      const parser = Object.assign(inline, {
        parts: (raw: Buffer) => {
          calls.parts++;
          return options.parts
            ? Promise.resolve(options.parts)
            : InlineParser.prototype.parts.call(inline, raw);
        },
        snippet: () => {
          calls.snippet++;
          return Promise.resolve('snip');
        },
        attachment: () => {
          calls.attachment++;
          return Promise.resolve(undefined);
        },
      });
      let n = 0;
      const store = new MemoryMessageStore({
        maxMessages: options.maxMessages ?? 100,
        maxBytes: 1 << 24,
        events: new EventLog(),
        parser,
        ...(options.budget ? { budget: options.budget } : {}),
        newId: () => `m${++n}`,
      });
      const add = (head = 'Subject: s\r\nFrom: a@x.example', body = 'hello') => {
        const raw = Buffer.from(`${head}\r\n\r\n${body}`);
        return store.add({ envelope: envelope(), raw, headers: parseHeaderBlock(raw) }).id;
      };
      return { store, calls, add };
    }

    it('a detail view is parsed once while cached; the cache keeps the last 32 and counts their size in the budget', async () => {
      const budget = new MemoryBudget();
      const { store, calls, add } = counted({ budget });
      const first = add();
      const d = (await store.detail(first))!;
      await store.detail(first);
      assert.equal(calls.parts, 1);
      const bytesOf = (x: typeof d) =>
        2 *
          ((x.text?.length ?? 0) +
            (x.html?.length ?? 0) +
            x.headers.reduce((n, h) => n + h.name.length + h.value.length, 0)) +
        256 * x.attachments.length;
      assert.equal(budget.used('detail'), bytesOf(d));
      for (let i = 0; i < DETAIL_CACHE_SIZE; i++) await store.detail(add());
      assert.equal(calls.parts, 1 + DETAIL_CACHE_SIZE);
      await store.detail(first); // pushed out by the 32 after it
      assert.equal(calls.parts, 2 + DETAIL_CACHE_SIZE);
      const last = add('Subject: a longer subject\r\nFrom: a@x.example', 'a longer body');
      const l = (await store.detail(last))!;
      const before = budget.used('detail');
      assert.equal(store.delete(last), true);
      assert.equal(
        budget.used('detail'),
        before - bytesOf(l),
        'a deleted message gives its cached detail back',
      );
    });

    it('a body that could not be parsed: the headers from the raw source, flagged truncated', async () => {
      const { store, add } = counted({
        parts: {
          parseError: 'out of memory',
          headers: [],
          text: null,
          html: null,
          attachments: [],
        },
      });
      const id = add('Subject: s\r\nX-Thing: 1');
      const d = (await store.detail(id))!;
      assert.deepEqual(d.headers, [
        { name: 'subject', value: 's' },
        { name: 'x-thing', value: '1' },
      ]);
      assert.equal(d.truncated, true);
      assert.equal(d.parseError, 'out of memory');
    });

    it('a parse error with a body left: no raw headers taken, not truncated', async () => {
      const { store, add } = counted({
        parts: {
          parseError: 'odd',
          headers: [{ name: 'A', value: 'b' }],
          text: 't',
          html: null,
          attachments: [],
        },
      });
      const d = (await store.detail(add()))!;
      assert.deepEqual(d.headers, [{ name: 'A', value: 'b' }]);
      assert.equal(d.truncated, undefined);
      const { store: s2, add: add2 } = counted({
        parts: { parseError: 'odd', headers: [], text: null, html: '<p>', attachments: [] },
      });
      assert.equal((await s2.detail(add2()))!.truncated, undefined);
    });

    it(`snippets are computed once per message, the last ${SNIPPET_CACHE_SIZE} kept`, async () => {
      const { store, calls, add } = counted({ maxMessages: SNIPPET_CACHE_SIZE + 10 });
      const first = add();
      assert.equal(await store.snippet(first), 'snip');
      assert.equal(await store.snippet(first), 'snip');
      assert.equal(calls.snippet, 1);
      for (let i = 0; i < SNIPPET_CACHE_SIZE - 1; i++) await store.snippet(add());
      await store.snippet(first);
      assert.equal(calls.snippet, SNIPPET_CACHE_SIZE, 'still cached');
      await store.snippet(add());
      await store.snippet(first);
      assert.equal(calls.snippet, SNIPPET_CACHE_SIZE + 2, 'pushed out, computed again');
      assert.equal(await store.snippet('nope'), undefined);
    });

    const meta = (index: number) => ({
      index,
      filename: `f${index}.bin`,
      contentType: 'application/octet-stream',
      size: 10,
      contentId: null,
      disposition: 'attachment',
      checksum: null,
    });

    it(`the detail cache keeps the ${DETAIL_CACHE_SIZE} most recent, not one fewer`, async () => {
      const { store, calls, add } = counted();
      const first = add();
      await store.detail(first);
      for (let i = 0; i < DETAIL_CACHE_SIZE - 1; i++) await store.detail(add());
      assert.equal(calls.parts, DETAIL_CACHE_SIZE);
      await store.detail(first); // the oldest of 32 cached
      assert.equal(calls.parts, DETAIL_CACHE_SIZE, 'still cached');
    });

    it('a cached detail counts two bytes per character of its text, html and headers, 256 per attachment', async () => {
      const budget = new MemoryBudget();
      const { store, add } = counted({
        budget,
        parts: {
          parseError: null,
          headers: [{ name: 'Subject', value: 'hi' }],
          text: 'plain',
          html: '<p>rich</p>',
          attachments: [meta(0), meta(1)],
        },
      });
      await store.detail(add());
      assert.equal(budget.used('detail'), 2 * (7 + 2 + 5 + 11) + 2 * 256);
    });

    it('a message removed while its detail is parsed takes nothing from the detail account', async () => {
      const budget = new MemoryBudget();
      const { store, add } = counted({ budget });
      const id = add();
      const pending = store.detail(id);
      assert.equal(store.delete(id), true);
      const d = await pending;
      assert.equal(d?.id, id, 'the view asked for is still served');
      assert.equal(budget.used('detail'), 0);
      assert.equal(store.count, 0);
    });

    it('a detail view waits for the analysis run on demand', async () => {
      // The parse answers at once; the analysis finishes on a later turn of the event loop.
      const { store, add } = counted({
        parts: { parseError: null, headers: [], text: 'hello', html: null, attachments: [] },
      });
      const id = add();
      const demanded: string[] = [];
      store.analysisOnDemand = (want) => {
        demanded.push(want);
        return new Promise((resolve) =>
          setImmediate(() => {
            store.setAnalysis(want, analysis({ spamScore: 3 }), null);
            resolve();
          }),
        );
      };
      const d = (await store.detail(id))!;
      assert.deepEqual(demanded, [id]);
      assert.equal(d.parsed, true);
      assert.equal(d.analysis?.spamScore, 3);
      assert.deepEqual(d.analysis, store.analysisOf(id));
      await store.detail(id);
      assert.deepEqual(demanded, [id], 'not demanded again once analysed');
    });

    it('a parse without error is taken as it is: no headers, no body is not truncated', async () => {
      const { store, add } = counted({
        parts: { parseError: null, headers: [], text: null, html: null, attachments: [meta(0)] },
      });
      const d = (await store.detail(add('Subject: s\r\nX-Thing: 1')))!;
      assert.deepEqual(d.headers, [], 'the raw headers are only for a body that failed');
      assert.equal(d.truncated, undefined);
      assert.equal(d.parseError, null);
      assert.equal(d.attachments.length, 1);
    });

    it("a deleted message gives its snippet's room in the cache back", async () => {
      const { store, calls, add } = counted({ maxMessages: SNIPPET_CACHE_SIZE + 10 });
      const first = add();
      await store.snippet(first);
      const gone = add();
      await store.snippet(gone);
      assert.equal(store.delete(gone), true);
      for (let i = 0; i < SNIPPET_CACHE_SIZE - 1; i++) await store.snippet(add());
      const before = calls.snippet;
      await store.snippet(first); // with the 1999 after it: 2000 cached, first among them
      assert.equal(calls.snippet, before, 'still cached');
    });

    it('a detail view is of the message as its parse found it, even if deleted the moment after', async () => {
      // The parse's promise is the test's: a reaction to it queued after detail()'s runs
      // after detail() has its answer.
      const parts: ParsedParts = {
        parseError: null,
        headers: [],
        text: 'hello',
        html: null,
        attachments: [],
      };
      const parsed = Promise.resolve(parts);
      const scripted = new MemoryMessageStore({
        maxMessages: 10,
        maxBytes: 1 << 20,
        events: new EventLog(),
        parser: Object.assign(new InlineParser(), { parts: () => parsed }),
      });
      const raw = Buffer.from('Subject: s\r\n\r\nhello');
      const { id } = scripted.add({ envelope: envelope(), raw, headers: parseHeaderBlock(raw) });
      scripted.setAnalysis(id, analysis({ spamScore: 2 }), null);
      const pending = scripted.detail(id);
      void parsed.then(() => scripted.delete(id));
      const d = (await pending)!;
      assert.equal(scripted.has(id), false);
      assert.equal(d.analysis?.spamScore, 2);
      assert.equal(d.parsed, true);
    });

    it('attachments by a whole index from 0', async () => {
      const { store, calls, add } = counted();
      const id = add();
      for (const index of [-1, 1.5, Number.NaN])
        assert.equal(await store.attachment(id, index), undefined);
      assert.equal(calls.attachment, 0);
      await store.attachment(id, 0);
      await store.attachment(id, 3);
      assert.equal(calls.attachment, 2);
    });
  });
});

/** A module shaped like sink/store.ts (a fresh instance loaded with a query string). */
function isStoreModule(m: unknown): m is typeof storeModule {
  return (
    typeof m === 'object' &&
    m !== null &&
    'MemoryMessageStore' in m &&
    typeof m.MemoryMessageStore === 'function' &&
    'DEFAULT_MAX_BYTES' in m &&
    typeof m.DEFAULT_MAX_BYTES === 'number'
  );
}
