/**
 * A UDP DNS forwarder for tests that can hold queries: while held, queries are
 * queued instead of forwarded, so the shards' network checks stay in flight
 * (their leases stay open) until the test releases them.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';

export interface DnsHold {
  server: string;
  /** Queries waiting while held. */
  readonly waiting: number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startDnsHold(upstreamPort: number): Promise<DnsHold> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const queue: Array<[Buffer, RemoteInfo]> = [];
  let held = false;
  // Every upstream socket is closed on close(): a query the upstream never answers
  // would otherwise keep one open, and the test process alive.
  const upstream = new Set<ReturnType<typeof createSocket>>();
  const forward = (msg: Buffer, from: RemoteInfo): void => {
    const up = createSocket('udp4');
    upstream.add(up);
    const done = (): void => {
      if (upstream.delete(up)) up.close();
    };
    up.on('error', done);
    up.on('message', (reply) => {
      sock.send(reply, from.port, from.address);
      done();
    });
    // Loopback only, like everything in the tests.
    up.bind(0, '127.0.0.1', () => up.send(msg, upstreamPort, '127.0.0.1'));
  };
  sock.on('message', (msg, from) => {
    if (held) queue.push([msg, from]);
    else forward(msg, from);
  });
  return {
    server: `127.0.0.1:${sock.address().port}`,
    get waiting() {
      return queue.length;
    },
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const [m, f] of queue.splice(0)) forward(m, f);
    },
    close: () => {
      for (const up of upstream) up.close();
      upstream.clear();
      return new Promise((resolve) => sock.close(() => resolve()));
    },
  };
}
