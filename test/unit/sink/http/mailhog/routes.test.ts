/**
 * MailHog's routes against a fake store, what a MailHog client sees beyond the
 * message shape (mailhog.test.ts): release bodies decoded as Go decodes them,
 * the release route's answers and what it records, Jim, outgoing-smtp, part
 * downloads, the bare answers' headers, CORS and the live feeds' limits. Pinned
 * to MailHog 1.0.1 (the citations are in sink/http/mailhog/routes.ts). The
 * server starts in each test so the routes' set-up runs inside it.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { startFakeApi } from '../../../../support/fake-sink-context.ts';
import { mailhogStartLimit, parseReleaseBody } from '../../../../../sink/http/mailhog/routes.ts';
import { COMPAT_STREAM_MAX_CLIENTS } from '../../../../../sink/http/compat-streams.ts';
import { JIM_DEFAULTS, jimRules, parseJimBody } from '../../../../../sink/http/mailhog/jim.ts';
import type { RelayRequest } from '../../../../../sink/http/mailhog/release.ts';
import type { SinkEvent } from '../../../../../src/protocol.ts';

type Api = Awaited<ReturnType<typeof startFakeApi>>;
type ServerOptions = NonNullable<Parameters<typeof startFakeApi>[0]>['server'];

const RAW = 'From: s@example.com\r\nTo: u@example.com\r\nSubject: s\r\n\r\nbody\r\n';

/** A multipart message whose parts carry the headers a download turns into response headers. */
const PARTS_RAW = [
  'From: s@example.com',
  'To: u@example.com',
  'Subject: parts',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  'Content-Disposition: inline',
  'Content-Disposition: attachment; filename="report.txt"',
  'Content-Transfer-Encoding: base64',
  'content-transfer-encoding: 7bit',
  'Content-Length: 999',
  'Transfer-Encoding: chunked',
  'Connection: close',
  'X-Tag: one',
  'x-tag: two',
  'X-Bad: caf\u00e9',
  'X-Bad: ok',
  'X-Only-Bad: \u00e9',
  'Bad Name: x',
  '',
  'aGVsbG8=',
  '--b',
  '',
  'no headers here',
  '--b--',
  '',
].join('\r\n');

