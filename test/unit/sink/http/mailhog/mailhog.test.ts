/**
 * MailHog compatibility, field by field. The expected objects are what MailHog
 * 1.0.1 returns for the same SMTP transaction (its data.Message marshalled by
 * Go: struct fields in declaration order, map keys sorted, nil slices and
 * pointers as null), with its random ID and clock replaced by ours.
 */
import assert from 'node:assert/strict';
import { startFakeApi } from '../../../../support/fake-sink-context.ts';
import {
  MAILHOG_DEFAULT_LIMIT,
  MAILHOG_MAX_LIMIT,
  MAILHOG_MAX_PARTS,
  MAILHOG_MAX_MIME_DEPTH,
  extractBoundary,
  goJson,
  goTime,
  mailhogMatches,
  mailhogPath,
  rfc1123z,
  toMailhogMessage,
  type MailhogMessage,
} from '../../../../../sink/http/mailhog/message.ts';
import {
  capPageBytes,
  MAX_MAILHOG_PAGE_RAW_BYTES,
  mailhogStartLimit,
  mailhogWindow,
} from '../../../../../sink/http/mailhog/routes.ts';

type Api = Awaited<ReturnType<typeof startFakeApi>>;

const TIME = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));

/** Exactly what Python's EmailMessage + smtplib (the article's script) puts on the wire. */
const PYTHON_RAW =
  'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n' +
  'Subject: Validation Email\r\nFrom: test@domain.com\r\nTo: user@domain.com\r\n\r\nTest email for validation\r\n';

const MULTIPART_RAW = [
  'From: Shop <shop@example.com>',
  'To: alice@example.com',
  'Subject: Your order',
  'Message-ID: <order-1@example.com>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed;',
  ' boundary="outer"',
  '',
  'This is a multi-part message in MIME format.',
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Total: 12 €',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Total: 12 €</p>',
  '--inner--',
  '',
  '--outer',
  'Content-Type: application/pdf; name="invoice.pdf"',
  'Content-Disposition: attachment; filename="invoice.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQK',
  '--outer--',
  '',
].join('\r\n');

