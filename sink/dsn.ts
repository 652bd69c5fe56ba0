/**
 * RFC 3464 delivery status notifications, for the asynchronous bounces the
 * sink simulates (`asyncbounce…` recipients, `bounce:` rules). The DSN is a
 * multipart/report addressed to the envelope sender, carrying the original
 * message's headers (text/rfc822-headers, RFC 6522), as MTAs send them.
 */
import { randomBytes } from 'node:crypto';
import type { MessageSummary } from '../src/protocol.ts';

/** Original header bytes included in a DSN; the rest is cut, as MTAs do. */
export const MAX_DSN_ORIGINAL_HEADER_BYTES = 64 * 1024;

export interface DsnInput {
  /** Host name of the reporting MTA (the sink's name). */
  reportingMta: string;
  original: MessageSummary;
  originalRaw: Buffer;
  recipient: string;
  /** Enhanced status code, e.g. 5.1.1. */
  status: string;
  /** Diagnostic-Code value, e.g. `smtp; 550 5.1.1 No such user`. */
  diagnostic: string;
  now: Date;
}

function headerBlock(raw: Buffer): string {
  const limit = Math.min(raw.length, MAX_DSN_ORIGINAL_HEADER_BYTES);
  const text = raw.toString('utf8', 0, limit);
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  return block.replace(/\r?\n|\r/g, '\r\n').replace(/\0/g, '');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\0]+/g, ' ');
}

/** Builds the raw DSN message (CRLF line ends). */
export function buildDsn(input: DsnInput): Buffer {
  const { reportingMta, original, recipient, status, now } = input;
  const sender = original.envelope.mailFrom?.address ?? '';
  const boundary = `=_dsn_${randomBytes(12).toString('hex')}`;
  const date = now.toUTCString().replace('GMT', '+0000');
  const diagnostic = oneLine(input.diagnostic);
  const rcpt = oneLine(recipient);
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${reportingMta}>`,
    `To: <${oneLine(sender)}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${date}`,
    `Message-ID: <dsn.${randomBytes(8).toString('hex')}@${reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `This is the mail system at host ${reportingMta}.`,
    '',
    'Your message could not be delivered to one or more recipients.',
    '',
    `<${rcpt}>: ${diagnostic}`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${reportingMta}`,
    `X-Original-Message-ID: ${oneLine(original.messageId ?? original.id)}`,
    `Arrival-Date: ${new Date(original.time).toUTCString().replace('GMT', '+0000')}`,
    '',
    `Final-Recipient: rfc822; ${rcpt}`,
    'Action: failed',
    `Status: ${status}`,
    `Diagnostic-Code: ${diagnostic}`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headerBlock(input.originalRaw),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
