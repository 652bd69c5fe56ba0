import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { listenDualStack } from '../../../sink/listen.ts';

/** A server whose listen() fails like a kernel without IPv6 for `::`, and works for anything else. */
function noIpv6Server(code: string): Server & { calls: string[] } {
  const s = new EventEmitter() as unknown as Server & { calls: string[] };
  s.calls = [];
  (s as unknown as { listen: (port: number, host: string) => void }).listen = (
    port: number,
    host: string,
  ) => {
    s.calls.push(`${host}:${port}`);
    queueMicrotask(() => {
      if (host === '::')
        s.emit('error', Object.assign(new Error(`listen ${code} ${host}`), { code }));
      else s.emit('listening');
    });
  };
  return s;
}

describe('sink: listening dual-stack (issue 8, defect 3)', () => {
  it('`::` listens on both families: an IPv4 client reaches it', async () => {
    const server = createServer((c) => c.end('hi'));
    try {
      assert.equal(await listenDualStack(server, 0, '::'), '::');
      const { port } = server.address() as { port: number };
      const reply = await new Promise<string>((resolve, reject) => {
        connect(port, '127.0.0.1').setEncoding('utf8').on('data', resolve).on('error', reject);
      });
      assert.equal(reply, 'hi');
    } finally {
      server.close();
    }
  });

  for (const code of ['EAFNOSUPPORT', 'EADDRNOTAVAIL']) {
    it(`falls back to 0.0.0.0 when the node has no IPv6 (${code})`, async () => {
      const server = noIpv6Server(code);
      assert.equal(await listenDualStack(server, 1025, '::'), '0.0.0.0');
      assert.deepEqual(server.calls, [':::1025', '0.0.0.0:1025']);
    });
  }

  it('other errors, and other hosts, are not retried', async () => {
    const busy = new EventEmitter() as unknown as Server;
    (busy as unknown as { listen: () => void }).listen = () =>
      queueMicrotask(() =>
        busy.emit('error', Object.assign(new Error('in use'), { code: 'EADDRINUSE' })),
      );
    await assert.rejects(listenDualStack(busy, 25, '::'), /in use/);
    const v4 = noIpv6Server('EAFNOSUPPORT');
    assert.equal(await listenDualStack(v4, 25, '127.0.0.1'), '127.0.0.1');
    assert.deepEqual(v4.calls, ['127.0.0.1:25']);
  });
});