describe('MailHog compatibility', () => {
  describe('message shape', () => {
    it("the article's smtplib message, every field", () => {
      const api = { id: 'mh-1' };
      const summary = fakeSummary(
        api.id,
        PYTHON_RAW,
        'test@domain.com',
        ['user@domain.com'],
        'sender.local',
      );
      const msg = toMailhogMessage(summary, Buffer.from(PYTHON_RAW));
      const received = `from sender.local by mailhog.example (MailHog)\r\n          id mh-1; Fri, 02 Jan 2026 03:04:05 +0000`;
      const expected: MailhogMessage = {
        ID: 'mh-1',
        From: { Relays: null, Mailbox: 'test', Domain: 'domain.com', Params: '' },
        To: [{ Relays: null, Mailbox: 'user', Domain: 'domain.com', Params: '' }],
        Content: {
          Headers: {
            'Content-Transfer-Encoding': ['7bit'],
            'Content-Type': ['text/plain; charset="utf-8"'],
            From: ['test@domain.com'],
            'MIME-Version': ['1.0'],
            'Message-ID': ['mh-1'],
            Received: [received],
            'Return-Path': ['<test@domain.com>'],
            Subject: ['Validation Email'],
            To: ['user@domain.com'],
          },
          // MailHog drops the CRLF before the final dot (smtp/protocol.go:190): no trailing CRLF, Size 2 less.
          Body: 'Test email for validation',
          Size: Buffer.byteLength(PYTHON_RAW) - 2,
          MIME: null,
        },
        // Go's time.Time JSON drops the fraction's trailing zeros: .678Z stays, .670Z would be .67Z.
        Created: '2026-01-02T03:04:05.678Z',
        MIME: null,
        Raw: {
          From: 'test@domain.com',
          To: ['user@domain.com'],
          Data: PYTHON_RAW.slice(0, -2),
          Helo: 'sender.local',
        },
      };
      assert.deepEqual(msg, expected);
      // Go marshals struct fields in declaration order and map keys sorted.
      assert.deepEqual(Object.keys(msg), ['ID', 'From', 'To', 'Content', 'Created', 'MIME', 'Raw']);
      assert.deepEqual(Object.keys(msg.Content), ['Headers', 'Body', 'Size', 'MIME']);
      assert.deepEqual(Object.keys(msg.From), ['Relays', 'Mailbox', 'Domain', 'Params']);
      assert.deepEqual(Object.keys(msg.Raw), ['From', 'To', 'Data', 'Helo']);
      assert.deepEqual(
        Object.keys(msg.Content.Headers),
        [...Object.keys(msg.Content.Headers)].sort(),
      );
    });

    it('splits multipart bodies by boundary the way MailHog does, nested, with its quirks', () => {
      const summary = fakeSummary(
        'mh-2',
        MULTIPART_RAW,
        'shop@example.com',
        ['alice@example.com'],
        'shop.example',
      );
      const msg = toMailhogMessage(summary, Buffer.from(MULTIPART_RAW));
      // A folded header is joined without its CRLF; the existing Message-ID is kept.
      assert.deepEqual(msg.Content.Headers['Content-Type'], ['multipart/mixed; boundary="outer"']);
      assert.deepEqual(msg.Content.Headers['Message-ID'], ['<order-1@example.com>']);
      // The top-level Content.MIME stays null; the parts hang off Message.MIME.
      assert.equal(msg.Content.MIME, null);
      const parts = msg.MIME?.Parts ?? [];
      // Preamble, the alternative, the attachment, and the "--" after the closing delimiter.
      assert.equal(parts.length, 4);
      assert.deepEqual(parts[0], {
        Headers: {},
        Body: 'This is a multi-part message in MIME format.',
        Size: 44,
        MIME: null,
      });
      const alt = parts[1];
      assert.deepEqual(alt.Headers, { 'Content-Type': ['multipart/alternative; boundary=inner'] });
      const inner = alt.MIME?.Parts ?? [];
      assert.equal(inner.length, 3);
      assert.deepEqual(inner[0].Headers, { 'Content-Type': ['text/plain; charset=utf-8'] });
      assert.equal(inner[0].Body, 'Total: 12 €');
      // Sizes are byte lengths (€ is three bytes).
      assert.equal(
        inner[0].Size,
        Buffer.byteLength('Content-Type: text/plain; charset=utf-8\r\n\r\nTotal: 12 €'),
      );
      assert.equal(inner[1].Body, '<p>Total: 12 €</p>');
      assert.deepEqual(inner[2], { Headers: {}, Body: '--', Size: 2, MIME: null });
      const pdf = parts[2];
      assert.deepEqual(Object.keys(pdf.Headers), [
        'Content-Disposition',
        'Content-Transfer-Encoding',
        'Content-Type',
      ]);
      assert.equal(pdf.Body, 'JVBERi0xLjQK');
      assert.equal(pdf.MIME, null);
      assert.deepEqual(parts[3], { Headers: {}, Body: '--', Size: 2, MIME: null });
    });

    it('keeps only the last of repeated headers, appends Received/Return-Path to existing ones, ignores junk lines', () => {
      const raw =
        'Received: from a\r\nReceived: from b\r\nreturn-path: <x@y>\r\nX-Tag: one\r\nX-Tag: two\r\nnot a header\r\nSubject: s\r\n\r\nbody';
      const msg = toMailhogMessage(fakeSummary('id', raw, 'x@y', ['z@w'], 'h'), Buffer.from(raw));
      assert.deepEqual(msg.Content.Headers['X-Tag'], ['two']);
      assert.equal(msg.Content.Headers.Received.length, 2);
      assert.equal(msg.Content.Headers.Received[0], 'from b');
      assert.match(
        msg.Content.Headers.Received[1],
        /^from h by mailhog\.example \(MailHog\)\r\n {10}id id; /,
      );
      assert.deepEqual(msg.Content.Headers['return-path'], ['<x@y>', '<x@y>']);
      assert.equal(msg.Content.Headers['Return-Path'], undefined);
      assert.equal(
        Object.keys(msg.Content.Headers).some((k) => k.startsWith('not')),
        false,
      );
    });

    it('headers split as ContentFromString does (data/message.go): at ": ", folded by a leading space or tab, an empty name kept', () => {
      const raw = [
        ' X-Lead: first line folded onto nothing',
        ': no name',
        ' not folded onto the empty name',
        'Subject: a',
        '\tb',
        'X-Tab: ends with a tab\t',
        ' c',
        '',
        'body',
      ].join('\r\n');
      const h = toMailhogMessage(fakeSummary('id', raw, 'x@y', ['z@w'], 'h'), Buffer.from(raw))
        .Content.Headers;
      assert.deepEqual(
        [h[' X-Lead'], h[''], h.Subject, h['X-Tab']],
        [['first line folded onto nothing'], ['no name'], ['a\tb'], ['ends with a tab\t c']],
      );
      // A blank line first: no headers of its own, the rest is the body.
      const lead = '\r\n\r\nbody after a blank line';
      const m = toMailhogMessage(fakeSummary('id', lead, 'x@y', ['z@w'], 'h'), Buffer.from(lead));
      assert.equal(m.Content.Body, 'body after a blank line');
    });

    it('the data is the source less one final CRLF only (smtp/protocol.go:190)', () => {
      const body = (raw: string) =>
        toMailhogMessage(fakeSummary('id', raw, 'x@y', ['z@w'], 'h'), Buffer.from(raw)).Content
          .Body;
      assert.equal(body('S: s\r\n\r\nb\r\n'), 'b');
      assert.equal(body('S: s\r\n\r\nb\r\n\r\n'), 'b\r\n');
      assert.equal(body('S: s\r\n\r\nb\rx'), 'b\rx');
      assert.equal(body('S: s\r\n\r\nb\n'), 'b\n');
      assert.equal(body('\r\n'), '', 'a source that is one CRLF is empty data');
    });

    it('a message without a blank line has no headers of its own and the whole data as Body', () => {
      const raw = 'just text\nwith bare LF\n';
      const msg = toMailhogMessage(fakeSummary('id', raw, '', ['a@b'], 'h'), Buffer.from(raw));
      assert.equal(msg.Content.Body, raw);
      assert.deepEqual(Object.keys(msg.Content.Headers), ['Message-ID', 'Received', 'Return-Path']);
      assert.deepEqual(msg.From, { Relays: null, Mailbox: '', Domain: '', Params: '' });
      assert.deepEqual(msg.Content.Headers['Return-Path'], ['<>']);
    });

    it('invalid UTF-8 becomes U+FFFD in text but sizes count the bytes', () => {
      const raw = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from([0xff, 0x41])]);
      const msg = toMailhogMessage(fakeSummary('id', 'Subject: x', 'a@b', ['c@d'], 'h'), raw);
      assert.equal(msg.Content.Body, '\ufffdA');
      assert.equal(msg.Content.Size, raw.length);
    });

    it('bounds the parts of a crafted message, keeping the rest unsplit', () => {
      const raw = `Content-Type: multipart/mixed; boundary=a\r\n\r\n${'--a\r\nx\r\n'.repeat(200_000)}--a--\r\n`;
      const msg = toMailhogMessage(fakeSummary('id', raw, 'a@b', ['c@d'], 'h'), Buffer.from(raw));
      const parts = msg.MIME?.Parts ?? [];
      assert.ok(parts.length <= MAILHOG_MAX_PARTS, `${parts.length} parts`);
      assert.ok(parts.length >= MAILHOG_MAX_PARTS - 2);
      // Nothing is lost: the last part carries the unsplit rest.
      assert.ok(parts[parts.length - 1].Body.length > 100_000);
      const deep =
        'Content-Type: multipart/mixed; boundary=b\r\n\r\n' +
        '--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'.repeat(5000);
      let depth = 0;
      for (
        let m = toMailhogMessage(
          fakeSummary('id', deep, 'a@b', ['c@d'], 'h'),
          Buffer.from(deep),
        ).MIME;
        m?.Parts;
        m = m.Parts[0]?.MIME ?? null
      )
        depth++;
      assert.ok(depth <= MAILHOG_MAX_MIME_DEPTH + 1, `depth ${depth}`);
    });

    it('paths, boundaries and dates parse like MailHog', () => {
      assert.deepEqual(mailhogPath('@relay1,@relay2:user@example.com'), {
        Relays: ['@relay1', '@relay2'],
        Mailbox: 'user',
        Domain: 'example.com',
        Params: '',
      });
      assert.deepEqual(mailhogPath('postmaster'), {
        Relays: null,
        Mailbox: 'postmaster',
        Domain: '',
        Params: '',
      });
      assert.equal(extractBoundary('multipart/mixed; boundary="a b"; charset=x'), 'a b');
      assert.equal(extractBoundary('multipart/mixed; BOUNDARY=xyz'), 'xyz');
      assert.equal(extractBoundary('multipart/mixed'), '');
      assert.equal(
        rfc1123z(new Date(Date.UTC(2026, 10, 8, 9, 5, 1))),
        'Sun, 08 Nov 2026 09:05:01 +0000',
      );
    });

    it('start/limit fall back silently and clamp like MailHog', () => {
      const sl = (q: string) => mailhogStartLimit(new URL(`http://x/?${q}`));
      assert.deepEqual(sl(''), { start: 0, limit: MAILHOG_DEFAULT_LIMIT });
      assert.deepEqual(sl('start=5&limit=10'), { start: 5, limit: 10 });
      assert.deepEqual(sl('limit=1000'), { start: 0, limit: MAILHOG_MAX_LIMIT });
      assert.deepEqual(sl('start=-3&limit=abc'), { start: 0, limit: MAILHOG_DEFAULT_LIMIT });
      assert.deepEqual(sl('limit=0'), { start: 0, limit: MAILHOG_DEFAULT_LIMIT });
    });
  });

  describe('routes', () => {
    let api: Api;
    beforeEach(async () => {
      api = await startFakeApi();
    });
    afterEach(async () => {
      await api.close();
    });

    const add = (n: number, to = `user${n}@example.com`) =>
      api.ctx.addMessage({
        raw: `From: s@example.com\r\nTo: ${to}\r\nSubject: m${n}\r\n\r\nbody ${n} Needle${n % 2}\r\n`,
        from: 's@example.com',
        to: [to],
        time: TIME,
      });

    it('list pages stop at MAX_MAILHOG_PAGE_RAW_BYTES of raw mail (at least one message); count says how many came', async () => {
      const rows = [5, 3, 4, 1].map((mib) => ({ raw: Buffer.alloc(mib * 1024 * 1024) }));
      assert.deepEqual(
        capPageBytes(rows, 8 * 1024 * 1024).map((r) => r.raw.length / 1024 / 1024),
        [5, 3],
      );
      assert.equal(capPageBytes(rows, 1).length, 1);
      const big = Math.floor(MAX_MAILHOG_PAGE_RAW_BYTES / 2.5);
      for (let i = 1; i <= 3; i++) {
        api.ctx.addMessage({
          raw: `From: s@example.com\r\nTo: u@example.com\r\nSubject: big${i}\r\n\r\n${'x'.repeat(big)}\r\n`,
          from: 's@example.com',
          to: ['u@example.com'],
          time: TIME,
        });
      }
      const v2 = (await (await api.fetch('/api/v2/messages')).json()) as {
        total: number;
        count: number;
        items: MailhogMessage[];
      };
      assert.deepEqual([v2.total, v2.count, v2.items.length], [3, 2, 2]);
      const next = (await (await api.fetch('/api/v2/messages?start=2')).json()) as {
        count: number;
        items: MailhogMessage[];
      };
      assert.deepEqual([next.count, next.items[0].Content.Headers.Subject[0]], [1, 'big1']);
      assert.equal(
        ((await (await api.fetch('/api/v1/messages')).json()) as MailhogMessage[]).length,
        2,
      );
    });

    it('GET /api/v2/messages: {total, count, start, items} newest first, default limit 50', async () => {
      for (let i = 1; i <= 60; i++) add(i);
      const res = await api.fetch('/api/v2/messages');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/json');
      const text = await res.text();
      const body = JSON.parse(text) as {
        total: number;
        count: number;
        start: number;
        items: MailhogMessage[];
      };
      assert.deepEqual(Object.keys(body), ['total', 'count', 'start', 'items']);
      assert.equal(body.total, 60);
      assert.equal(body.count, 50);
      assert.equal(body.start, 0);
      assert.equal(body.items[0].Content.Headers.Subject[0], 'm60');
      const page = (await (await api.fetch('/api/v2/messages?start=55&limit=10')).json()) as {
        count: number;
        start: number;
        items: MailhogMessage[];
      };
      assert.equal(page.count, 5);
      assert.equal(page.start, 55);
      assert.equal(page.items[4].Content.Headers.Subject[0], 'm1');
    });

    it('an empty store lists items as [] with zero totals', async () => {
      const body = await (await api.fetch('/api/v2/messages')).json();
      assert.deepEqual(body, { total: 0, count: 0, start: 0, items: [] });
    });

    it('GET /api/v2/search by from, to and containing; total counts all matches', async () => {
      for (let i = 1; i <= 5; i++) add(i);
      add(6, 'Alice@Example.com');
      const search = async (q: string) =>
        (await api.fetch(`/api/v2/search?${q}`)).json() as Promise<{
          total: number;
          count: number;
          items: MailhogMessage[];
        }>;
      const to = await search('kind=to&query=ALICE');
      assert.equal(to.total, 1);
      assert.equal(to.items[0].Raw.To?.[0], 'Alice@Example.com');
      assert.equal((await search('kind=from&query=s@example')).total, 6);
      const containing = await search('kind=containing&query=needle1&limit=2');
      assert.equal(containing.total, 3);
      assert.equal(containing.count, 2);
    });

    it('GET /api/v2/search answers 400 with an empty body for a bad kind or an empty query', async () => {
      for (const q of ['kind=subject&query=x', 'query=x', 'kind=to&query=']) {
        const res = await api.fetch(`/api/v2/search?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(await res.text(), '');
      }
    });

    it('GET /api/v1/messages is a bare array', async () => {
      add(1);
      add(2);
      const res = await api.fetch('/api/v1/messages');
      assert.equal(res.headers.get('content-type'), 'text/json');
      const body = (await res.json()) as MailhogMessage[];
      assert.ok(Array.isArray(body));
      assert.deepEqual(
        body.map((m) => m.Content.Headers.Subject[0]),
        ['m2', 'm1'],
      );
    });

    it('GET, DELETE and download one message; unknown ids answer as MailHog (GET 200 null, DELETE 500)', async () => {
      const m = add(1);
      const one = (await (await api.fetch(`/api/v1/messages/${m.id}`)).json()) as MailhogMessage;
      assert.equal(one.ID, m.id);
      // Raw.Data is the source without the CRLF before the final dot.
      assert.equal(one.Raw.Data, api.ctx.store.raw(m.id)?.toString().replace(/\r\n$/, ''));
      const dl = await api.fetch(`/api/v1/messages/${m.id}/download`);
      assert.equal(dl.status, 200);
      assert.equal(dl.headers.get('content-type'), 'message/rfc822');
      assert.equal(dl.headers.get('content-disposition'), `attachment; filename="${m.id}.eml"`);
      assert.equal(await dl.text(), api.ctx.store.raw(m.id)?.toString());
      const del = await api.fetch(`/api/v1/messages/${m.id}`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      assert.equal(await del.text(), '');
      // api/v1.go:150-165: Load returns nil, json.Marshal(nil) is `null`, status 200.
      const gone = await api.fetch(`/api/v1/messages/${m.id}`);
      assert.equal(gone.status, 200);
      assert.equal(gone.headers.get('content-type'), 'text/json');
      assert.equal(await gone.text(), 'null');
      // api/v1.go:352-356 with storage/memory.go:170-172: "message not found" is a 500.
      const again = await api.fetch(`/api/v1/messages/${m.id}`, { method: 'DELETE' });
      assert.equal(again.status, 500);
      assert.equal(await again.text(), '');
      assert.equal((await api.fetch(`/api/v1/messages/${m.id}/download`)).status, 500);
    });

    it('paging edge cases: start at the total returns the oldest, past it nothing (search: total 0)', async () => {
      for (let i = 1; i <= 3; i++) add(i);
      const list = async (q: string) =>
        (await api.fetch(`/api/v2/messages?${q}`)).json() as Promise<{
          total: number;
          count: number;
          start: number;
          items: MailhogMessage[];
        }>;
      const at = await list('start=3');
      assert.deepEqual([at.total, at.count, at.start], [3, 1, 3]);
      assert.equal(at.items[0].Content.Headers.Subject[0], 'm1');
      const past = await list('start=4');
      assert.deepEqual([past.total, past.count, past.items.length], [3, 0, 0]);
      const search = async (q: string) =>
        await api.fetch(`/api/v2/search?kind=from&query=s@example.com&${q}`);
      const res = await search('start=3');
      assert.equal(res.headers.get('content-type'), 'application/json');
      const s3 = (await res.json()) as { total: number; count: number; items: MailhogMessage[] };
      assert.deepEqual([s3.total, s3.count, s3.items[0].Content.Headers.Subject[0]], [3, 1, 'm1']);
      assert.deepEqual(await (await search('start=4')).json(), {
        total: 0,
        count: 0,
        start: 4,
        items: [],
      });
      assert.deepEqual(mailhogWindow(0, 0, 50), null);
      assert.deepEqual(mailhogWindow(10, 8, 5), { from: 8, count: 2 });
    });

    it('containing searches the body and every header value, the ones MailHog adds included', async () => {
      add(1);
      const search = async (q: string) =>
        (
          (await (
            await api.fetch(`/api/v2/search?kind=containing&query=${encodeURIComponent(q)}`)
          ).json()) as { total: number }
        ).total;
      assert.equal(await search('(MailHog)'), 1); // the Received header MailHog adds
      assert.equal(await search('<s@example.com>'), 1); // Return-Path
      assert.equal(await search('Needle1'), 1);
      assert.equal(await search('Subject'), 0); // header names are not searched
    });

    it("escapes <, > and & as Go does, so the bytes match MailHog's", () => {
      assert.equal(goJson({ a: '<x@y> & \u2028' }), '{"a":"\\u003cx@y\\u003e \\u0026 \\u2028"}');
      assert.equal(goTime('2026-01-02T03:04:05.600Z'), '2026-01-02T03:04:05.6Z');
      assert.equal(goTime('2026-01-02T03:04:05.000Z'), '2026-01-02T03:04:05Z');
      assert.equal(goTime('2026-01-02T03:04:00Z'), '2026-01-02T03:04:00Z', 'no fraction: as is');
      // With the nanoseconds under the millisecond (Go's RFC3339Nano: up to nine digits).
      assert.equal(goTime('2026-01-02T03:04:05.678Z', 123_456), '2026-01-02T03:04:05.678123456Z');
      assert.equal(goTime('2026-01-02T03:04:05.678Z', 120_000), '2026-01-02T03:04:05.67812Z');
      assert.equal(goTime('2026-01-02T03:04:05.600Z', 0), '2026-01-02T03:04:05.6Z');
      assert.equal(goTime('2026-01-02T03:04:05.000Z', 1), '2026-01-02T03:04:05.000000001Z');
      assert.equal(goTime('2026-01-02T03:04:05.000Z', 1000), '2026-01-02T03:04:05.000001Z');
      assert.equal(goTime('2026-01-02T03:04:05.000Z', 999_999), '2026-01-02T03:04:05.000999999Z');
      assert.equal(goTime('2026-01-02T03:04:05.001Z', 0), '2026-01-02T03:04:05.001Z');
    });

    it('OPTIONS answers 200 without the token; HEAD is 404 as in MailHog; no CORS headers by default', async () => {
      const opt = await fetch(`${api.base}/api/v2/messages`, { method: 'OPTIONS' });
      assert.equal(opt.status, 200);
      assert.equal(opt.headers.get('access-control-allow-origin'), null);
      const head = await fetch(`${api.base}/api/v1/messages`, { method: 'HEAD' });
      assert.equal(head.status, 404);
    });

    it('DELETE /api/v1/messages clears everything with an empty 200', async () => {
      add(1);
      add(2);
      const res = await api.fetch('/api/v1/messages', { method: 'DELETE' });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '');
      assert.equal(api.ctx.store.count, 0);
    });

    it('requires the token like every API route; HTTP Basic with the token as password works for curl -u', async () => {
      assert.equal((await fetch(`${api.base}/api/v2/messages`)).status, 401);
      const basic = `Basic ${Buffer.from(`anyone:${api.token}`).toString('base64')}`;
      assert.equal(
        (await fetch(`${api.base}/api/v2/messages`, { headers: { authorization: basic } })).status,
        200,
      );
      const wrong = `Basic ${Buffer.from('anyone:nope').toString('base64')}`;
      assert.equal(
        (await fetch(`${api.base}/api/v1/messages`, { headers: { authorization: wrong } })).status,
        401,
      );
    });
  });
});

describe('MailHog compatibility: parsing and search edges', () => {
  const message = (raw: string, from = 'a@b', to = ['c@d']) =>
    toMailhogMessage(fakeSummary('id', raw, from, to, 'h'), Buffer.from(raw));

  it('paths: a leading colon is an empty relay, a leading @ an empty mailbox', () => {
    assert.deepEqual(mailhogPath(':user@example.com'), {
      Relays: [''],
      Mailbox: 'user',
      Domain: 'example.com',
      Params: '',
    });
    assert.deepEqual(mailhogPath('@example.com'), {
      Relays: null,
      Mailbox: '',
      Domain: 'example.com',
      Params: '',
    });
  });

  it('boundaries: only the boundary parameter, trimmed, a quoted value closed', () => {
    const cases: Array<[string, string]> = [
      ['multipart/mixed; charset=x; boundary=y', 'y'],
      ['multipart/mixed; boundary= x ', 'x'],
      ['multipart/mixed; boundary=x"', 'x"'],
      ['multipart/mixed; boundary="abc', ''],
      ['multipart/mixed; boundaryX', ''],
      ['boundary=x', ''],
    ];
    for (const [value, boundary] of cases) assert.equal(extractBoundary(value), boundary, value);
  });

  it('MIME: no boundary or no part is no parts; 999 parts and 32 levels at most', () => {
    // A multipart type without a boundary, or a body with no part: MIME {Parts: null}, as MailHog.
    assert.deepEqual(message('Content-Type: multipart/mixed\r\n\r\n--x\r\na\r\n--x--').MIME, {
      Parts: null,
    });
    assert.deepEqual(message('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b').MIME, {
      Parts: null,
    });
    const many = `Content-Type: multipart/mixed; boundary=a\r\n\r\n${'--a\r\nx\r\n'.repeat(2000)}--a--\r\n`;
    // The budget counts the empty piece before the first boundary too.
    assert.equal(message(many).MIME?.Parts?.length, MAILHOG_MAX_PARTS - 1);
    const b = (i: number) => `b${String(i).padStart(2, '0')}`;
    let deep = `Content-Type: multipart/mixed; boundary=${b(0)}\r\n\r\n`;
    for (let i = 0; i < MAILHOG_MAX_MIME_DEPTH + 8; i++)
      deep += `--${b(i)}\r\nContent-Type: multipart/mixed; boundary=${b(i + 1)}\r\n\r\n`;
    let depth = 0;
    for (let m = message(deep).MIME; m?.Parts; m = m.Parts[0]?.MIME ?? null) depth++;
    assert.equal(depth, MAILHOG_MAX_MIME_DEPTH);
  });

  it('no recipients: To and Raw.To are null; dates in every month print Go’s names', () => {
    const msg = message('Subject: x\r\n\r\nbody', 'a@b', []);
    assert.deepEqual([msg.To, msg.Raw.To], [null, null]);
    const months = [
      'Jan',
      'Feb',
      'Mar',
      'Apr',
      'May',
      'Jun',
      'Jul',
      'Aug',
      'Sep',
      'Oct',
      'Nov',
      'Dec',
    ];
    months.forEach((name, i) =>
      assert.match(rfc1123z(new Date(Date.UTC(2026, i, 5))), new RegExp(` ${name} 2026 `)),
    );
    const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    days.forEach((name, i) =>
      assert.match(rfc1123z(new Date(Date.UTC(2026, 10, 1 + i))), new RegExp(`^${name}, `)),
    );
  });

  it('search: to and from look at the envelope (any case) and at the header; containing at every header value', () => {
    const raw =
      'From: Header Sender <hs@example.com>\r\nTo: Header Rcpt <hr@example.com>\r\nReceived: from relay.example\r\n\r\nbody';
    const summary = fakeSummary('id', raw, 'Env.Sender@Example.com', ['Env.Rcpt@Example.com'], 'h');
    const match = (kind: 'to' | 'from' | 'containing', q: string) =>
      mailhogMatches(kind, q, summary, Buffer.from(raw));
    assert.equal(match('to', 'env.rcpt@example'), true);
    assert.equal(match('to', 'header rcpt'), true);
    assert.equal(match('to', 'env.sender'), false);
    assert.equal(match('to', 'header sender'), false);
    assert.equal(match('from', 'env.sender@example'), true);
    assert.equal(match('from', 'header sender'), true);
    assert.equal(match('from', 'env.rcpt'), false);
    assert.equal(match('from', 'header rcpt'), false);
    // The message's own Received header, not only the one MailHog adds.
    assert.equal(match('containing', 'relay.example'), true);
    const bounce = fakeSummary('id', 'Subject: x\r\n\r\nb', '', ['c@d'], 'h');
    assert.equal(mailhogMatches('from', 'e', bounce, Buffer.from('Subject: x\r\n\r\nb')), false);
    // `containing` reads the body and the headers only (memory.go:41-98), not the envelope
    // sender as MailHog's `from` builds it: the null sender's "@" is nowhere in this message.
    assert.equal(
      mailhogMatches('containing', '@', bounce, Buffer.from('Subject: x\r\n\r\nb')),
      false,
    );
  });
});

function fakeSummary(id: string, raw: string, from: string, to: string[], helo: string) {
  return {
    id,
    time: TIME.toISOString(),
    envelope: {
      helo,
      mailFrom: from === '' ? null : { address: from, tag: null },
      rcptTo: to.map((address) => ({ address, tag: null })),
      clientAddress: '127.0.0.1',
      tls: false,
      authUser: null,
    },
    from: null,
    to: [],
    subject: null,
    messageId: null,
    size: Buffer.byteLength(raw),
    parsed: false,
    parseError: null,
  };
}
