/**
 * Releasing a captured message to a real SMTP server (MailHog's
 * `POST /api/v1/messages/{id}/release`, Mailpit's `.../release`), only to the
 * hosts of `--release-to`. The message is relayed as it was received (MailHog
 * rebuilds it from its parsed headers, which loses folding and order); the
 * envelope sender is `nobody@<hostname>` as in MailHog
 * (vendor/github.com/mailhog/MailHog-Server/api/v1.go:335).
 */
import { createTransport } from 'nodemailer';

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
    ...(r.auth ? { auth: { user: r.auth.user, pass: r.auth.pass }, authMethod: r.auth.method } : {}),
  });
  try {
    await transport.sendMail({ envelope: { from: r.from, to: r.to }, raw: r.raw });
  } finally {
    transport.close();
  }
};
