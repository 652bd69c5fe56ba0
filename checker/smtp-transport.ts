/**
 * The SMTP wire for `--smtp-probe`, on node:net: connect with a timeout, read
 * the greeting, send one command at a time and read complete (multi-line)
 * replies. Replies are bounded in size and time; the connection is closed
 * with QUIT when possible.
 */

import { connect, type Socket } from 'node:net';
import { enhancedOf, type SmtpReply } from '../src/address/smtp-plan.ts';
import { isCommandSafe } from '../src/address/envelope.ts';
import type { SmtpSession, SmtpTransport } from '../src/check/smtp-stage.ts';

/** Longest reply accepted (all lines): RFC 5321 lines are <= 512 octets; a few dozen continuation lines at most. */
export const MAX_REPLY_BYTES = 16 * 1024;

export interface NetSmtpTransportOptions {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

class NetSession implements SmtpSession {
  greeting: SmtpReply = { code: 0, message: '' };
  private readonly sock: Socket;
  private readonly timeoutMs: number;
  private buf = '';
  private lines: string[] = [];
  private waiter: ((r: SmtpReply | Error) => void) | null = null;
  private ended: Error | null = null;
  /** Replies that arrived before anyone waited (a pipelining server, or a greeting racing the listener). */
  private early: SmtpReply[] = [];

  constructor(sock: Socket, timeoutMs: number) {
    this.sock = sock;
    this.timeoutMs = timeoutMs;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('connection closed by server')));
  }

  private fail(e: Error): void {
    if (this.ended === null) this.ended = e;
    const w = this.waiter;
    this.waiter = null;
    w?.(e);
  }

  private onData(d: string): void {
    this.buf += d;
    if (this.buf.length > MAX_REPLY_BYTES) {
      this.fail(new Error('reply too long'));
      this.sock.destroy();
      return;
    }
    for (let nl = this.buf.indexOf('\n'); nl !== -1; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      // "250-…" continues, "250 …" (or a bare code) ends the reply.
      if (line.length < 4 || line[3] !== '-') {
        const reply = parseReply(this.lines);
        this.lines = [];
        const w = this.waiter;
        this.waiter = null;
        if (w) w(reply);
        else if (this.early.length < 4) this.early.push(reply);
      }
    }
  }

  read(): Promise<SmtpReply> {
    const early = this.early.shift();
    if (early) return Promise.resolve(early);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no reply within ${this.timeoutMs} ms`));
        this.sock.destroy();
      }, this.timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }

  command(line: string): Promise<SmtpReply> {
    if (this.ended) return Promise.reject(this.ended);
    // The last line of defence against command injection: a line with CR, LF
    // or any other control character is never written to the socket.
    if (!isCommandSafe(line))
      return Promise.reject(
        new Error('refused to send an SMTP command holding a control character'),
      );
    const p = this.read();
    this.sock.write(`${line}\r\n`);
    return p;
  }

  async close(): Promise<void> {
    if (this.ended === null) {
      try {
        await this.command('QUIT');
      } catch {
        /* closing anyway */
      }
    }
    this.sock.destroy();
  }
}

function parseReply(lines: string[]): SmtpReply {
  const code = Number.parseInt(lines[lines.length - 1].slice(0, 3), 10);
  const text = lines
    .map((l) => l.slice(4))
    .join(' ')
    .trim();
  const enhanced = enhancedOf(text);
  const reply: SmtpReply = { code: Number.isNaN(code) ? 0 : code, message: text };
  if (enhanced) reply.enhanced = enhanced;
  return reply;
}

/** Production transport. */
export function netSmtpTransport(options: NetSmtpTransportOptions): SmtpTransport {
  return {
    connect(target, signal): Promise<SmtpSession> {
      return new Promise((resolve, reject) => {
        const sock = connect({ host: target.address, port: target.port });
        const session = new NetSession(sock, options.commandTimeoutMs);
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`connect timeout after ${options.connectTimeoutMs} ms`));
        }, options.connectTimeoutMs);
        const onAbort = (): void => {
          sock.destroy();
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        sock.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        sock.once('connect', () => {
          clearTimeout(timer);
          session.read().then(
            (g) => {
              signal?.removeEventListener('abort', onAbort);
              session.greeting = g;
              resolve(session);
            },
            (e) => {
              sock.destroy();
              reject(e);
            },
          );
        });
      });
    },
  };
}
