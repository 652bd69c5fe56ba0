/**
 * One HTTP/1.1 request over a raw socket, every byte ours (header values a
 * client library would refuse to send: NUL, CR, non-Latin-1), `Connection:
 * close`, read until the server closes; for the fuzzers.
 */
import { connect } from 'node:net';

export interface RawResponse {
  /** Null when the server closed without a status line. */
  status: number | null;
  headers: string;
  body: Buffer;
}

/** Longest response kept (the rest is read and dropped): fuzzers look at status and headers. */
const MAX_KEPT = 1024 * 1024;

/** `headOnly`: resolve once the response head has arrived (streams such as MailHog's event source never end). */
export function rawRequest(
  port: number,
  head: Buffer | string,
  body: Buffer = Buffer.alloc(0),
  timeoutMs = 10_000,
  headOnly = false,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let kept = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no complete response within ${timeoutMs} ms to ${JSON.stringify(head.toString().slice(0, 120))}`,
        ),
      );
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(head);
      if (body.length) socket.write(body);
    });
    socket.on('data', (c: Buffer) => {
      if (kept < MAX_KEPT) {
        chunks.push(c);
        kept += c.length;
      }
      if (headOnly && Buffer.concat(chunks).includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined); // a reset is an answer too: the status is then null
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const headers = all.subarray(0, end < 0 ? all.length : end).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(headers);
      resolve({
        status: m ? Number(m[1]) : null,
        headers,
        body: end < 0 ? Buffer.alloc(0) : all.subarray(end + 4),
      });
    });
  });
}

/** A request head: request line, Host, Connection: close, the given header lines, Content-Length when a body follows. */
export function requestHead(
  method: string,
  target: string,
  headerLines: Array<string | Buffer>,
  bodyLength: number,
): Buffer {
  const parts: Buffer[] = [
    Buffer.from(
      `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`,
      'latin1',
    ),
  ];
  for (const line of headerLines)
    parts.push(Buffer.isBuffer(line) ? line : Buffer.from(line, 'latin1'), Buffer.from('\r\n'));
  if (bodyLength > 0 || method === 'PUT' || method === 'POST')
    parts.push(Buffer.from(`Content-Length: ${bodyLength}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}
