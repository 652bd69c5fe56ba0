import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startFakeApi } from '../../../support/fake-sink-context.ts';
import {
  MAX_PAGE_LIMIT,
  MAX_FILTER_LENGTH,
  contentDisposition,
  parseListQuery,
  safeContentType,
} from '../../../../sink/http/api-routes.ts';
import { MAX_RULES_BODY_BYTES } from '../../../../sink/http/body.ts';
import { PROTOCOL_VERSION } from '../../../../src/protocol.ts';
import { ERROR_CODES } from '../../../../src/errors.ts';

type Api = Awaited<ReturnType<typeof startFakeApi>>;

const RAW = (n: number, extra = '') =>
  `From: Sender <sender@example.com>\r\nTo: user${n}@example.com\r\nSubject: Hello ${n}\r\nMessage-ID: <m${n}@example.com>\r\n${extra}\r\nBody of message ${n}\r\n`;

async function errorOf(res: Response): Promise<{ code: string; message: string; hint?: string }> {
  const body = (await res.json()) as { error: { code: string; message: string; hint?: string } };
  return body.error;
}

describe('sink API: own routes', () => {
  let api: Api;
  beforeEach(async () => {
    api = await startFakeApi();
  });
  afterEach(async () => {
    await api.close();
  });

  describe('GET /api/messages', () => {
    it('lists newest first with paging fields', async () => {
      for (let i = 1; i <= 3; i++) api.ctx.addMessage({ raw: RAW(i) });
      const res = await api.fetch('/api/messages');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as {
        total: number;
        start: number;
        count: number;
        items: Array<{ id: string; subject: string }>;
      };
      assert.equal(body.total, 3);
      assert.equal(body.start, 0);
      assert.equal(body.count, 3);
      assert.deepEqual(
        body.items.map((m) => m.subject),
        ['Hello 3', 'Hello 2', 'Hello 1'],
      );
    });

    it('pages with start and limit', async () => {
      for (let i = 1; i <= 5; i++) api.ctx.addMessage({ raw: RAW(i) });
      const body = (await (await api.fetch('/api/messages?start=1&limit=2')).json()) as {
        total: number;
        start: number;
        count: number;
        items: Array<{ subject: string }>;
      };
      assert.equal(body.total, 5);
      assert.equal(body.start, 1);
      assert.equal(body.count, 2);
      assert.deepEqual(
        body.items.map((m) => m.subject),
        ['Hello 4', 'Hello 3'],
      );
    });

    it('filters by to, from, subject, containing and tag', async () => {
      api.ctx.addMessage({ raw: RAW(1), to: ['alice+signup@example.com'] });
      api.ctx.addMessage({
        raw: RAW(2, 'X-Extra: needle\r\n'),
        to: ['bob@example.com'],
        from: 'noreply@shop.example',
      });
      const get = async (q: string) =>
        (
          (await (await api.fetch(`/api/messages?${q}`)).json()) as {
            items: Array<{ subject: string }>;
          }
        ).items.map((m) => m.subject);
      assert.deepEqual(await get('to=ALICE'), ['Hello 1']);
      assert.deepEqual(await get('from=shop.example'), ['Hello 2']);
      assert.deepEqual(await get('subject=hello%201'), ['Hello 1']);
      assert.deepEqual(await get('containing=needle'), ['Hello 2']);
      assert.deepEqual(await get('tag=signup'), ['Hello 1']);
      assert.deepEqual(await get('tag=signup&from=shop'), []);
    });

    it('to, from and subject take the matcher rule of tail and flows: text literal, /…/ an expression, a bad one 400', async () => {
      api.ctx.addMessage({ raw: RAW(1), to: ['user+42@example.com'] });
      api.ctx.addMessage({ raw: RAW(2), to: ['userr42@example.com'] });
      api.ctx.addMessage({ raw: RAW(3), to: ['bounce7@example.com'] });
      const get = async (path: string) =>
        (
          (await (await api.fetch(path)).json()) as {
            items: Array<{ subject: string }>;
          }
        ).items.map((m) => m.subject);
      const q = (v: string) => encodeURIComponent(v);
      assert.deepEqual(await get(`/api/messages?to=${q('user+42@example.com')}`), ['Hello 1']);
      assert.deepEqual(await get(`/api/messages?to=${q('/^bounce[0-9]+@/')}`), ['Hello 3']);
      assert.deepEqual(await get(`/api/search?to=${q('/^USER.42@/')}`), ['Hello 2', 'Hello 1']);
      assert.deepEqual(await get(`/api/messages?subject=${q('/hello [13]$/')}`), [
        'Hello 3',
        'Hello 1',
      ]);
      for (const bad of ['/(unclosed/', '/(a)\\1/']) {
        const res = await api.fetch(`/api/messages?from=${q(bad)}`);
        assert.equal(res.status, 400, bad);
        const err = await errorOf(res);
        assert.equal(err.code, 'EV_ERR_BAD_REQUEST');
        assert.match(err.message, /^query parameter from is not a valid regular expression/);
      }
    });

    it('caps limit and rejects malformed paging with 400', async () => {
      assert.equal(parseListQuery(new URL('http://x/?limit=999999')).limit, MAX_PAGE_LIMIT);
      for (const q of ['start=-1', 'limit=0', 'limit=abc', 'start=1.5']) {
        const res = await api.fetch(`/api/messages?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal((await errorOf(res)).code, 'EV_ERR_BAD_REQUEST');
      }
      const long = await api.fetch(`/api/messages?to=${'a'.repeat(MAX_FILTER_LENGTH + 1)}`);
      assert.equal(long.status, 400);
    });
  });

  describe('one message', () => {
    it('GET /api/messages/{id} returns the detail (lazy parse)', async () => {
      const m = api.ctx.addMessage({ raw: RAW(1) });
      assert.equal(api.ctx.store.detailCalls, 0);
      const res = await api.fetch(`/api/messages/${m.id}`);
      assert.equal(res.status, 200);
      const detail = (await res.json()) as { id: string; text: string; parsed: boolean };
      assert.equal(detail.id, m.id);
      assert.equal(detail.parsed, true);
      assert.match(detail.text, /Body of message 1/);
      assert.equal(api.ctx.store.detailCalls, 1);
    });

    it('404 with code and hint for an unknown id', async () => {
      const res = await api.fetch('/api/messages/nope');
      assert.equal(res.status, 404);
      const err = await errorOf(res);
      assert.equal(err.code, 'EV_ERR_NOT_FOUND');
      assert.ok(err.hint);
      assert.equal((await api.fetch('/api/messages/nope/raw')).status, 404);
      assert.equal((await api.fetch('/api/messages/nope', { method: 'DELETE' })).status, 404);
    });

    it('GET raw returns the exact bytes as message/rfc822', async () => {
      const raw = Buffer.concat([
        Buffer.from('Subject: bytes\r\n\r\n'),
        Buffer.from([0xff, 0xfe, 0x00, 0x41]),
        Buffer.from('\r\n'),
      ]);
      const m = api.ctx.addMessage({ raw });
      const res = await api.fetch(`/api/messages/${m.id}/raw`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'message/rfc822');
      assert.match(
        res.headers.get('content-disposition') ?? '',
        /attachment; filename="msg-1\.eml"/,
      );
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), raw);
    });

    it('downloads an attachment by index, as a download', async () => {
      const content = Buffer.from('%PDF-1.4 fake');
      const m = api.ctx.addMessage({
        raw: RAW(1),
        attachments: [
          {
            meta: {
              filename: 'invoice ü.pdf',
              contentType: 'application/pdf',
              size: content.length,
              contentId: null,
              disposition: 'attachment',
              checksum: null,
            },
            content,
          },
        ],
      });
      const res = await api.fetch(`/api/messages/${m.id}/attachments/0`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pdf');
      assert.equal(res.headers.get('content-disposition'), contentDisposition('invoice ü.pdf'));
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), content);
      assert.equal((await api.fetch(`/api/messages/${m.id}/attachments/1`)).status, 404);
      assert.equal((await api.fetch(`/api/messages/${m.id}/attachments/x`)).status, 400);
    });

    it('an attachment is served as its declared type/subtype, parameters and spaces around it dropped', () => {
      assert.deepEqual(
        ['text/csv ; charset=utf-8', ' Text/CSV', 'text/csv', 'text /csv', '', null, undefined].map(
          safeContentType,
        ),
        [
          'text/csv',
          'text/csv',
          'text/csv',
          'application/octet-stream',
          'application/octet-stream',
          'application/octet-stream',
          'application/octet-stream',
        ],
      );
    });

    it('serves the bytes of an attachment whose declared Content-Type holds non-ASCII or control characters (issue 10, item 6)', async () => {
      const content = Buffer.from([0x00, 0xff, 0x41]);
      const hostile = [
        'image/pngé',
        'text/plain\r\nX-Injected: 1',
        'text/\u0000html',
        'application/pdf; name="ü.pdf"',
        '\ud800/x',
        '',
      ];
      const m = api.ctx.addMessage({
        raw: RAW(1),
        attachments: hostile.map((contentType, i) => ({
          meta: {
            filename: `f\ud800${i}\u0007.bin`,
            contentType,
            size: content.length,
            contentId: null,
            disposition: 'attachment',
            checksum: null,
          },
          content,
        })),
      });
      const served: string[] = [];
      for (let i = 0; i < hostile.length; i++) {
        const res = await api.fetch(`/api/messages/${m.id}/attachments/${i}`);
        assert.equal(res.status, 200, `attachment ${i} (${JSON.stringify(hostile[i])})`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), content);
        assert.equal(res.headers.get('x-injected'), null);
        served.push(res.headers.get('content-type') ?? '');
      }
      assert.deepEqual(served, [
        'application/octet-stream',
        'application/octet-stream',
        'application/octet-stream',
        'application/pdf',
        'application/octet-stream',
        'application/octet-stream',
      ]);
    });

    it('DELETE one removes it and the store publishes message.deleted once', async () => {
      const m = api.ctx.addMessage({ raw: RAW(1) });
      const res = await api.fetch(`/api/messages/${m.id}`, { method: 'DELETE' });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { deleted: 1 });
      assert.equal(api.ctx.store.count, 0);
      const deleted = api.ctx.events
        .replaySince(0)
        .events.filter((e) => e.type === 'message.deleted');
      assert.deepEqual(
        deleted.map((e) => e.data),
        [{ id: m.id }],
      );
    });

    it('DELETE /api/messages clears all', async () => {
      for (let i = 1; i <= 3; i++) api.ctx.addMessage({ raw: RAW(i) });
      const res = await api.fetch('/api/messages', { method: 'DELETE' });
      assert.deepEqual(await res.json(), { deleted: 3 });
      assert.equal(api.ctx.store.count, 0);
      assert.equal(
        api.ctx.events.replaySince(0).events.filter((e) => e.type === 'messages.cleared').length,
        1,
      );
    });
  });

  describe('GET /api/search', () => {
    it('q searches the whole message; filters combine', async () => {
      api.ctx.addMessage({ raw: RAW(1, 'X-Order: 42\r\n') });
      api.ctx.addMessage({ raw: RAW(2) });
      const body = (await (await api.fetch('/api/search?q=x-order')).json()) as {
        total: number;
        items: Array<{ subject: string }>;
      };
      assert.equal(body.total, 1);
      assert.equal(body.items[0].subject, 'Hello 1');
      const filtered = (await (await api.fetch('/api/search?to=user2')).json()) as {
        total: number;
      };
      assert.equal(filtered.total, 1);
    });

    it('400 without any criterion; an empty q is none', async () => {
      for (const path of ['/api/search', '/api/search?q=', '/api/search?q=&to=']) {
        const res = await api.fetch(path);
        assert.equal(res.status, 400, path);
        assert.equal((await errorOf(res)).code, 'EV_ERR_BAD_REQUEST');
      }
    });
  });

  describe('rules', () => {
    it('PUT replaces the rules and GET returns the YAML', async () => {
      const yaml = 'rules:\n  - name: a\n  - name: b\n';
      const put = await api.fetch('/api/rules', {
        method: 'PUT',
        body: yaml,
        headers: { 'content-type': 'application/yaml' },
      });
      assert.equal(put.status, 200);
      assert.deepEqual(await put.json(), { count: 2 });
      const get = await api.fetch('/api/rules');
      assert.equal(get.status, 200);
      assert.match(get.headers.get('content-type') ?? '', /yaml/);
      assert.equal(get.headers.get('x-rules-count'), '2');
      assert.equal(await get.text(), yaml);
    });

    it('400 with the validation error on bad rules; old rules stay', async () => {
      await api.fetch('/api/rules', { method: 'PUT', body: 'rules:\n  - name: a\n' });
      const res = await api.fetch('/api/rules', { method: 'PUT', body: 'invalid: true\n' });
      assert.equal(res.status, 400);
      const err = await errorOf(res);
      assert.equal(err.code, 'EV_ERR_RULES_INVALID');
      assert.match(err.message, /rules\.yaml:1/);
      assert.equal(await (await api.fetch('/api/rules')).text(), 'rules:\n  - name: a\n');
    });

    it('413 for a body over the bound, by Content-Length and when chunked', async () => {
      const big = 'x'.repeat(MAX_RULES_BODY_BYTES + 1);
      const res = await api.fetch('/api/rules', { method: 'PUT', body: big });
      assert.equal(res.status, 413);
      assert.equal((await errorOf(res)).code, 'EV_ERR_PAYLOAD_TOO_LARGE');
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${api.base}/api/rules`,
          { method: 'PUT', headers: { ...api.auth, 'transfer-encoding': 'chunked' } },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        const chunk = 'y'.repeat(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent <= MAX_RULES_BODY_BYTES) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      assert.equal(chunked, 413);
    });
  });

  describe('stats, info, probes, metrics', () => {
    it('GET /api/stats returns SinkStats', async () => {
      api.ctx.addMessage({ raw: RAW(1) });
      const stats = (await (await api.fetch('/api/stats')).json()) as {
        instance: string;
        messages: number;
        lastSeq: number;
      };
      assert.equal(stats.instance, 'fake-instance');
      assert.equal(stats.messages, 1);
      assert.equal(stats.lastSeq, 1);
    });

    it('GET /api/info reports protocol, instance and auth', async () => {
      const info = (await (await api.fetch('/api/info')).json()) as Record<string, unknown>;
      assert.equal(info.protocol, PROTOCOL_VERSION);
      assert.equal(info.instance, 'fake-instance');
      assert.equal(info.auth, true);
    });

    it('/livez and /readyz need no token; readyz follows ctx.ready()', async () => {
      assert.equal((await fetch(`${api.base}/livez`)).status, 200);
      assert.equal((await fetch(`${api.base}/readyz`)).status, 200);
      api.ctx.isReady = false;
      assert.equal((await fetch(`${api.base}/readyz`)).status, 503);
    });

    it('/metrics serves Prometheus text without a token', async () => {
      api.metrics.messageReceived(2048, 0.0004);
      api.ctx.addMessage({ raw: RAW(1) });
      const res = await fetch(`${api.base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      assert.match(text, /^email_sink_messages_received_total 1$/m);
      assert.match(text, /^email_sink_received_bytes_total 2048$/m);
      assert.match(text, /^email_sink_store_messages 1$/m);
      assert.match(text, /^email_sink_ingest_duration_seconds_bucket\{le="0.0005"\} 1$/m);
    });
  });

  describe('errors and routing', () => {
    it('each 400 and 404 of the own API says exactly what was wrong', async () => {
      const long = 'i'.repeat(300);
      const cases: Array<[string, RequestInit, { code: string; message: string; hint?: string }]> =
        [
          [
            '/api/messages?start=1e3',
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: 'query parameter start must be an integer >= 0, got "1e3"',
            },
          ],
          [
            `/api/messages?limit=${'9'.repeat(50)}`,
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: `query parameter limit must be an integer >= 1, got "${'9'.repeat(40)}"`,
            },
          ],
          [
            `/api/messages?to=${'a'.repeat(MAX_FILTER_LENGTH + 1)}`,
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: 'query parameter to is longer than 1024 characters',
            },
          ],
          [
            '/api/messages?from=/(/',
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message:
                'query parameter from is not a valid regular expression: missing closing ): `(?i)(`',
              hint: '/…/ is a regular expression (RE2 syntax: no backreferences or lookaround); without slashes the value is plain text',
            },
          ],
          [
            '/api/messages?subject=/(?=a)/',
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message:
                'query parameter subject is not a valid regular expression: it uses lookahead ((?=…)), which needs a backtracking engine',
              hint: '/…/ is a regular expression (RE2 syntax: no backreferences or lookaround); without slashes the value is plain text',
            },
          ],
          [
            `/api/search?q=${'a'.repeat(MAX_FILTER_LENGTH + 1)}`,
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: 'query parameter q is longer than 1024 characters',
            },
          ],
          [
            '/api/search',
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: 'search needs q= or a filter (to, from, subject, containing, tag)',
              hint: 'e.g. GET /api/search?q=invoice or ?to=alice@example.com',
            },
          ],
          [
            '/api/messages/msg-1/attachments/1x',
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: 'attachment index must be a non-negative integer, got "1x"',
            },
          ],
          [
            `/api/messages/msg-1/attachments/${'x'.repeat(50)}`,
            {},
            {
              code: 'EV_ERR_BAD_REQUEST',
              message: `attachment index must be a non-negative integer, got "${'x'.repeat(40)}"`,
            },
          ],
        ];
      const notFoundHint =
        'list messages with `kubectl email-validate messages` or GET /api/messages';
      const id = JSON.stringify(long.slice(0, 200));
      for (const [path, init] of [
        [`/api/messages/${long}`, {}],
        [`/api/messages/${long}`, { method: 'DELETE' }],
        [`/api/messages/${long}/raw`, {}],
      ] as const)
        cases.push([
          path,
          init,
          { code: 'EV_ERR_NOT_FOUND', message: `no message with id ${id}`, hint: notFoundHint },
        ]);
      cases.push([
        `/api/messages/${long}/attachments/3`,
        {},
        {
          code: 'EV_ERR_NOT_FOUND',
          message: `no attachment 3 in message ${id}`,
          hint: notFoundHint,
        },
      ]);
      for (const [path, init, error] of cases) {
        const res = await api.fetch(path, init);
        assert.deepEqual(await errorOf(res), error, path);
      }
      // Lookalikes of numbers are refused too; at the bounds, and empty values, are accepted.
      for (const bad of ['x5', '5x', '%205', '5%20', '-1'])
        assert.equal((await api.fetch(`/api/messages?start=${bad}`)).status, 400, bad);
      for (const bad of ['x1', '1x', '1234567'])
        assert.equal((await api.fetch(`/api/messages/msg-1/attachments/${bad}`)).status, 400, bad);
      const ok = [
        '/api/messages?start=&limit=',
        `/api/messages?to=${'a'.repeat(MAX_FILTER_LENGTH)}`,
        `/api/search?q=${'a'.repeat(MAX_FILTER_LENGTH)}`,
        '/api/messages?containing=/(/',
      ];
      for (const path of ok) assert.equal((await api.fetch(path)).status, 200, path);
    });

    it('empty filters are no filters; search without q filters by the others only', async () => {
      api.ctx.addMessage({ raw: RAW(1), to: ['a+x@example.com'] });
      api.ctx.addMessage({ raw: RAW(2), to: ['b@example.com'] });
      const ids = async (path: string) =>
        ((await (await api.fetch(path)).json()) as { items: Array<{ id: string }> }).items.map(
          (m) => m.id,
        );
      assert.deepEqual(await ids('/api/messages?tag=&to=&containing='), ['msg-2', 'msg-1']);
      assert.deepEqual(await ids('/api/search?to=b@example.com'), ['msg-2']);
      assert.deepEqual(await ids('/api/search?q=&tag=x'), ['msg-1']);
    });

    it('attachments: index up to six digits, a name when it has none, sandboxed; info names the sink', async () => {
      api.ctx.addMessage({
        raw: RAW(1),
        attachments: Array.from({ length: 11 }, (_, i) => ({
          meta: {
            filename: i === 10 ? null : `f${i}.txt`,
            contentType: 'text/plain; charset=utf-8',
            size: 1,
            contentId: null,
            disposition: 'attachment',
            checksum: null,
          },
          content: Buffer.from(String(i)),
        })),
      });
      const res = await api.fetch('/api/messages/msg-1/attachments/10');
      assert.deepEqual(
        [
          res.status,
          res.headers.get('content-type'),
          res.headers.get('content-disposition'),
          res.headers.get('content-security-policy'),
          await res.text(),
        ],
        [
          200,
          'text/plain',
          'attachment; filename="attachment-10"; filename*=UTF-8\'\'attachment-10',
          "default-src 'none'; sandbox",
          '10',
        ],
      );
      assert.equal(
        contentDisposition('\u00e9 "q".pdf'),
        `attachment; filename="_ _q_.pdf"; filename*=UTF-8''%C3%A9%20%22q%22.pdf`,
      );
      const info = (await (await api.fetch('/api/info')).json()) as { name: string };
      assert.equal(info.name, 'kubectl-email-validate sink');
    });

    it('rules: an invalid document keeps its own error; any other failure becomes EV_ERR_RULES_INVALID', async () => {
      const put = (body: string) => api.fetch('/api/rules', { method: 'PUT', body });
      assert.deepEqual(await errorOf(await put('invalid: true')), {
        code: 'EV_ERR_RULES_INVALID',
        message: 'rules.yaml:1: not a valid rules document',
        hint: 'see docs/sink.md for the rules schema',
      });
      api.ctx.rules.replace = () => {
        throw new Error('engine failed');
      };
      assert.deepEqual(await errorOf(await put('rules: []')), {
        code: 'EV_ERR_RULES_INVALID',
        message: 'engine failed',
        hint: 'fix the rules YAML; the previous rules stay in force',
      });
    });

    it('unknown route is 404 JSON; wrong method is 405 with Allow', async () => {
      const res = await api.fetch('/api/nothing');
      assert.equal(res.status, 404);
      assert.equal((await errorOf(res)).code, 'EV_ERR_NOT_FOUND');
      const wrong = await api.fetch('/api/stats', { method: 'POST' });
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.get('allow'), 'GET');
      assert.equal((await errorOf(wrong)).code, 'EV_ERR_METHOD_NOT_ALLOWED');
    });

    it('every kind of answer carries nosniff and no-store: JSON, text, an error, a streamed list', async () => {
      api.ctx.addMessage({ raw: RAW(1) });
      for (const path of [
        '/api/messages',
        '/api/rules',
        '/api/messages/nope',
        '/api/v2/messages',
      ]) {
        const res = await api.fetch(path);
        await res.arrayBuffer();
        assert.deepEqual(
          [res.headers.get('x-content-type-options'), res.headers.get('cache-control')],
          ['nosniff', 'no-store'],
          path,
        );
      }
    });

    it('every error status matches the catalog', async () => {
      const cases: Array<[string, RequestInit, string]> = [
        ['/api/nothing', {}, 'EV_ERR_NOT_FOUND'],
        ['/api/messages?limit=x', {}, 'EV_ERR_BAD_REQUEST'],
        ['/api/rules', { method: 'PUT', body: 'invalid: true' }, 'EV_ERR_RULES_INVALID'],
      ];
      for (const [path, init, code] of cases) {
        const res = await api.fetch(path, init);
        const err = await errorOf(res);
        assert.equal(err.code, code);
        assert.equal(res.status, (ERROR_CODES as Record<string, { http?: number }>)[code].http);
      }
    });

    it('a non-WebSocket upgrade offer (curl --http2 sends h2c) is served as a plain request', async () => {
      api.ctx.addMessage({ raw: RAW(1) });
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${api.base}/api/messages`,
          {
            headers: {
              ...api.auth,
              connection: 'Upgrade, HTTP2-Settings',
              upgrade: 'h2c',
              'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
    });

    it('a failure inside a handler is a 500 EV_ERR_INTERNAL without details, logged', async () => {
      api.ctx.store.detail = async () => {
        throw new Error('boom secret detail');
      };
      const res = await api.fetch('/api/messages/x');
      assert.equal(res.status, 500);
      const err = await errorOf(res);
      assert.equal(err.code, 'EV_ERR_INTERNAL');
      assert.doesNotMatch(err.message, /boom/);
      assert.match(api.logger.text(), /boom secret detail/);
    });

    it('the 500 says where to look; the log line names the method and the path without its query', async () => {
      api.ctx.store.list = () => {
        throw new Error('list failed');
      };
      const res = await api.fetch('/api/messages?to=secret@example.com');
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('www-authenticate'), null);
      assert.deepEqual(await errorOf(res), {
        code: 'EV_ERR_INTERNAL',
        message: 'the sink failed to answer this request',
        hint: "see the sink's log for the cause",
      });
      assert.deepEqual(
        api.logger.lines.filter((l) => l.level === 'error'),
        [
          {
            level: 'error',
            msg: 'api request failed',
            fields: { method: 'GET', path: '/api/messages', error: 'list failed' },
          },
        ],
      );
      // Only the 401 carries the challenge.
      const unauthorized = await fetch(`${api.base}/api/messages`);
      assert.equal(unauthorized.headers.get('www-authenticate'), 'Bearer realm="email-sink"');
    });
  });
});