describe('MailHog routes (unit: a fake store)', function () {
  this.timeout(20_000);
  let api: Api | undefined;
  const start = async (server: ServerOptions = {}) => (api = await startFakeApi({ server }));
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });
  const fetchIt = (path: string, init?: RequestInit) => api!.fetch(path, init);
  const bare = async (res: Response) => [
    res.status,
    res.headers.get('content-type'),
    res.headers.get('content-length'),
    await res.text(),
  ];
  const released = () =>
    api!.ctx.events
      .replaySince(0)
      .events.filter((e): e is SinkEvent<'message.released'> => e.type === 'message.released')
      .map((e) => e.data);

  it('release bodies: defaults, nulls skipped, Save a boolean, Port a string or an integer; anything else refused', () => {
    const empty = {
      Host: '',
      Port: '',
      Email: '',
      Name: '',
      Save: false,
      Username: '',
      Password: '',
      Mechanism: '',
    };
    assert.deepEqual(parseReleaseBody('{}'), empty);
    assert.deepEqual(parseReleaseBody('{"Host":null,"other":1}'), empty);
    assert.deepEqual(parseReleaseBody('{"save":true}'), { ...empty, Save: true });
    for (const bad of ['5', 'null', '"x"', '{"Save":"yes"}', '{"port":25.5}', '{"Email":["a"]}'])
      assert.equal(parseReleaseBody(bad), null, bad);
  });

  it('start and limit: decimal digits with an optional sign only', () => {
    const sl = (q: string) => mailhogStartLimit(new URL(`http://x/?${q}`)).start;
    assert.equal(sl('start=%2B5'), 5);
    for (const q of ['start=1e3', 'start=0x10', 'start=%205', 'start=5%20', 'start=5x'])
      assert.equal(sl(q), 0, q);
  });

  it('bare answers carry MailHog’s content type, a zero length and nosniff; HEAD is a 404 of 19 bytes', async () => {
    await start();
    api!.ctx.addMessage({ raw: RAW });
    const del = await fetchIt('/api/v1/messages/msg-1', { method: 'DELETE' });
    assert.deepEqual(await bare(del), [200, 'text/json', '0', '']);
    assert.equal(del.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(await bare(await fetchIt('/api/v1/messages/msg-1', { method: 'DELETE' })), [
      500,
      'text/json',
      '0',
      '',
    ]);
    const options = await fetch(`${api!.base}/api/v2/jim`, { method: 'OPTIONS' });
    assert.deepEqual(await bare(options), [200, null, '0', '']);
    const head = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const url = new URL(`${api!.base}/api/v1/messages`);
      request(url, { method: 'HEAD' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, ...res.headers });
      })
        .on('error', reject)
        .end();
    });
    assert.deepEqual(
      [head.status, head['content-type'], head['content-length'], head['x-content-type-options']],
      [404, 'text/plain; charset=utf-8', '19', 'nosniff'],
    );
    const one = await fetchIt('/api/v1/messages/nope');
    assert.deepEqual(
      [
        one.headers.get('content-type'),
        one.headers.get('x-content-type-options'),
        await one.text(),
      ],
      ['text/json', 'nosniff', 'null'],
    );
    // A search needs a query as well as a kind.
    assert.deepEqual(await bare(await fetchIt('/api/v2/search?kind=from')), [400, null, '0', '']);
  });

  it('CORS: origin, methods and headers on every answer and on OPTIONS; the event stream drops Allow-Headers', async () => {
    await start({ corsOrigin: 'https://ui.example' });
    const cors = (res: Response | Record<string, unknown>) => {
      const h = (n: string) =>
        res instanceof Response ? res.headers.get(n) : ((res[n] as string | undefined) ?? null);
      return [
        h('access-control-allow-origin'),
        h('access-control-allow-methods'),
        h('access-control-allow-headers'),
      ];
    };
    assert.deepEqual(cors(await fetchIt('/api/v2/messages')), [
      'https://ui.example',
      'OPTIONS,GET,PUT,POST,DELETE',
      'Content-Type, Authorization',
    ]);
    assert.deepEqual(cors(await fetch(`${api!.base}/api/v1/messages`, { method: 'OPTIONS' })), [
      'https://ui.example',
      'OPTIONS,GET,POST,DELETE',
      'Content-Type, Authorization',
    ]);
    const sse = await sseHeaders(api!);
    assert.deepEqual(cors(sse), ['https://ui.example', 'OPTIONS,GET,POST,DELETE', null]);
    assert.deepEqual(
      [sse['content-type'], sse['cache-control'], sse.connection, sse['x-content-type-options']],
      ['text/event-stream', 'no-cache', 'keep-alive', 'nosniff'],
    );
  });

  it('download: the raw message as message/rfc822 named {id}.eml', async () => {
    await start();
    api!.ctx.addMessage({ raw: RAW });
    const res = await fetchIt('/api/v1/messages/msg-1/download');
    assert.deepEqual(
      [
        res.headers.get('content-type'),
        res.headers.get('content-disposition'),
        res.headers.get('x-content-type-options'),
        await res.text(),
      ],
      ['message/rfc822', 'attachment; filename="msg-1.eml"', 'nosniff', RAW],
    );
  });

  it('part download: the part’s safe headers (its Content-Disposition replacing ours), base64 decoded, sandboxed', async () => {
    await start();
    api!.ctx.addMessage({ raw: PARTS_RAW });
    const res = await fetchIt('/api/v1/messages/msg-1/mime/part/0/download');
    assert.equal(res.status, 200);
    assert.deepEqual(
      [
        res.headers.get('content-type'),
        res.headers.get('content-disposition'),
        res.headers.get('content-transfer-encoding'),
        res.headers.get('content-length'),
        res.headers.get('transfer-encoding'),
        res.headers.get('connection'),
        res.headers.get('x-tag'),
        res.headers.get('x-bad'),
        res.headers.get('x-only-bad'),
        res.headers.get('content-security-policy'),
        res.headers.get('x-content-type-options'),
      ],
      [
        'text/plain',
        'attachment; filename="report.txt"',
        'base64, 7bit',
        '5',
        null,
        'keep-alive', // the part's `Connection: close` is not ours to send
        'one, two',
        'ok',
        null,
        "default-src 'none'; sandbox",
        'nosniff',
      ],
    );
    assert.equal(await res.text(), 'hello');
    const plain = await fetchIt('/api/v1/messages/msg-1/mime/part/1/download');
    assert.deepEqual(
      [
        plain.headers.get('content-type'),
        plain.headers.get('content-disposition'),
        (await plain.text()).trim(),
      ],
      ['application/octet-stream', 'attachment; filename="msg-1-part-1"', 'no headers here'],
    );
    // The index is Go's `strconv.Atoi(part)` with the error ignored (api/v1.go:199-237): a
    // sign and leading zeros are allowed, text that is no number is part 0; a negative index
    // or one past the parts crashes MailHog's handler, our empty 500.
    for (const part of ['3', '-1', '1234567', '9'.repeat(30)])
      assert.deepEqual(
        await bare(await fetchIt(`/api/v1/messages/msg-1/mime/part/${part}/download`)),
        [500, null, '0', ''],
        part,
      );
    const partOf = async (part: string) => {
      const r = await fetchIt(`/api/v1/messages/msg-1/mime/part/${part}/download`);
      return [r.status, r.headers.get('content-disposition'), (await r.text()).trim()];
    };
    for (const part of ['abc', '0x', 'x1', '1x', '+', '-0', '00'])
      assert.deepEqual(
        await partOf(part),
        [200, 'attachment; filename="report.txt"', 'hello'],
        part,
      );
    for (const part of ['+1', '01', '1'])
      assert.deepEqual(
        await partOf(part),
        [200, `attachment; filename="msg-1-part-${part}"`, 'no headers here'],
        part,
      );
  });

  it('part download: a header whose every value is unsafe is left out, our Content-Disposition and no decoding kept', async () => {
    await start();
    api!.ctx.addMessage({
      raw: [
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Disposition: attachment; filename="caf\u00e9.txt"',
        'Content-Transfer-Encoding: b\u00e4se64',
        '',
        'aGVsbG8=',
        '--b--',
        '',
      ].join('\r\n'),
    });
    const res = await fetchIt('/api/v1/messages/msg-1/mime/part/0/download');
    assert.deepEqual(
      [
        res.status,
        res.headers.get('content-disposition'),
        res.headers.get('content-transfer-encoding'),
        (await res.text()).trim(),
      ],
      [200, 'attachment; filename="msg-1-part-0"', null, 'aGVsbG8='],
    );
  });

  it('part download: the file name keeps the part as the URL spelled it, quotes and line breaks made safe', async () => {
    await start();
    api!.ctx.addMessage({
      raw: 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nfirst\r\n--b--\r\n',
    });
    const res = await fetchIt(
      `/api/v1/messages/msg-1/mime/part/${encodeURIComponent('a"b\\c\r\nd')}/download`,
    );
    assert.deepEqual(
      [res.status, res.headers.get('content-disposition'), (await res.text()).trim()],
      [200, 'attachment; filename="msg-1-part-a_b_c__d"', 'first'],
    );
  });

  it('release: auth mechanisms, named servers, port syntax; each refusal MailHog’s bare answer; outcomes recorded', async () => {
    const relayed: RelayRequest[] = [];
    let fail = false;
    await start({
      releaseTo: [
        { host: 'any-port.example', port: null },
        { host: 'relay.example', port: 2525 },
      ],
      relay: async (r) => {
        if (fail) throw new Error('554 refused');
        relayed.push(r);
      },
    });
    api!.ctx.addMessage({ raw: RAW });
    const post = (body: unknown, contentType?: string) =>
      fetchIt('/api/v1/messages/msg-1/release', {
        method: 'POST',
        ...(contentType ? { headers: { 'content-type': contentType } } : {}),
        // Bytes, so fetch adds no Content-Type of its own (the mailhog npm client sends none).
        body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)),
      });
    const to = { Host: 'relay.example', Port: '2525', Email: 'x@example.net' };
    assert.deepEqual(await bare(await post(to)), [200, 'text/json', '0', '']);
    assert.deepEqual(
      await bare(await post({ ...to, Username: 'u', Password: 'p', Mechanism: 'PLAIN' })),
      [200, 'text/json', '0', ''],
    );
    assert.equal((await post({ ...to, Password: 'p', Mechanism: 'CRAMMD5' })).status, 200);
    assert.equal((await post({ Name: 'relay.example:2525', Email: 'y@example.net' })).status, 200);
    assert.deepEqual(
      relayed.map((r) => [r.host, r.port, r.to, r.auth ?? null]),
      [
        ['relay.example', 2525, ['x@example.net'], null],
        ['relay.example', 2525, ['x@example.net'], { user: 'u', pass: 'p', method: 'PLAIN' }],
        ['relay.example', 2525, ['x@example.net'], { user: '', pass: 'p', method: 'CRAM-MD5' }],
        ['relay.example', 2525, ['y@example.net'], null],
      ],
    );
    for (const body of [
      { ...to, Save: true },
      { ...to, Name: 'any-port.example:*' },
      { ...to, Name: 'nope:25' },
      { ...to, Username: 'u', Mechanism: 'LOGIN' },
      { ...to, Password: 'p' },
    ])
      assert.deepEqual(
        await bare(await post(body)),
        [400, 'text/json', '0', ''],
        JSON.stringify(body),
      );
    assert.deepEqual(await bare(await post('not json')), [
      500,
      'text/json',
      '27',
      'Error decoding request body',
    ]);
    assert.deepEqual(await bare(await post(to, 'text/plain')), [
      415,
      'text/plain; charset=utf-8',
      '37',
      'Content-Type must be application/json',
    ]);
    for (const port of ['2525x', 'x2525', '0', '65536', '123456', '-25', ' 25', 'smtp', '', '+']) {
      const res = await post({ ...to, Host: 'any-port.example', Port: port });
      assert.equal(res.status, 403, port);
    }
    // Go's net reads the port MailHog dials as a sign and decimal digits (net/port.go parsePort).
    const before = relayed.length;
    for (const port of ['+2525', '0002525'])
      assert.equal((await post({ ...to, Host: 'any-port.example', Port: port })).status, 200, port);
    assert.deepEqual(
      relayed.slice(before).map((r) => r.port),
      [2525, 2525],
    );
    assert.equal((await post({ ...to, Host: 'any-port.example', Port: '65535' })).status, 200);
    assert.equal((await post({ ...to, Host: 'any-port.example', Port: '1' })).status, 200);
    const long = `${'h'.repeat(300)}.example`;
    const refused = await post({ Host: long, Port: '25', Email: `${'e'.repeat(400)}@example.net` });
    const error = ((await refused.json()) as { error: { message: string; hint: string } }).error;
    assert.equal(
      error.message,
      `releasing to ${JSON.stringify(`${long}:25`.slice(0, 300))} is not allowed`,
    );
    assert.equal(error.hint, 'allowed: any-port.example:*, relay.example:2525 (--release-to)');
    fail = true;
    assert.deepEqual(await bare(await post(to)), [500, 'text/json', '0', '']);
    const events = released();
    const last = events.at(-1)!;
    assert.deepEqual(
      { ...last, error: last.error?.includes('554 refused') },
      {
        id: 'msg-1',
        host: 'relay.example',
        port: 2525,
        to: ['x@example.net'],
        api: 'mailhog',
        outcome: 'failed',
        error: true,
      },
    );
    const refusal = events.find((e) => e.host.startsWith('hhh'))!;
    assert.deepEqual(
      [refusal.host.length, refusal.to[0].length, refusal.outcome, refusal.error, refusal.port],
      [253, 320, 'refused', 'not in --release-to', 25],
    );
    assert.equal(
      events.find((e) => e.outcome === 'refused' && e.port === 0)?.host,
      'any-port.example',
    );
  });

  it('release without --release-to: 403 whose hint says how to allow one', async () => {
    await start();
    api!.ctx.addMessage({ raw: RAW });
    const res = await fetchIt('/api/v1/messages/msg-1/release', {
      method: 'POST',
      body: new TextEncoder().encode('{"Host":"smtp.example","Port":"x","Email":"a@example.net"}'),
    });
    assert.equal(res.status, 403);
    const { error } = (await res.json()) as { error: { message: string; hint: string } };
    assert.equal(error.message, 'releasing to "smtp.example:?" is not allowed');
    assert.equal(
      error.hint,
      'start the sink with --release-to HOST[:PORT] to allow releasing to that SMTP server',
    );
  });

  it('Jim: create, read, update, delete, layered as the "jim" overlay; 501 without overlays', async () => {
    await start();
    const jim = (method: string, body?: string) =>
      fetchIt('/api/v2/jim', { method, ...(body === undefined ? {} : { body }) });
    const refused = await jim('POST');
    assert.equal(refused.status, 501);
    assert.deepEqual(((await refused.json()) as { error: unknown }).error, {
      code: 'EV_ERR_NOT_IMPLEMENTED',
      message: "this sink cannot layer Jim's rules",
      hint: 'use PUT /api/rules',
    });
    await api!.close();
    await start();
    api!.ctx.rules.enableOverlays();
    assert.deepEqual(await bare(await jim('PUT', '{}')), [404, null, '0', '']);
    assert.deepEqual(await bare(await jim('POST')), [201, null, '0', '']);
    const got = await jim('GET');
    assert.equal(got.headers.get('content-type'), 'application/json');
    assert.deepEqual(await got.json(), JIM_DEFAULTS);
    assert.ok(api!.ctx.rules.overlays.has('jim'));
    assert.deepEqual(await bare(await jim('PUT', 'not json')), [400, null, '0', '']);
    assert.deepEqual(await bare(await jim('PUT', '{"AcceptChance":1}')), [200, null, '0', '']);
    assert.deepEqual(((await (await jim('GET')).json()) as Record<string, number>).AcceptChance, 1);
    assert.equal(api!.ctx.rules.overlays.get('jim'), jimRules(parseJimBody('{"AcceptChance":1}')!));
    assert.deepEqual(await bare(await jim('DELETE')), [200, null, '0', '']);
    assert.equal(api!.ctx.rules.overlays.has('jim'), false);
    assert.deepEqual(await bare(await jim('GET')), [404, null, '0', '']);
  });

  it('outgoing-smtp: the --release-to entries that name a port, in MailHog’s shape', async () => {
    await start({
      releaseTo: [
        { host: 'any-port.example', port: null },
        { host: 'relay.example', port: 2525 },
      ],
    });
    const res = await fetchIt('/api/v2/outgoing-smtp');
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), {
      'relay.example:2525': {
        Name: 'relay.example:2525',
        Save: false,
        Email: '',
        Host: 'relay.example',
        Port: '2525',
        Username: '',
        Password: '',
        Mechanism: '',
      },
    });
  });

  it('live feeds: only new messages become frames; each feed takes a bounded number of clients', async () => {
    await start();
    const wsUrl = `${api!.base.replace('http', 'ws')}/api/v2/websocket`;
    const sockets: WebSocket[] = [];
    const frames: string[] = [];
    for (let i = 0; i < COMPAT_STREAM_MAX_CLIENTS; i++) {
      const ws = new WebSocket(wsUrl, { headers: api!.auth });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      sockets.push(ws);
    }
    const first = new Promise<void>((resolve) =>
      sockets[0].once('message', (data) => {
        frames.push((data as Buffer).toString('utf8'));
        resolve();
      }),
    );
    const extra = new WebSocket(wsUrl, { headers: api!.auth });
    const closed = await new Promise<[number, string]>((resolve) =>
      extra.once('close', (code, reason) => resolve([code, String(reason)])),
    );
    assert.deepEqual(closed, [1013, 'too many clients']);
    api!.ctx.events.append('rules.updated', { count: 1 });
    api!.ctx.addMessage({ raw: RAW });
    await first;
    assert.match(frames[0], /^\{"ID":"msg-1"/);
    for (const ws of sockets) ws.close();

    const streams: Array<() => void> = [];
    for (let i = 0; i < COMPAT_STREAM_MAX_CLIENTS; i++) streams.push((await openSse(api!)).close);
    const res = await fetchIt('/api/v1/events');
    assert.equal(res.status, 500);
    assert.deepEqual(((await res.json()) as { error: unknown }).error, {
      code: 'EV_ERR_SINK_UNREACHABLE',
      message: 'too many event stream clients',
      hint: 'close other /api/v1/events clients and retry',
    });
    for (const close of streams) close();
  });

  it("the event stream's keepalive: MailHog's exact text, on its interval", async () => {
    await start({ mailhogSseKeepaliveMs: 20 });
    const sse = await openSse(api!);
    assert.equal(await sse.next(), 'keepalive: \n\n');
    sse.close();
  });

  it('a shutdown ends the live feeds cleanly: the event stream with its last chunk, the WebSocket with 1001', async () => {
    await start();
    const sse = await openSse(api!);
    const ws = new WebSocket(`${api!.base.replace('http', 'ws')}/api/v2/websocket`, {
      headers: api!.auth,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const stopping = api!.close();
    api = undefined;
    // A stream cut by the server's grace timer instead ends without its last chunk
    // ('aborted', res.complete false) and the WebSocket with 1006.
    assert.equal(await sse.ended(), true, 'the event stream ended with its terminating chunk');
    assert.equal(await wsClosed, 1001);
    await stopping;
  });

  it('the event stream sends new messages only, as data: lines', async () => {
    await start();
    const sse = await openSse(api!);
    api!.ctx.events.append('rules.updated', { count: 1 });
    api!.ctx.addMessage({ raw: RAW });
    const text = await sse.next();
    assert.match(text, /^data: \{\n\s*data: {3}"ID": "msg-1",/);
    sse.close();
  });
});

/** Opens GET /api/v1/events with node:http; `next()` resolves with the next chunk of the stream. */
async function openSse(api: Api) {
  return new Promise<{
    headers: Record<string, unknown>;
    next: () => Promise<string>;
    /** Reads the rest; resolves once the response is over: true when it ended whole (its last chunk came). */
    ended: () => Promise<boolean>;
    close: () => void;
  }>((resolve, reject) => {
    const req = request(`${api.base}/api/v1/events`, { headers: api.auth }, (res) => {
      res.setEncoding('utf8');
      const ended = new Promise<boolean>((done) => {
        res.once('end', () => done(res.complete));
        res.once('aborted', () => done(false));
        res.once('error', () => done(false));
      });
      resolve({
        headers: res.headers,
        next: () => new Promise<string>((ok) => res.once('data', (chunk: string) => ok(chunk))),
        ended: () => {
          res.resume();
          return ended;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      if ((err as { code?: string }).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

async function sseHeaders(api: Api): Promise<Record<string, unknown>> {
  const sse = await openSse(api);
  sse.close();
  return sse.headers;
}
