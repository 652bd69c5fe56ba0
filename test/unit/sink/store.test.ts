import assert from 'node:assert/strict';
import type { Envelope } from '../../../src/protocol.ts';
import { EventLog } from '../../../sink/event-log.ts';
import { parseHeaderBlock } from '../../../sink/message-headers.ts';
import { InlineParser } from '../../../sink/parse-worker.ts';
import { MemoryMessageStore, flatUuid, isoTimeCache } from '../../../sink/store.ts';

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
  const parser = new InlineParser(async () => ({
    requiredHeaders: { from: true, date: true, messageId: true },
    listUnsubscribe: { present: false, oneClick: false, urls: [], mailto: [] },
    dkim: { result: 'none', signatures: [] },
    links: [],
    hasText: true,
    hasHtml: false,
    spamScore: 0,
    reasons: [],
  }));
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
    let t = Date.parse('2026-11-28T00:00:00.000Z');
    const iso = isoTimeCache(() => new Date(t));
    assert.equal(iso(), '2026-11-28T00:00:00.000Z');
    t += 1;
    assert.equal(iso(), '2026-11-28T00:00:00.001Z');
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
});
