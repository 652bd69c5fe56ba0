/**
 * The sink's SMTP front end alone on loopback (port 0), with hooks that store
 * nothing (every message answers as `x`), and a raw client connected to it.
 */
import type { AddressInfo } from 'node:net';
import { resolveSinkConfig } from '../../../../sink/config.ts';
import { silentLogger } from '../../../../sink/logger.ts';
import { createSmtpFront } from '../../../../sink/smtp-front.ts';
import type { SmtpFrontOptions } from '../../../../sink/smtp-front.ts';
import { summary } from '../../../support/message-summary.ts';
import { RawSmtp } from './raw-smtp.ts';

export interface FrontAndClient {
  client: RawSmtp;
  /** Closes the client and the server. */
  close(): Promise<void>;
}

export async function startSmtpFront(
  options: Omit<SmtpFrontOptions, 'config' | 'logger' | 'hooks'>,
): Promise<FrontAndClient> {
  const stored = summary({ id: 'x' });
  const server = createSmtpFront({
    config: resolveSinkConfig({ noAuth: true, smtpPort: 0, httpPort: 0 }),
    logger: silentLogger,
    hooks: {
      ingest: () => stored,
      refused() {},
      connectionOpened() {},
      connectionClosed() {},
    },
    ...options,
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.server.once('listening', r));
  const client = await RawSmtp.open((server.server.address() as AddressInfo).port);
  return {
    client,
    async close() {
      client.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
