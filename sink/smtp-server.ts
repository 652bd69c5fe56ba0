/**
 * smtp-server, adapted in two places at the connection level.
 *
 * 1. No pre-greeting wait. smtp-server 3.21.x (`SMTPConnection.init`, checked
 *    against 3.21.6) always waits 100 ms before the greeting to catch early
 *    talkers, and has no option to turn that off; with one message per
 *    connection it caps a client at ~10 messages/s. A sink for tests has no
 *    spammers to catch, so {@link SinkSmtpConnection.init} does what the
 *    library's init does (socket listeners, the maxClients check) and then
 *    calls the library's own `connectionReady()` at once instead of from a
 *    100 ms timer. {@link SinkSmtpServer.connect} is the library's connect
 *    with this connection class. If a future version renames the internals
 *    used here, `supportsFastGreeting` turns false and the library's own init
 *    (with the wait) runs instead of anything breaking; a test pins this.
 *
 * 2. Custom enhanced status codes. Handler errors are replied to with the
 *    library's default enhanced code for the reply code (451 -> 4.3.0). A rule
 *    asks for a specific one (451 4.7.1), so a reply text that starts with an
 *    enhanced code is sent as is, without a second one prepended.
 *
 * It also enforces a total session deadline on top of the idle timeout, and
 * coalesces the replies of a pipelined command group into one write.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import type {
  SMTPServerConnectionInfo,
  SMTPServerError,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';

/** A reply text that carries its own enhanced status code (RFC 3463), e.g. `5.1.1 No such user`. */
export const OWN_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

/** True when smtp-server still has the internals the fast greeting relies on. */
export const supportsFastGreeting: boolean =
  typeof (SMTPConnection.prototype as unknown as Record<string, unknown>)._setListeners ===
    'function' &&
  typeof SMTPConnection.prototype.connectionReady === 'function' &&
  typeof SMTPConnection.prototype.init === 'function';

export interface SinkSmtpServerOptions extends SMTPServerOptions {
  /** Whole-session deadline in ms (the idle timeout is `socketTimeout`). */
  sessionTimeout?: number;
}

/**
 * How often the server looks for sessions past their deadline: a quarter of
 * the deadline, at most this. One timer for all sessions instead of one per
 * connection (a timer, its closure and a close listener per connection were
 * measurable with one message per connection); a session ends at most this
 * late after its deadline.
 */
export const SESSION_SWEEP_MAX_MS = 1000;

export class SinkSmtpConnection extends SMTPConnection {
  /** performance.now() past which the session is ended (Infinity: no deadline, or already ended). */
  deadline = Infinity;
  #corked = false;

  override init(): void {
    const sessionTimeout = (this._server.options as SinkSmtpServerOptions).sessionTimeout;
    if (sessionTimeout) this.deadline = performance.now() + sessionTimeout;
    if (!supportsFastGreeting) return super.init();
    this._setListeners(() => {
      const max = this._server.options.maxClients;
      if (max && this._server.connections.size > max) {
        this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      this.connectionReady();
    });
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    this.#coalesce(code);
    if (typeof data === 'string' && code >= 400 && OWN_ENHANCED_CODE.test(data)) {
      return super.send(
        code,
        this._server.options.hideENHANCEDSTATUSCODES ? data.replace(OWN_ENHANCED_CODE, '') : data,
        false,
      );
    }
    return super.send(code, data, context);
  }

  /**
   * Lets the application answer the DATA command itself before smtp-server
   * replies 354 (it has no hook there), so a rule at stage `data` rejects
   * the command and the client never sends the message.
   */
  override handler_DATA(command: Buffer, callback: () => void): void {
    const hook = (this._server as SinkSmtpServer).onDataCommand;
    if (!hook || this.session.envelope.rcptTo.length === 0)
      return super.handler_DATA(command, callback);
    hook(this.session, (err) => {
      if (err) {
        this.send(err.responseCode ?? 554, err.message);
        return callback();
      }
      super.handler_DATA(command, callback);
    });
  }

  /**
   * Replies produced in one turn of the event loop (a pipelined MAIL, RCPT,
   * DATA group) leave in one write instead of one system call each. Not for
   * 220 (greeting, STARTTLS: the client waits on it before a TLS handshake)
   * nor for replies that close the session.
   */
  #coalesce(code: number): void {
    const socket = this._socket;
    if (
      this.#corked ||
      code === 220 ||
      code === 221 ||
      code === 421 ||
      this._upgrading ||
      socket.destroyed
    )
      return;
    this.#corked = true;
    socket.cork();
    setImmediate(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  /** Ends the session with a 421 if it is past its deadline (the server's sweep calls this). */
  expireIfDue(now: number): void {
    if (now < this.deadline) return;
    this.deadline = Infinity;
    this.send(421, `${this.name} Session time limit reached, closing`);
  }

  /** Drops the connection without a reply (the `disconnect` rule action). */
  drop(): void {
    this._socket.destroy();
  }
}

export class SinkSmtpServer extends SMTPServer {
  /** Called on the DATA command, before the 354 reply; an error with `responseCode` is the reply. */
  onDataCommand:
    | ((session: SMTPServerSession, callback: (err?: SMTPServerError | null) => void) => void)
    | null = null;
  #sweep: NodeJS.Timeout | null = null;
  readonly #sessionTimeout: number | undefined;

  constructor(options: SinkSmtpServerOptions) {
    super(options);
    this.#sessionTimeout = options.sessionTimeout;
  }

  /** Runs while there are connections and a session deadline: ends the sessions past theirs. */
  #startSweep(): void {
    const sessionTimeout = this.#sessionTimeout;
    if (this.#sweep !== null || !sessionTimeout) return;
    this.#sweep = setInterval(
      () => {
        if (this.connections.size === 0) {
          clearInterval(this.#sweep ?? undefined);
          this.#sweep = null;
          return;
        }
        const now = performance.now();
        for (const c of this.connections) if (c instanceof SinkSmtpConnection) c.expireIfDue(now);
      },
      Math.max(1, Math.min(SESSION_SWEEP_MAX_MS, sessionTimeout / 4)),
    );
    this.#sweep.unref();
  }

  /** Connections not in the middle of a command or a message. */
  idleConnections(): SinkSmtpConnection[] {
    return [...this.connections].filter(
      (c) => !c._handlerPending && !c._dataStream,
    ) as SinkSmtpConnection[];
  }

  override connect(
    socket: net.Socket | tls.TLSSocket,
    socketOptions?: SMTPConnectionOptions | null,
  ): void {
    const connection = new SinkSmtpConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    // The connection's 'connect' event carries what the server re-emits as its own.
    connection.on('connect', (data: SMTPServerConnectionInfo) => this._onClientConnect(data));
    connection.init();
    this.#startSweep();
  }

  /** The open connection of a session, by session id. */
  connectionOf(sessionId: string): SinkSmtpConnection | undefined {
    for (const c of this.connections) if (c.id === sessionId) return c as SinkSmtpConnection;
    return undefined;
  }
}
