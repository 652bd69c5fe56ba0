/**
 * Releasing a captured message to a real SMTP server (MailHog's
 * `POST /api/v1/messages/{id}/release`, Mailpit's `.../release`), only to the
 * hosts of `--release-to`. The message is relayed as it was received (MailHog
 * rebuilds it from its parsed headers, which loses folding and order); the
 * envelope sender is `nobody@<hostname>` as in MailHog
 * (vendor/github.com/mailhog/MailHog-Server/api/v1.go:335).
 */
import { createTransport } from 'nodemailer';
import { evError } from '../../../src/errors.ts';
import {
  formatReleaseTarget,
  matchReleaseTarget,
  type ReleaseTarget,
} from '../../release-targets.ts';
import type { Logger, SinkContext } from '../../types.ts';

/** A release that does not finish in this time fails (a slow or silent peer must not hold the request forever). */
export const RELEASE_TIMEOUT_MS = 30_000;

export interface RelayRequest {
  host: string;
  port: number;
  from: string;
  to: string[];
  raw: Buffer;
  /** Name in our EHLO. */
  name: string;
  auth?: { user: string; pass: string; method: 'PLAIN' | 'CRAM-MD5' };
}

/** Sends one message; rejects with the SMTP or network error. */
export type Relay = (request: RelayRequest) => Promise<void>;

/** The production relay: nodemailer's SMTP transport, one connection per release, STARTTLS when offered. */
export const smtpRelay: Relay = async (r) => {
  const transport = createTransport({
    host: r.host,
    port: r.port,
    secure: false,
    name: r.name,
    // The peer is one the operator allowed by name; test relays often have self-signed certificates.
    tls: { rejectUnauthorized: false },
    connectionTimeout: RELEASE_TIMEOUT_MS,
    greetingTimeout: RELEASE_TIMEOUT_MS,
    socketTimeout: RELEASE_TIMEOUT_MS,
    ...(r.auth
      ? { auth: { user: r.auth.user, pass: r.auth.pass }, authMethod: r.auth.method }
      : {}),
  });
  try {
    await transport.sendMail({ envelope: { from: r.from, to: r.to }, raw: r.raw });
  } finally {
    transport.close();
  }
};

/** Relays a stored message if the target is allowed; records the outcome as a `message.released` event. Throws the 403 or the relay's failure. */
export async function release(
  ctx: SinkContext,
  relay: Relay,
  releaseTo: readonly ReleaseTarget[],
  hostname: string,
  logger: Logger | undefined,
  api: 'mailhog' | 'mailpit',
  id: string,
  raw: Buffer,
  host: string,
  port: number,
  to: string[],
  auth?: { user: string; pass: string; method: 'PLAIN' | 'CRAM-MD5' },
): Promise<void> {
  const record = (outcome: 'sent' | 'refused' | 'failed', error: string | null) =>
    ctx.events.append('message.released', {
      id,
      host: host.slice(0, 253),
      port: Number.isFinite(port) ? port : 0,
      to: to.map((t) => t.slice(0, 320)),
      api,
      outcome,
      error,
    });
  const target =
    Number.isInteger(port) && port >= 1 && port <= 65535 && host !== ''
      ? matchReleaseTarget(releaseTo, host, port)
      : undefined;
  if (target === undefined) {
    record('refused', 'not in --release-to');
    throw evError(
      'EV_ERR_RELEASE_REFUSED',
      `releasing to ${JSON.stringify(`${host}:${Number.isFinite(port) ? port : '?'}`.slice(0, 300))} is not allowed`,
      {
        hint:
          releaseTo.length === 0
            ? 'start the sink with --release-to HOST[:PORT] to allow releasing to that SMTP server'
            : `allowed: ${releaseTo.map(formatReleaseTarget).join(', ')} (--release-to)`,
      },
    );
  }
  try {
    // The allow-list entry's host, not the request's spelling of it (case, brackets, spaces).
    await relay({
      host: target.host,
      port,
      from: `nobody@${hostname}`,
      to,
      raw,
      name: hostname,
      ...(auth ? { auth } : {}),
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    record('failed', message.slice(0, 500));
    logger?.warn('release failed', { id, host, port, error: message });
    throw evError(
      'EV_ERR_RELEASE_FAILED',
      `the SMTP server ${host}:${port} refused the release: ${message.slice(0, 300)}`,
      { hint: 'check the relay and its log' },
    );
  }
  record('sent', null);
}
