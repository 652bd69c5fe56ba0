import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { postWebhook, type WebhookPost } from '../../../sink/webhook-sender.ts';
import { summary } from '../../support/message-summary.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback server on port 0 whose answer to the n-th request (1-based) is chosen by `respond`. */
async function startServer(
  respond: (n: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      respond(seen.length, req, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/hooks/email?x=1`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function post(url: string, format: WebhookPost['format'] = 'sendgrid'): WebhookPost {
  return {
    url,
    format,
    event: 'bounce',
    message: summary(),
    recipient: 'asyncbounce+u1@example.org',
    diagnostic: '550 5.1.1 user unknown',
  };
}

describe('webhooks/postWebhook', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()?.();
  });

  it('2xx: POSTs the SendGrid JSON array to the path and query given', async () => {
    const srv = await startServer((_n, _req, res) => res.writeHead(204).end());
    closers.push(srv.close);
    const out = await postWebhook(post(srv.url), { backoffMs: 0 });
    assert.deepEqual(out, { status: 204, error: null, attempts: 1 });
    assert.equal(srv.seen.length, 1);
    assert.equal(srv.seen[0].method, 'POST');
    assert.equal(srv.seen[0].url, '/hooks/email?x=1');
    assert.equal(srv.seen[0].headers['content-type'], 'application/json');
    const events = JSON.parse(srv.seen[0].body) as Array<Record<string, unknown>>;
    assert.equal(events[0].event, 'bounce');
    assert.equal(events[0].email, 'asyncbounce+u1@example.org');
  });

  it('SES format: SNS headers, text/plain body holding the envelope', async () => {
    const srv = await startServer((_n, _req, res) => res.writeHead(200).end('ok'));
    closers.push(srv.close);
    const out = await postWebhook(post(srv.url, 'ses'), {
      backoffMs: 0,
      now: () => new Date('2026-11-28T02:00:00Z'),
    });
    assert.equal(out.status, 200);
    const h = srv.seen[0].headers;
    assert.equal(h['x-amz-sns-message-type'], 'Notification');
    assert.equal(h['content-type'], 'text/plain; charset=UTF-8');
    const env = JSON.parse(srv.seen[0].body) as Record<string, string>;
    assert.equal(env.Type, 'Notification');
    assert.equal(h['x-amz-sns-message-id'], env.MessageId);
    assert.equal(env.Timestamp, '2026-11-28T02:00:00.000Z');
    assert.equal(
      (JSON.parse(env.Message) as { notificationType: string }).notificationType,
      'Bounce',
    );
  });

  it('with the raw message: X-SMTPAPI unique_args reach the SendGrid event', async () => {
    const srv = await startServer((_n, _req, res) => res.writeHead(200).end());
    closers.push(srv.close);
    const raw = Buffer.from(
      'From: a@shop.example\r\nX-SMTPAPI: {"unique_args":\r\n {"user_id":"u-9"}}\r\nSubject: x\r\n\r\nbody\r\n',
    );
    const out = await postWebhook({ ...post(srv.url), raw }, { backoffMs: 0 });
    assert.equal(out.status, 200);
    const [event] = JSON.parse(srv.seen[0].body) as Array<Record<string, unknown>>;
    assert.equal(event.user_id, 'u-9');
  });

  it('5xx is retried up to the attempt limit, then reported', async () => {
    const srv = await startServer((n, _req, res) => res.writeHead(n < 3 ? 503 : 200).end());
    closers.push(srv.close);
    const ok = await postWebhook(post(srv.url), { backoffMs: 0, maxAttempts: 3 });
    assert.deepEqual(ok, { status: 200, error: null, attempts: 3 });

    const always = await startServer((_n, _req, res) => res.writeHead(500).end('nope'));
    closers.push(always.close);
    const failed = await postWebhook(post(always.url), { backoffMs: 0, maxAttempts: 2 });
    assert.deepEqual(failed, { status: 500, error: 'HTTP 500', attempts: 2 });
    assert.equal(always.seen.length, 2);
  });

  it('waits between attempts on the injected clock, doubling from backoffMs', async () => {
    const srv = await startServer((n, _req, res) => res.writeHead(n < 3 ? 503 : 200).end());
    closers.push(srv.close);
    const waits: number[] = [];
    // Records each wait and lets it pass at once: the test needs no real time.
    const clock = {
      now: () => 0,
      setTimeout: (fn: () => void, ms: number) => {
        waits.push(ms);
        return setImmediate(fn);
      },
      clearTimeout: (h: unknown) => clearImmediate(h as NodeJS.Immediate),
    };
    const out = await postWebhook(post(srv.url), { backoffMs: 250, maxAttempts: 3, clock });
    assert.deepEqual(out, { status: 200, error: null, attempts: 3 });
    assert.deepEqual(waits, [250, 500]);
  });

  it('4xx is not retried', async () => {
    const srv = await startServer((_n, _req, res) => res.writeHead(400).end('bad'));
    closers.push(srv.close);
    const out = await postWebhook(post(srv.url), { backoffMs: 0 });
    assert.deepEqual(out, { status: 400, error: 'HTTP 400', attempts: 1 });
    assert.equal(srv.seen.length, 1);
  });

  it('a server that never answers times out on every attempt', async () => {
    const srv = await startServer(() => undefined); // holds the request open
    closers.push(srv.close);
    const out = await postWebhook(post(srv.url), { backoffMs: 0, timeoutMs: 100, maxAttempts: 2 });
    assert.equal(out.status, null);
    assert.equal(out.error, 'timed out after 100 ms');
    assert.equal(out.attempts, 2);
    assert.equal(srv.seen.length, 2);
  });

  it('connection refused is reported, not thrown', async () => {
    const srv = await startServer((_n, _req, res) => res.end());
    await srv.close(); // the port is now closed
    const out = await postWebhook(post(srv.url), { backoffMs: 0, maxAttempts: 2 });
    assert.equal(out.status, null);
    assert.equal(out.error, 'connection failed (ECONNREFUSED)');
    assert.equal(out.attempts, 2);
  });

  it('invalid URLs are reported without a request', async () => {
    for (const url of [
      'not a url',
      'ftp://example.com/x',
      `http://example.com/${'a'.repeat(5000)}`,
    ]) {
      const out = await postWebhook(post(url), { backoffMs: 0 });
      assert.equal(out.status, null);
      assert.match(out.error ?? '', /invalid webhook URL/);
    }
  });

  describe('with an injected undici Dispatcher', () => {
    it('2xx, retry on 5xx, and timeout go through dispatcher.request()', async () => {
      const agent = new Agent();
      closers.push(() => agent.close());
      const srv = await startServer((n, _req, res) =>
        n === 1
          ? res.writeHead(502).end()
          : n === 2
            ? res.writeHead(202).end('accepted')
            : undefined,
      );
      closers.push(srv.close);
      const ok = await postWebhook(post(srv.url, 'ses'), { dispatcher: agent, backoffMs: 0 });
      assert.deepEqual(ok, { status: 202, error: null, attempts: 2 });
      assert.equal(srv.seen[1].headers['x-amz-sns-message-type'], 'Notification');
      assert.equal(srv.seen[1].url, '/hooks/email?x=1');
      const slow = await postWebhook(post(srv.url), {
        dispatcher: agent,
        backoffMs: 0,
        timeoutMs: 100,
        maxAttempts: 1,
      });
      assert.equal(slow.status, null);
      assert.equal(slow.error, 'timed out after 100 ms');
    });
  });

  describe('with a scripted dispatcher', () => {
    /** A Dispatcher whose request() answers `statuses` in turn, or rejects with `error`; the requests are recorded. */
    function scripted(answer: { statuses?: number[]; error?: unknown }) {
      const requests: Dispatcher.RequestOptions[] = [];
      const dispatcher = {
        request(opts: Dispatcher.RequestOptions) {
          requests.push(opts);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a dispatcher may reject with anything, and describe() must cope
          if (answer.error !== undefined) return Promise.reject(answer.error);
          const statusCode = answer.statuses?.[requests.length - 1] ?? 200;
          return Promise.resolve({ statusCode, body: { dump: () => Promise.resolve() } });
        },
      };
      return { requests, dispatcher: dispatcher as unknown as Dispatcher };
    }

    it('https and a URL of 2048 characters are taken, and go to the dispatcher', async () => {
      const { requests, dispatcher } = scripted({});
      const long = `https://webhook.invalid/${'a'.repeat(2048 - 'https://webhook.invalid/'.length)}`;
      assert.equal(long.length, 2048);
      assert.deepEqual(await postWebhook(post(long), { dispatcher, backoffMs: 0 }), {
        status: 200,
        error: null,
        attempts: 1,
      });
      assert.deepEqual(await postWebhook(post(`${long}a`), { dispatcher, backoffMs: 0 }), {
        status: null,
        error: 'invalid webhook URL (need http:// or https://)',
        attempts: 0,
      });
      assert.equal(requests.length, 1);
      assert.deepEqual(
        [
          requests[0].origin,
          requests[0].method,
          requests[0].headersTimeout,
          requests[0].bodyTimeout,
        ],
        ['https://webhook.invalid', 'POST', 5000, 5000],
      );
    });

    it('only 2xx is success: 199 and 300 are failures, not retried', async () => {
      for (const status of [199, 300]) {
        const { requests, dispatcher } = scripted({ statuses: [status] });
        assert.deepEqual(
          await postWebhook(post('http://webhook.invalid/'), { dispatcher, backoffMs: 0 }),
          {
            status,
            error: `HTTP ${status}`,
            attempts: 1,
          },
        );
        assert.equal(requests.length, 1);
      }
      const { dispatcher } = scripted({ statuses: [299] });
      assert.deepEqual(await postWebhook(post('http://webhook.invalid/'), { dispatcher }), {
        status: 299,
        error: null,
        attempts: 1,
      });
    });

    it('each kind of failure is described', async () => {
      const cases: [unknown, string][] = [
        [Object.assign(new Error('x'), { name: 'TimeoutError' }), 'timed out after 7 ms'],
        [Object.assign(new Error('x'), { name: 'AbortError' }), 'timed out after 7 ms'],
        [
          Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
          'timed out after 7 ms',
        ],
        [Object.assign(new Error('x'), { code: 'UND_ERR_BODY_TIMEOUT' }), 'timed out after 7 ms'],
        [Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'connection failed (ECONNRESET)'],
        [
          new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }),
          'connection failed (ENOTFOUND)',
        ],
        [new RangeError('odd'), 'request failed (RangeError)'],
        [{}, 'request failed (error)'],
        [null, 'request failed (error)'],
      ];
      for (const [error, text] of cases) {
        const { dispatcher } = scripted({ error });
        const out = await postWebhook(post('http://webhook.invalid/'), {
          dispatcher,
          backoffMs: 0,
          maxAttempts: 1,
          timeoutMs: 7,
        });
        assert.deepEqual(out, { status: null, error: text, attempts: 1 }, text);
      }
    });

    it('a notification that cannot be built is reported without a request', async () => {
      const { requests, dispatcher } = scripted({});
      assert.deepEqual(
        await postWebhook(post('http://webhook.invalid/', 'ses'), {
          dispatcher,
          now: () => new Date(Number.NaN),
        }),
        { status: null, error: 'could not build the notification', attempts: 0 },
      );
      assert.equal(requests.length, 0);
    });
  });
});
