/**
 * The response helpers on a plain HTTP server on loopback: an error that comes after the
 * headers were sent (a list streaming when something fails) cannot be answered as JSON, so
 * the connection is cut, and the failure is logged with the method and the path.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from '../../../../sink/http/respond.ts';
import { MemoryLogger } from '../../../support/fake-sink-context.ts';

describe('sendError (unit: a plain HTTP server on loopback)', () => {
  it('after the headers were sent it cuts the connection (no second head), and logs the failure', async () => {
    const logger = new MemoryLogger();
    let answered: { destroyed: boolean; threw: unknown } | undefined;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[1,');
      let threw: unknown = null;
      try {
        sendError(res, new Error('the store went away'), logger, req);
      } catch (err) {
        threw = err;
      }
      answered = { destroyed: res.destroyed, threw };
      if (!res.destroyed) res.end(']');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const outcome = await new Promise<string>((resolve) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/api/v2/messages?start=1' },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(`ended: ${body}`));
            res.on('error', () => resolve(`cut after: ${body}`));
          },
        );
        req.on('error', (err) => resolve(`request failed: ${err.message}`));
        req.end();
      });
      assert.deepEqual(answered, { destroyed: true, threw: null });
      assert.match(
        outcome,
        /^(cut after|request failed: socket hang up)/,
        'the client sees no end',
      );
      assert.deepEqual(logger.lines, [
        {
          level: 'error',
          msg: 'api request failed',
          fields: { method: 'GET', path: '/api/v2/messages', error: 'the store went away' },
        },
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
