/**
 * A raw SMTP client for tests that must control every byte on the wire
 * (hostile sessions, smuggling): sends bytes, collects replies, waits on
 * them with a deadline.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface Reply {
  code: number;
  text: string;
}

export class RawSmtp {
  readonly socket: Socket;
  readonly replies: Reply[] = [];
  #buffer = '';
  #current: string[] = [];
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawSmtp> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawSmtp(socket);
  }

  #onData(chunk: Buffer): void {
    this.#buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = this.#buffer.indexOf('\r\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 2);
      this.#current.push(line.slice(4));
      if (/^\d{3}( |$)/.test(line)) {
        this.replies.push({ code: Number(line.slice(0, 3)), text: this.#current.join('\n') });
        this.#current = [];
      }
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `count` replies arrived in total (or the connection closed). */
  async waitReplies(count: number, timeoutMs = 10_000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for reply ${count}; got ${JSON.stringify(this.replies)}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies;
  }

  /** Waits until the server closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the server to close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Sends a command and waits for its reply. */
  async command(line: string): Promise<Reply> {
    const n = this.replies.length + 1;
    this.write(`${line}\r\n`);
    const replies = await this.waitReplies(n);
    return replies[n - 1];
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Dot-stuffs message content for DATA and appends the terminator. */
export function dataPayload(content: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (content[0] === 0x2e) parts.push(Buffer.from('.'));
  for (let i = 0; i + 2 < content.length; i++) {
    if (content[i] === 0x0d && content[i + 1] === 0x0a && content[i + 2] === 0x2e) {
      parts.push(content.subarray(start, i + 2), Buffer.from('.'));
      start = i + 2;
    }
  }
  parts.push(content.subarray(start));
  const endsWithCrlf =
    content.length >= 2 &&
    content[content.length - 2] === 0x0d &&
    content[content.length - 1] === 0x0a;
  parts.push(Buffer.from(endsWithCrlf ? '.\r\n' : '\r\n.\r\n'));
  return Buffer.concat(parts);
}
