/**
 * A stand-in application on loopback, started for every run and exposed to
 * flows as `{{mock.url}}`, so the examples run with `--local` and no app:
 *
 * - any request answers 200 with a small JSON body, or the status given by
 *   `?status=NNN` (to test failure paths), or redirects to `?redirect=/path`;
 * - every request is recorded, and `GET /_mock/requests` returns them as JSON
 *   (newest last), so a flow can check that a webhook reached "the app".
 *
 * It listens on 127.0.0.1 only: a sink inside a cluster cannot reach it.
 */
import { createServer, type Server } from 'node:http';
import { readTruncated } from '../read-bounded.ts';
import { boundPort } from '../../../src/guards.ts';

/** Requests remembered; older ones are dropped first. */
export const MAX_MOCK_REQUESTS = 1_000;
/** Body bytes kept per request; webhook payloads are a few KB. */
export const MAX_MOCK_BODY_BYTES = 64 * 1024;

export interface MockRequest {
  time: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface MockApp {
  url: string;
  requests: MockRequest[];
  close(): Promise<void>;
}

export async function startMockApp(): Promise<MockApp> {
  const requests: MockRequest[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://mock');
      const body = await readTruncated(req, MAX_MOCK_BODY_BYTES).then(
        (b) => b.toString('utf8'),
        () => '',
      );
      if (url.pathname === '/_mock/requests' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(requests));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      requests.push({
        time: new Date().toISOString(),
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        headers,
        body,
      });
      if (requests.length > MAX_MOCK_REQUESTS) requests.shift();
      const redirect = url.searchParams.get('redirect');
      if (redirect !== null && redirect.startsWith('/')) {
        res.writeHead(302, { location: redirect });
        res.end();
        return;
      }
      const wanted = Number(url.searchParams.get('status'));
      const status = Number.isInteger(wanted) && wanted >= 200 && wanted <= 599 ? wanted : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status < 400, method: req.method, path: url.pathname }));
    })();
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = boundPort(server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
