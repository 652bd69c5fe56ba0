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
  const forward = (msg: Buffer, from: RemoteInfo): void => {
    const up = createSocket('udp4');
    up.on('error', () => up.close());
    up.on('message', (reply) => {
      sock.send(reply, from.port, from.address);
      up.close();
    });
    up.send(msg, upstreamPort, '127.0.0.1');
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
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
