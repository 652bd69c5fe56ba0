/**
 * Mailpit's REST API under /mailpit, route by route, against a fake store: the
 * JSON a Mailpit client reads (field by field, Mailpit's names and fallbacks),
 * paging edge cases, read status, the 400 texts Mailpit answers with, the 501s
 * that name what to use instead, release, send, chaos and the live feed.
 * The server is started in each test (not in a `before` hook) so the routes'
 * set-up runs inside the test too. The real `mailpit-api` client's view is in
 * test/integration/compat/mailpit-client.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { startFakeApi, type FakeMessageInput } from '../../../support/fake-sink-context.ts';
import {
  MAILPIT_COMPAT_VERSION,
  MAILPIT_DEFAULT_LIMIT,
  MAILPIT_MAX_LIMIT,
  MAX_RELEASE_RECIPIENTS,
  chaosRules,
  mailpitAddress,
} from '../../../../sink/http/mailpit/routes.ts';
import { COMPAT_STREAM_MAX_CLIENTS } from '../../../../sink/http/compat-streams.ts';
import type { RelayRequest } from '../../../../sink/http/mailhog/release.ts';
import { startSink, silentLogger, type RunningSink } from '../../../../sink/index.ts';
import type { MessageAnalysis } from '../../../../src/protocol.ts';

type Api = Awaited<ReturnType<typeof startFakeApi>>;
type ServerOptions = NonNullable<Parameters<typeof startFakeApi>[0]>['server'];

interface ListItem {
  ID: string;
  MessageID: string;
  Read: boolean;
  From: { Name: string; Address: string } | null;
  To: Array<{ Name: string; Address: string }>;
  Subject: string;
  Username: string;
  Tags: string[];
  Attachments: number;
  Snippet: string;
}
interface List {
  total: number;
  unread: number;
  count: number;
  messages_count: number;
  messages_unread: number;
  start: number;
  tags: string[];
  messages: ListItem[];
}
interface ApiError {
  error: { code: string; message: string; hint?: string };
}

const RAW = (n: number, extra = '') =>
  `From: Sender <sender@example.com>\r\nTo: user${n}@example.com\r\nSubject: Hello ${n}\r\n${extra}\r\nBody ${n}\r\n`;

const ANALYSIS: MessageAnalysis = {
  requiredHeaders: { from: true, date: true, messageId: true },
  listUnsubscribe: {
    present: true,
    oneClick: true,
    urls: ['https://shop.example/unsub'],
    mailto: ['mailto:unsub@shop.example'],
  },
  dkim: { result: 'none', signatures: [] },
  links: [],
  hasText: true,
  hasHtml: true,
  spamScore: 0,
  reasons: [],
};

describe('Mailpit API routes under /mailpit (unit: a fake store)', function () {
  this.timeout(20_000);
  let api: Api | undefined;
  const start = async (server: ServerOptions = {}) => (api = await startFakeApi({ server }));
  const add = (input: FakeMessageInput) => api!.ctx.addMessage(input);
  const get = (path: string, init?: RequestInit) => api!.fetch(`/mailpit/api/v1${path}`, init);
  const getJson = async <T>(path: string): Promise<T> => {
    const res = await get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  const send = (method: string, path: string, body: string, contentType = 'application/json') =>
    get(path, { method, headers: { 'content-type': contentType }, body });
  const textOf = async (res: Response) => [res.status, await res.text()] as const;
  const errorOf = async (res: Response): Promise<[number, ApiError['error']]> => [
    res.status,
    ((await res.json()) as ApiError).error,
  ];

  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('addresses: "Name" <a@b> and a@b to {Name, Address}; anything else is the address', () => {
    const cases: Array<[string, string, string]> = [
      ['"Shop, Inc" <shop@example.com>', 'Shop, Inc', 'shop@example.com'],
      ['Shop < shop@example.com >', 'Shop', 'shop@example.com'],
      ['<a@example.com>', '', 'a@example.com'],
      ['  a@example.com ', '', 'a@example.com'],
      ['Name <a@example.com', '', 'Name <a@example.com'],
      ['broken > a@example.com', '', 'broken > a@example.com'],
      ['a "b" <c@example.com>', 'a "b"', 'c@example.com'],
      ['"a" b <c@example.com>', '"a" b', 'c@example.com'],
      ['"ab" <c@example.com>', 'ab', 'c@example.com'],
    ];
    for (const [text, Name, Address] of cases)
      assert.deepEqual(mailpitAddress(text), { Name, Address }, text);
  });

  it('chaos triggers as rules: only those with a probability, named by trigger', () => {
    assert.equal(
      chaosRules({
        Sender: { ErrorCode: 451, Probability: 0 },
        Recipient: { ErrorCode: 550, Probability: 0 },
        Authentication: { ErrorCode: 535, Probability: 50 },
      }),
      'rules: []\n',
    );
    assert.equal(
      chaosRules({
        Sender: { ErrorCode: 451, Probability: 25 },
        Recipient: { ErrorCode: 550, Probability: 0 },
        Authentication: { ErrorCode: 451, Probability: 0 },
      }),
      'rules:\n  - name: mailpit-chaos-sender\n    stage: mail\n    match: { probability: 0.25 }\n' +
        '    defer: { attempts: 100, code: 451, enhanced: 4.0.0, text: "Chaos: Sender deferred" }\n',
    );
  });

  it('list: every field of an item, with Mailpit fallbacks for what a message lacks', async () => {
    await start();
    add({
      raw: RAW(1, 'Message-ID: <m1@example.com>\r\nContent-Disposition:attachment\r\n'),
      to: ['alice+orders@example.com', 'bob+orders@example.com', 'carol+news@example.com'],
      authUser: 'app',
    });
    add({ raw: 'To: x@example.com\r\n\r\nno from, subject or id\r\n', subject: null });
    add({ raw: 'To: y@example.com\r\n\r\nno sender at all\r\n', from: null });
    const res = await get('/messages');
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const list = (await res.json()) as List;
    assert.deepEqual(
      [list.total, list.unread, list.count, list.messages_count, list.messages_unread, list.start],
      [3, 3, 3, 3, 3, 0],
    );
    assert.deepEqual(list.tags, ['news', 'orders']);
    const [noSender, noHeaders, full] = list.messages;
    assert.deepEqual(
      {
        ...full,
        Cc: undefined,
        Bcc: undefined,
        ReplyTo: undefined,
        Created: undefined,
        Size: undefined,
      },
      {
        ID: 'msg-1',
        MessageID: '<m1@example.com>',
        Read: false,
        From: { Name: 'Sender', Address: 'sender@example.com' },
        To: [{ Name: '', Address: 'user1@example.com' }],
        Cc: undefined,
        Bcc: undefined,
        ReplyTo: undefined,
        Subject: 'Hello 1',
        Created: undefined,
        Username: 'app',
        Tags: ['orders', 'news'],
        Size: undefined,
        Attachments: 1,
        Snippet: '',
      },
    );
    assert.deepEqual(
      [noHeaders.MessageID, noHeaders.Subject, noHeaders.Username, noHeaders.Attachments],
      ['', '', '', 0],
    );
    // No From header: the envelope sender; no sender at all: null.
    assert.deepEqual(noHeaders.From, { Name: '', Address: 'sender@example.com' });
    assert.equal(noSender.From, null);
  });

  it('list and search page with start and limit (digits only; 0 is the default; at most 1000)', async () => {
    await start();
    for (let i = 1; i <= MAILPIT_MAX_LIMIT + 1; i++)
      add({ raw: RAW(i), to: [i % 2 === 0 ? 'even+e@example.com' : 'odd+o@example.com'] });
    const page = async (query: string) => {
      const list = await getJson<List>(`/messages?${query}`);
      return [list.start, list.count, list.messages[0]?.Subject, list.total, list.messages_count];
    };
    const total = MAILPIT_MAX_LIMIT + 1;
    assert.deepEqual(await page(''), [0, MAILPIT_DEFAULT_LIMIT, `Hello ${total}`, total, total]);
    assert.deepEqual(await page('start=10&limit=3'), [10, 3, `Hello ${total - 10}`, total, total]);
    assert.deepEqual(await page('limit=0'), [
      0,
      MAILPIT_DEFAULT_LIMIT,
      `Hello ${total}`,
      total,
      total,
    ]);
    assert.deepEqual(await page('limit=5000'), [
      0,
      MAILPIT_MAX_LIMIT,
      `Hello ${total}`,
      total,
      total,
    ]);
    assert.deepEqual(await page(`start=${total - 1}`), [total - 1, 1, 'Hello 1', total, total]);
    for (const bad of [
      'start=1x&limit=1x',
      'start=x5&limit=x5',
      'start=-1&limit=-1',
      'start=1234567890',
    ])
      assert.deepEqual((await page(bad)).slice(0, 2), [0, MAILPIT_DEFAULT_LIMIT], bad);
    const search = await getJson<List>('/search?query=tag:e&start=2&limit=2');
    assert.deepEqual(
      [search.start, search.count, search.messages_count, search.total],
      [2, 2, (total - 1) / 2, total],
    );
    assert.deepEqual(
      search.messages.map((m) => m.Subject),
      [`Hello ${total - 5}`, `Hello ${total - 7}`],
    );
  });

  it('PUT /messages: read status by IDs, by search or all; 400 for both or a bad body', async () => {
    await start();
    for (let i = 1; i <= 3; i++) add({ raw: RAW(i) });
    const put = (body: unknown) =>
      send('PUT', '/messages', typeof body === 'string' ? body : JSON.stringify(body));
    const readIds = async () =>
      (await getJson<List>('/messages')).messages.filter((m) => m.Read).map((m) => m.ID);
    assert.deepEqual(await textOf(await put({ Read: true })), [200, 'ok']);
    assert.deepEqual(await readIds(), ['msg-3', 'msg-2', 'msg-1']);
    const list = await getJson<List>('/messages');
    assert.deepEqual([list.unread, list.messages_unread], [0, 0]);
    assert.deepEqual(await textOf(await put({ IDs: ['msg-2', 7], Read: false })), [200, 'ok']);
    assert.deepEqual(await readIds(), ['msg-3', 'msg-1']);
    assert.deepEqual(await textOf(await put({ Search: 'subject:"hello 3"' })), [200, 'ok']);
    assert.deepEqual(await readIds(), ['msg-1']);
    // IDs that are not strings do not count as IDs, so the search applies.
    assert.deepEqual(
      await textOf(await put({ IDs: [1], Search: 'subject:"hello 2"', Read: true })),
      [200, 'ok'],
    );
    assert.deepEqual(await readIds(), ['msg-2', 'msg-1']);
    assert.deepEqual(await textOf(await put({ IDs: ['msg-1'], Search: 'x' })), [
      400,
      'You may specify either IDs or a search query, not both',
    ]);
    // A message that does not exist yet is not marked read ahead of time.
    assert.deepEqual(await textOf(await put({ IDs: ['msg-4'], Read: true })), [200, 'ok']);
    add({ raw: RAW(4) });
    assert.deepEqual(await readIds(), ['msg-2', 'msg-1']);
    for (const bad of ['', '  ', 'x', '5', '[]', 'null', '"s"'])
      assert.deepEqual(await textOf(await put(bad)), [400, 'invalid JSON body'], bad);
  });

  it('DELETE /messages by IDs (none: all) and DELETE /search by query', async () => {
    await start();
    for (let i = 1; i <= 4; i++) add({ raw: RAW(i) });
    const del = (path: string, body = '') => send('DELETE', path, body);
    assert.deepEqual(await textOf(await del('/messages', '{"IDs":["msg-1","msg-9"]}')), [
      200,
      'ok',
    ]);
    assert.deepEqual(
      api!.ctx.store.entries.map((e) => e.summary.id),
      ['msg-2', 'msg-3', 'msg-4'],
    );
    assert.deepEqual(await textOf(await del('/search?query=subject:%22hello%203%22')), [200, 'ok']);
    assert.deepEqual(
      api!.ctx.store.entries.map((e) => e.summary.id),
      ['msg-2', 'msg-4'],
    );
    for (const query of ['', '?query=', '?query=%20%20'])
      assert.deepEqual(await textOf(await del(`/search${query}`)), [400, 'Error: no search query']);
    assert.equal(api!.ctx.store.count, 2);
    // IDs that are not strings are no IDs: everything goes, as with no body.
    assert.deepEqual(await textOf(await del('/messages', '{"IDs":[5]}')), [200, 'ok']);
    assert.equal(api!.ctx.store.count, 0);
  });

  it('GET /search: a query is required; has:attachment looks at the raw message', async () => {
    await start();
    add({ raw: RAW(1) });
    add({ raw: RAW(2, 'Content-Disposition: attachment; filename=a.txt\r\n') });
    for (const query of ['', '?query=', '?query=%20'])
      assert.deepEqual(await textOf(await get(`/search${query}`)), [400, 'Error: no search query']);
    const found = await getJson<List>('/search?query=has:attachment');
    assert.deepEqual(
      found.messages.map((m) => m.ID),
      ['msg-2'],
    );
    const unread = await getJson<List>('/search?query=is:unread');
    assert.deepEqual([unread.messages_count, unread.messages_unread, unread.unread], [2, 2, 2]);
  });

  it('GET /message/{id}: the full message in Mailpit’s shape; it marks the message read', async () => {
    await start();
    add({
      raw: RAW(1, 'Message-ID: <m1@example.com>\r\n'),
      to: ['alice+orders@example.com'],
      authUser: 'app',
      headers: [
        { name: 'Cc', value: ' a@example.com, "B, b" <b@example.com>,' },
        { name: 'CC', value: 'c@example.com' },
        { name: 'Reply-To', value: 'Desk <desk@example.com>' },
        { name: 'List-Unsubscribe', value: '<https://shop.example/unsub>' },
        { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
        { name: 'Date', value: 'Tue, 1 Sep 2026 10:00:00 +0200' },
      ],
      html: '<p>hi</p>',
      analysis: ANALYSIS,
      attachments: [
        {
          meta: {
            filename: 'logo.png',
            contentType: 'image/png',
            size: 3,
            contentId: 'logo@x',
            disposition: 'inline',
            checksum: 'abc',
          },
          content: Buffer.from('png'),
        },
        {
          meta: {
            filename: null,
            contentType: 'application/pdf',
            size: 4,
            contentId: null,
            disposition: 'attachment',
            checksum: null,
          },
          content: Buffer.from('%PDF'),
        },
      ],
    });
    const d = await getJson<Record<string, unknown>>('/message/msg-1');
    assert.deepEqual(
      { ...d, Created: undefined, Size: undefined },
      {
        ID: 'msg-1',
        MessageID: '<m1@example.com>',
        From: { Name: 'Sender', Address: 'sender@example.com' },
        To: [{ Name: '', Address: 'user1@example.com' }],
        // A comma in a quoted name does not split it; both Cc fields count; empty entries are dropped.
        Cc: [
          { Name: '', Address: 'a@example.com' },
          { Name: 'B, b', Address: 'b@example.com' },
          { Name: '', Address: 'c@example.com' },
        ],
        Bcc: [],
        ReplyTo: [{ Name: 'Desk', Address: 'desk@example.com' }],
        ReturnPath: 'sender@example.com',
        Subject: 'Hello 1',
        ListUnsubscribe: {
          Header: '<https://shop.example/unsub>',
          Links: ['mailto:unsub@shop.example', 'https://shop.example/unsub'],
          Errors: '',
          HeaderPost: 'List-Unsubscribe=One-Click',
        },
        Date: '2026-09-01T08:00:00.000Z',
        Tags: ['orders'],
        Username: 'app',
        Text: 'Body 1\r\n',
        HTML: '<p>hi</p>',
        Created: undefined,
        Size: undefined,
        Inline: [
          {
            PartID: '0',
            FileName: 'logo.png',
            ContentType: 'image/png',
            ContentID: 'logo@x',
            Size: 3,
            Checksums: { MD5: '', SHA1: '', SHA256: 'abc' },
          },
        ],
        Attachments: [
          {
            PartID: '1',
            FileName: '',
            ContentType: 'application/pdf',
            ContentID: '',
            Size: 4,
            Checksums: { MD5: '', SHA1: '', SHA256: '' },
          },
        ],
      },
    );
  });

  it('GET /message/{id}: fallbacks for a bare message; "latest"; 404 with a hint for an unknown ID', async () => {
    await start();
    add({ raw: 'To: x@example.com\r\n', from: null, subject: null, text: null });
    const d = await getJson<Record<string, unknown>>('/message/latest');
    assert.deepEqual(
      [d.ID, d.MessageID, d.From, d.ReturnPath, d.Subject, d.Username, d.Text, d.HTML],
      ['msg-1', '', null, '', '', '', '', ''],
    );
    assert.deepEqual([d.Cc, d.ReplyTo, d.Inline, d.Attachments], [[], [], [], []]);
    assert.deepEqual(d.ListUnsubscribe, { Header: '', Links: [], Errors: '', HeaderPost: '' });
    // No (or no valid) Date header: the time the sink received it.
    assert.equal(d.Date, api!.ctx.store.entries[0].summary.time);
    for (const path of ['/message/nope', '/message/nope/raw', '/message/nope/headers'])
      assert.deepEqual(
        await errorOf(await get(path)),
        [
          404,
          {
            code: 'EV_ERR_NOT_FOUND',
            message: 'no message with id "nope"',
            hint: 'list messages with GET /mailpit/api/v1/messages',
          },
        ],
        path,
      );
    // Deleted between the look-up and the parse.
    api!.ctx.store.detail = async () => undefined;
    const [status, error] = await errorOf(await get('/message/msg-1'));
    assert.deepEqual(
      [status, error],
      [404, { code: 'EV_ERR_NOT_FOUND', message: 'no message with id "msg-1"' }],
    );
  });

  it('headers in Go’s canonical form, raw as text, parts with safe names and a sandbox', async () => {
    await start();
    const raw = RAW(1);
    const part = (filename: string | null, contentType: string) => ({
      meta: {
        filename,
        contentType,
        size: 1,
        contentId: null,
        disposition: 'attachment',
        checksum: null,
      },
      content: Buffer.from(contentType),
    });
    add({
      raw,
      headers: [
        { name: 'content-type', value: 'text/plain' },
        { name: 'X-MAILER-ID', value: 'a' },
        { name: 'x-mailer-id', value: 'b' },
      ],
      attachments: [
        part('q"uo\\teé.pdf', 'application/pdf'),
        part(null, ''),
        ...Array.from({ length: 9 }, (_, i) => part(`f${i + 2}.txt`, 'text/plain')),
      ],
    });
    assert.deepEqual(await getJson('/message/msg-1/headers'), {
      'Content-Type': ['text/plain'],
      'X-Mailer-Id': ['a', 'b'],
    });
    const rawRes = await get('/message/msg-1/raw');
    assert.deepEqual(
      [rawRes.headers.get('content-type'), await rawRes.text()],
      ['text/plain; charset=utf-8', raw],
    );
    const first = await get('/message/msg-1/part/0');
    assert.deepEqual(
      [
        first.status,
        first.headers.get('content-type'),
        first.headers.get('content-disposition'),
        first.headers.get('content-security-policy'),
        await first.text(),
      ],
      [
        200,
        'application/pdf',
        'attachment; filename="q_uo_te_.pdf"',
        "default-src 'none'; sandbox",
        'application/pdf',
      ],
    );
    const second = await get('/message/latest/part/1');
    assert.deepEqual(
      [second.headers.get('content-type'), second.headers.get('content-disposition')],
      ['application/octet-stream', 'attachment; filename="part-1"'],
    );
    assert.equal(await (await get('/message/msg-1/part/10')).text(), 'text/plain');
    for (const bad of ['abc', 'x1', '1x', '1234567', 'p'.repeat(50)])
      assert.deepEqual(
        await errorOf(await get(`/message/msg-1/part/${bad}`)),
        [
          404,
          {
            code: 'EV_ERR_NOT_FOUND',
            message: `no part "${bad.slice(0, 40)}"`,
            hint: "part IDs are the PartID values of the message's Attachments and Inline lists",
          },
        ],
        bad,
      );
    assert.deepEqual(await errorOf(await get('/message/msg-1/part/11')), [
      404,
      { code: 'EV_ERR_NOT_FOUND', message: 'no part 11 in message "msg-1"' },
    ]);
  });

  it('views: {id}.html and {id}.txt, sandboxed; anything else is 404', async () => {
    await start();
    add({ raw: RAW(1), html: '<p>x</p>' });
    add({ raw: 'To: a@example.com\r\n', text: null });
    const view = async (file: string) => {
      const res = await api!.fetch(`/mailpit/view/${file}`);
      return [
        res.status,
        res.headers.get('content-type'),
        res.headers.get('content-security-policy'),
        res.headers.get('x-content-type-options'),
        await res.text(),
      ];
    };
    const csp = "sandbox; default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'";
    assert.deepEqual(await view('msg-1.html'), [
      200,
      'text/html; charset=utf-8',
      csp,
      'nosniff',
      '<p>x</p>',
    ]);
    assert.deepEqual(await view('msg-1.txt'), [
      200,
      'text/plain; charset=utf-8',
      csp,
      'nosniff',
      'Body 1\r\n',
    ]);
    assert.deepEqual((await view('msg-2.html')).at(-1), '');
    assert.deepEqual((await view('msg-2.txt')).at(-1), '');
    const res = await api!.fetch('/mailpit/view/msg-1.html.bak');
    assert.deepEqual(await errorOf(res), [
      404,
      { code: 'EV_ERR_NOT_FOUND', message: 'views are {id}.html and {id}.txt' },
    ]);
  });

  it('what the sink does not implement: 501 naming what to use instead', async () => {
    await start();
    add({ raw: RAW(1) });
    const cases: Array<[string, string, string, RegExp]> = [
      [
        'GET',
        '/message/msg-1/part/0/thumb',
        'attachment thumbnails',
        /GET \/mailpit\/api\/v1\/message\/\{id\}\/part\/\{part\}/,
      ],
      ['GET', '/message/msg-1/html-check', 'HTML compatibility check (caniemail data)', /hasHtml/],
      ['GET', '/message/msg-1/sa-check', 'SpamAssassin check', /spamScore/],
      ['PUT', '/tags', 'tag editing', /plus-address/],
      ['PUT', '/tags/a', 'tag editing', /tag:TAG/],
      ['DELETE', '/tags/a', 'tag editing', /alice\+TAG/],
      ['PUT', '/chaos', 'chaos triggers here', /PUT \/api\/rules/],
    ];
    for (const [method, path, what, hint] of cases) {
      const [status, error] = await errorOf(
        await get(path, method === 'GET' ? {} : { method, body: '{}' }),
      );
      assert.equal(status, 501, path);
      assert.deepEqual(
        [error.code, error.message],
        ['EV_ERR_NOT_IMPLEMENTED', `the sink does not implement Mailpit's ${what}`],
        path,
      );
      assert.match(error.hint ?? '', hint, path);
    }
  });

  it('tags, info and the web UI config', async () => {
    await start({
      releaseTo: [
        { host: 'any-port.example', port: null },
        { host: 'smtp.example', port: 2525 },
      ],
    });
    add({ raw: RAW(1), to: ['a+zeta@example.com'] });
    add({ raw: RAW(2), to: ['b+zeta@example.com', 'a+alpha@example.com'] });
    assert.deepEqual(await getJson('/tags'), ['alpha', 'zeta']);
    await get('/message/msg-1');
    const info = await getJson<Record<string, unknown>>('/info');
    assert.deepEqual(
      { ...info, RuntimeStats: { ...(info.RuntimeStats as object), Memory: 0 } },
      {
        Version: MAILPIT_COMPAT_VERSION,
        LatestVersion: '',
        Database: 'memory',
        DatabaseSize: api!.ctx.store.bytes,
        Messages: 2,
        Unread: 1,
        Tags: { zeta: 2, alpha: 1 },
        RuntimeStats: {
          Uptime: 0,
          Memory: 0,
          MessagesDeleted: 0,
          SMTPAccepted: 0,
          SMTPAcceptedSize: 0,
          SMTPRejected: 0,
          SMTPIgnored: 0,
        },
      },
    );
    const webui = {
      Label: '',
      MessageRelay: {
        Enabled: true,
        SMTPServer: 'smtp.example:2525',
        ReturnPath: '',
        AllowedRecipients: '',
        BlockedRecipients: '',
        OverrideFrom: '',
        PreserveMessageIDs: false,
        RecipientAllowlist: '',
      },
      SpamAssassin: false,
      ChaosEnabled: false,
      DuplicatesIgnored: false,
      HideDeleteAllButton: false,
    };
    assert.deepEqual(await getJson('/webui'), webui);
    await api!.close();
    await start({ releaseTo: [{ host: 'any-port.example', port: null }] });
    api!.ctx.rules.enableOverlays();
    assert.deepEqual(await getJson('/webui'), {
      ...webui,
      MessageRelay: { ...webui.MessageRelay, Enabled: false, SMTPServer: '' },
      ChaosEnabled: true,
    });
  });

  it('chaos: GET and PUT the triggers, bounded codes and percentages, applied as a rules overlay', async () => {
    await start();
    api!.ctx.rules.enableOverlays();
    const off = { ErrorCode: 451, Probability: 0 };
    assert.deepEqual(await getJson('/chaos'), { Sender: off, Recipient: off, Authentication: off });
    const put = (body: string) => send('PUT', '/chaos', body);
    const set = {
      Sender: { ErrorCode: 421, Probability: 0.5 },
      Recipient: { ErrorCode: 599, Probability: 100 },
      Authentication: off,
    };
    const res = await put(JSON.stringify({ ...set, Authentication: null }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), set);
    assert.deepEqual(await getJson('/chaos'), set);
    assert.equal(api!.ctx.rules.overlays.get('mailpit-chaos'), chaosRules(set));
    assert.deepEqual(
      await (await put(JSON.stringify({ Sender: { ErrorCode: 400, Probability: 0 } }))).json(),
      { Sender: { ErrorCode: 400, Probability: 0 }, Recipient: off, Authentication: off },
    );
    assert.deepEqual(await (await put(JSON.stringify({ Sender: {} }))).json(), {
      Sender: off,
      Recipient: off,
      Authentication: off,
    });
    for (const body of ['', ' '])
      assert.deepEqual(await (await put(body)).json(), {
        Sender: off,
        Recipient: off,
        Authentication: off,
      });
    for (const code of [399, 600, 450.5, '"x"'])
      assert.deepEqual(
        await textOf(await put(`{"Recipient":{"ErrorCode":${code},"Probability":1}}`)),
        [400, 'Recipient: ErrorCode must be a 4xx or 5xx code'],
        String(code),
      );
    for (const p of [-1, 100.5, '"x"'])
      assert.deepEqual(
        await textOf(await put(`{"Sender":{"ErrorCode":550,"Probability":${p}}}`)),
        [400, 'Sender: Probability must be from 0 to 100'],
        String(p),
      );
    assert.deepEqual(await textOf(await put('x')), [400, 'invalid JSON body']);
    // A refused request changes nothing.
    assert.deepEqual(await getJson('/chaos'), { Sender: off, Recipient: off, Authentication: off });
  });

  it('CORS: the configured origin on JSON and text answers', async () => {
    await start({ corsOrigin: 'https://ui.example' });
    const json = await get('/tags');
    const text = await send('PUT', '/messages', '{}');
    for (const res of [json, text]) {
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://ui.example');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(text.headers.get('content-length'), '2');
  });

  describe('link check, release and send (with a local web site, relay and SMTP sink)', () => {
    let site: Server;
    let siteBase = '';
    let smtpSink: RunningSink;
    before(async () => {
      site = createServer((req, res) => {
        const status =
          { '/ok': 200, '/bad': 400, '/missing': 404, '/moved': 302 }[req.url ?? ''] ?? 500;
        res.writeHead(status, status === 302 ? { location: '/ok' } : {});
        res.end();
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      siteBase = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      // It offers STARTTLS with a self-signed certificate: the send route delivers in plain text to its own SMTP.
      smtpSink = await startSink({ logger: silentLogger, noAuth: true, tlsSelfSigned: true });
    });
    after(async () => {
      await new Promise<void>((resolve) => site?.close(() => resolve()));
      await smtpSink?.stop();
    });

    it("link check: each link's status; Errors counts failures and 4xx/5xx; follow=true follows redirects", async () => {
      await start({ linkCheckPrivate: true });
      const links = ['/ok', '/bad', '/missing', '/moved', '/error'].map((p) => `${siteBase}${p}`);
      add({ raw: RAW(1), analysis: { ...ANALYSIS, links: [...links, 'http://127.0.0.1:1/'] } });
      add({ raw: RAW(2) });
      type Check = {
        Errors: number;
        Links: Array<{ URL: string; StatusCode: number; Status: string }>;
      };
      const plain = await getJson<Check>('/message/msg-1/link-check');
      assert.deepEqual(
        plain.Links.slice(0, 5).map((l) => [l.URL, l.StatusCode, l.Status]),
        [
          [links[0], 200, 'OK'],
          [links[1], 400, 'Bad Request'],
          [links[2], 404, 'Not Found'],
          [links[3], 302, 'Found'],
          [links[4], 500, 'Internal Server Error'],
        ],
      );
      assert.equal(plain.Links[5].StatusCode, 0);
      assert.notEqual(plain.Links[5].Status, ''); // the reason it failed
      assert.equal(plain.Errors, 4);
      const followed = await getJson<Check>('/message/msg-1/link-check?follow=true');
      assert.deepEqual(
        followed.Links.map((l) => l.StatusCode),
        [200, 400, 404, 200, 500, 0],
      );
      assert.deepEqual(await getJson('/message/msg-2/link-check'), { Errors: 0, Links: [] });
      // Without --link-check-private, loopback addresses are not fetched.
      await api!.close();
      await start();
      add({ raw: RAW(1), analysis: { ...ANALYSIS, links: [links[0]] } });
      const refused = await getJson<Check>('/message/msg-1/link-check');
      assert.deepEqual([refused.Errors, refused.Links[0].StatusCode], [1, 0]);
    });

    it('release: through the first --release-to entry with a port; 400 with the reason otherwise', async () => {
      const relayed: RelayRequest[] = [];
      let fail: string | null = null;
      await start({
        releaseTo: [
          { host: 'any-port.example', port: null },
          { host: 'relay.example', port: 2525 },
        ],
        relay: async (r) => {
          if (fail !== null) throw new Error(fail);
          relayed.push(r);
        },
      });
      add({ raw: RAW(1) });
      const release = (body: string) => send('POST', '/message/latest/release', body);
      assert.deepEqual(await textOf(await release('{"To":["a@example.net",3]}')), [200, 'ok']);
      assert.deepEqual(
        relayed.map((r) => [r.host, r.port, r.to, r.raw.toString()]),
        [['relay.example', 2525, ['a@example.net'], RAW(1)]],
      );
      const max = Array.from({ length: MAX_RELEASE_RECIPIENTS }, (_, i) => `r${i}@example.net`);
      assert.deepEqual(await textOf(await release(JSON.stringify({ To: max }))), [200, 'ok']);
      for (const body of ['{"To":[]}', '{"To":[1]}', '{"To":"a@example.net"}', '{}', 'x', ''])
        assert.deepEqual(
          await textOf(await release(body)),
          [400, 'No valid addresses found'],
          body,
        );
      const bad = `${'x'.repeat(300)}@example.net>\r\nRCPT TO:<y@example.net>`;
      assert.deepEqual(await textOf(await release(JSON.stringify({ To: [bad] }))), [
        400,
        `not a mailbox an SMTP envelope can carry: ${JSON.stringify(bad.slice(0, 200))}`,
      ]);
      fail = '554 no thanks';
      const [status, text] = await textOf(await release('{"To":["a@example.net"]}'));
      assert.equal(status, 400);
      assert.match(text, /refused the release: 554 no thanks/);
      assert.deepEqual(await errorOf(await send('POST', '/message/nope/release', '{}')), [
        404,
        {
          code: 'EV_ERR_NOT_FOUND',
          message: 'no message with id "nope"',
          hint: 'list messages with GET /mailpit/api/v1/messages',
        },
      ]);
      // No --release-to entry with a port: refused (403), not a relay failure.
      await api!.close();
      await start({ releaseTo: [{ host: 'any-port.example', port: null }] });
      add({ raw: RAW(1) });
      const [refused, error] = await errorOf(await release('{"To":["a@example.net"]}'));
      // Mailpit has no host to relay to: the refusal names none.
      assert.deepEqual(
        [refused, error.code, error.message],
        [403, 'EV_ERR_RELEASE_REFUSED', 'releasing to ":?" is not allowed'],
      );
    });

    it('send: delivers through the SMTP listener it is given, with every field Mailpit takes', async () => {
      await start({ localSmtp: () => ({ host: '127.0.0.1', port: smtpSink.smtpPort }) });
      const store = smtpSink.context.store;
      store.clear();
      const res = await send(
        'POST',
        '/send',
        JSON.stringify({
          From: { Email: 'app@example.com', Name: 7 },
          To: [{ Email: 'dora@example.com', Name: 'Dora' }, { Name: 'no email' }, 'x'],
          Cc: [{ Email: 'cc@example.com' }],
          Bcc: ['bcc@example.com', 5],
          ReplyTo: [{ Email: 'reply@example.com', Name: 'Desk' }],
          Subject: 'Sent via API',
          Text: 'body text',
          HTML: '<p>body</p>',
          Headers: { 'X-Campaign': 'c1', 'X-Number': 3 },
          Tags: ['t1', 2, 't2'],
          Attachments: [
            {
              Content: Buffer.from('hi').toString('base64'),
              ContentType: 'text/csv',
              ContentID: 'cid1',
            },
            'not an object',
          ],
        }),
      );
      assert.equal(res.status, 200);
      const { ID } = (await res.json()) as { ID: string };
      const [summary] = store.list(0, 10).items;
      assert.equal(ID, summary.id);
      assert.deepEqual(
        summary.envelope.rcptTo.map((r) => r.address),
        ['dora@example.com', 'cc@example.com', 'bcc@example.com'],
      );
      const d = (await store.detail(ID))!;
      const h = (name: string) =>
        d.headers.filter((x) => x.name.toLowerCase() === name).map((x) => x.value);
      assert.deepEqual(h('from'), ['app@example.com']);
      assert.deepEqual(h('to'), ['Dora <dora@example.com>']);
      assert.deepEqual(h('cc'), ['cc@example.com']);
      assert.deepEqual(h('bcc'), []);
      assert.deepEqual(h('reply-to'), ['Desk <reply@example.com>']);
      assert.deepEqual(h('x-campaign'), ['c1']);
      assert.deepEqual(h('x-number'), []);
      assert.deepEqual(h('x-tags'), ['t1, t2']);
      assert.deepEqual(
        [d.subject, d.text?.trim(), d.html?.trim()],
        ['Sent via API', 'body text', '<p>body</p>'],
      );
      assert.deepEqual(
        d.attachments.map((a) => [a.filename, a.contentType, a.contentId]),
        [['attachment', 'text/csv', 'cid1']],
      );
    });

    it('send: what it needs (From, a recipient, JSON, an SMTP listener) and an SMTP failure as 400', async () => {
      await start({ localSmtp: () => ({ host: '0.0.0.0', port: smtpSink.smtpPort }) });
      const post = (body: unknown) => send('POST', '/send', JSON.stringify(body));
      const from = { Email: 'app@example.com' };
      assert.deepEqual(await textOf(await post({ To: [{ Email: 'a@example.com' }] })), [
        400,
        'From is required',
      ]);
      assert.deepEqual(
        await textOf(await post({ From: { Name: 'x' }, To: [{ Email: 'a@example.com' }] })),
        [400, 'From is required'],
      );
      for (const none of [{}, { To: [], Cc: 'x', Bcc: [3] }])
        assert.deepEqual(await textOf(await post({ From: from, ...none })), [
          400,
          'at least one recipient is required',
        ]);
      for (const body of ['x', '[]', ''])
        assert.deepEqual(
          await textOf(await send('POST', '/send', body)),
          [400, 'invalid JSON body'],
          body,
        );
      // One recipient of any kind is enough, and 0.0.0.0 (all interfaces) means this host.
      const store = smtpSink.context.store;
      const to = [{ Email: 'a@example.com' }];
      for (const rcpt of [
        { Bcc: ['b@example.com'] },
        { Cc: [{ Email: 'c@example.com' }] },
        { To: to, Bcc: ['b@example.com'] },
        { To: to, Cc: [{ Email: 'c@example.com' }] },
      ]) {
        store.clear();
        const res = await post({ From: from, ...rcpt, Attachments: [null] });
        assert.equal(res.status, 200, JSON.stringify(rcpt));
        const { ID } = (await res.json()) as { ID: string };
        // No Subject, Tags or attachments given: none sent.
        const d = (await store.detail(ID))!;
        assert.deepEqual(
          [d.subject ?? '', d.attachments.length, d.headers.some((h) => /^x-tags$/i.test(h.name))],
          ['', 0, false],
          JSON.stringify(rcpt),
        );
      }
      await api!.close();
      await start({ localSmtp: () => ({ host: '127.0.0.1', port: 1 }) });
      const [status, text] = await textOf(
        await post({ From: from, To: [{ Email: 'a@example.com' }] }),
      );
      assert.equal(status, 400);
      assert.match(text, /ECONNREFUSED/);
      for (const localSmtp of [undefined, () => ({ host: '127.0.0.1', port: null })]) {
        await api!.close();
        await start(localSmtp ? { localSmtp } : {});
        const [code, error] = await errorOf(
          await post({ From: from, To: [{ Email: 'a@example.com' }] }),
        );
        assert.deepEqual(
          [code, error.code, error.message, error.hint],
          [
            501,
            'EV_ERR_NOT_IMPLEMENTED',
            "the sink does not implement Mailpit's send API on an embedded API without SMTP",
            'send over SMTP',
          ],
        );
      }
    });
  });

  it('live events: "new" with the list item, "delete" on deletion and eviction, "truncate"; a bounded number of clients', async () => {
    await start();
    const url = `${api!.base.replace('http', 'ws')}/mailpit/api/events`;
    const open = async () => {
      const ws = new WebSocket(url, { headers: api!.auth });
      const frames: Array<{ Type: string; Data: unknown }> = [];
      let wanted = { n: 0, resolve: () => {} };
      ws.on('message', (data) => {
        frames.push(JSON.parse((data as Buffer).toString('utf8')) as (typeof frames)[number]);
        if (frames.length >= wanted.n) wanted.resolve();
      });
      /** Resolves once `n` frames have arrived (the test's timeout is the deadline). */
      const received = (n: number) =>
        new Promise<void>((resolve) => {
          wanted = { n, resolve };
          if (frames.length >= n) resolve();
        });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return { ws, frames, received };
    };
    const client = await open();
    add({ raw: RAW(1, 'Message-ID: <m1@example.com>\r\n') });
    api!.ctx.events.append('rules.updated', { count: 1 });
    api!.ctx.events.append('message.evicted', { id: 'msg-1', reason: 'count' });
    add({ raw: RAW(2) });
    api!.ctx.store.delete('msg-2');
    api!.ctx.store.clear();
    await client.received(5);
    // Nothing for other events (rules.updated).
    assert.deepEqual(
      client.frames.map((f) => f.Type),
      ['new', 'delete', 'new', 'delete', 'truncate'],
    );
    const first = client.frames[0].Data as ListItem;
    assert.deepEqual(
      [first.ID, first.MessageID, first.Subject, first.Snippet, first.Read],
      ['msg-1', '<m1@example.com>', 'Hello 1', '', false],
    );
    assert.deepEqual(client.frames[1].Data, { ID: 'msg-1' });
    assert.deepEqual(client.frames[3].Data, { ID: 'msg-2' });
    assert.deepEqual(client.frames[4], { Type: 'truncate', Data: null });
    const more = await Promise.all(
      Array.from({ length: COMPAT_STREAM_MAX_CLIENTS - 1 }, () => open()),
    );
    const extra = new WebSocket(url, { headers: api!.auth });
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      extra.once('close', (c, r) => resolve([c, String(r)])),
    );
    assert.deepEqual([code, reason], [1013, 'too many clients']);
    for (const c of more) c.ws.close();
    // Shutting down closes the feed's clients and leaves nothing subscribed to the event log.
    const shutdown = new Promise<[number, string]>((resolve) =>
      client.ws.once('close', (c, r) => resolve([c, String(r)])),
    );
    await api!.close();
    assert.deepEqual(await shutdown, [1001, 'server shutting down']);
    assert.equal(api!.ctx.events.listenerCount, 0);
    api = undefined;
  });
});
