/**
 * The SMTP front end: smtp-server's handlers, wired to the rules (simulated
 * rejections, greylisting, delays, disconnects) and to the ingest callback.
 * Accepts any sender and recipient and relays nothing anywhere.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerDataStream,
  SMTPServerError,
  SMTPServerSession,
} from 'smtp-server';
import { plusTag } from '../src/protocol.ts';
import type {
  AuthFailedData,
  Envelope,
  MessageSummary,
  RejectionData,
  SmtpStage,
} from '../src/protocol.ts';
import type { MatchInput } from '../src/rules-schema.ts';
import type { SinkConfig } from './config.ts';
import { parseHeaderBlock } from './message-headers.ts';
import type { HeaderField } from './message-headers.ts';
import type { RulesEngine, Verdict } from './rules.ts';
import { SinkSmtpServer } from './smtp-server.ts';
import { DataBuffer } from './data-buffer.ts';
import { MemoryBudget } from './memory-budget.ts';
import { processGcValve } from './gc-valve.ts';
import type { GcValve } from './gc-valve.ts';
import type { Logger } from './types.ts';
import { errorCode, errorMessage } from '../src/guards.ts';

/** Longest SMTP command line accepted (RFC 5321 section 4.5.3.1.4 says 512; SMTPUTF8 addresses need more). */
export const MAX_COMMAND_LENGTH = 4096;
/** Recipients per message (RFC 5321 section 4.5.3.1.8 requires at least 100). */
export const MAX_RECIPIENTS = 1000;
/**
 * Failed AUTH attempts in one session; the next failure is answered 421 and the
 * session closed (1,999 guesses in one session took 4.1 s before this cap).
 */
export const MAX_AUTH_FAILURES_PER_SESSION = 5;
/** Each failed AUTH is answered this late, so guessing costs the client time, not the sink (a timer, no work). */
export const AUTH_FAILURE_DELAY_MS = 1000;
/** Invalid commands tolerated before a session is dropped. */
export const MAX_UNAUTHENTICATED_COMMANDS = 50;

export interface IngestInput {
  envelope: Envelope;
  raw: Buffer;
  headers: readonly HeaderField[];
  /** performance.now() at the end of DATA. */
  dataEndedAt: number;
}

export interface SmtpFrontHooks {
  /** Stores an accepted message; returns its summary (for the reply's queue id). */
  ingest(input: IngestInput): MessageSummary;
  /** A rule (or a limit) refused a command. */
  refused(kind: 'rejected' | 'deferred', data: RejectionData): void;
  connectionOpened(): void;
  connectionClosed(): void;
  /** An AUTH failed (wrong credentials); counted in metrics and published as `auth.failed`. */
  authFailed?(data: AuthFailedData): void;
}

export interface SmtpFrontOptions {
  config: SinkConfig;
  rules: RulesEngine;
  logger: Logger;
  hooks: SmtpFrontHooks;
  /** Waits for a delay rule; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** The sink's memory budget; DATA in flight draws from its `inflight` account (beyond it: 452). */
  budget?: MemoryBudget;
  /** Told about every DATA chunk thrown away (sink/gc-valve.ts); the process's by default. */
  gcValve?: GcValve;
}

type Done = (err?: SMTPServerError | null) => void;

function smtpError(code: number, enhanced: string, text: string): SMTPServerError {
  const err = new Error(`${enhanced} ${text}`) as SMTPServerError;
  err.responseCode = code;
  return err;
}

function envelopeOf(session: SMTPServerSession): Envelope {
  const from = session.envelope.mailFrom;
  return {
    helo: session.hostNameAppearsAs || '',
    mailFrom: from && from.address ? { address: from.address, tag: plusTag(from.address) } : null,
    rcptTo: session.envelope.rcptTo.map((r) => ({ address: r.address, tag: plusTag(r.address) })),
    clientAddress: session.remoteAddress,
    tls: session.secure,
    authUser: typeof session.user === 'string' ? session.user : null,
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Creates the SMTP server (not yet listening). */
export function createSmtpFront(options: SmtpFrontOptions): SinkSmtpServer {
  const { config, rules, logger, hooks } = options;
  const sleep =
    options.sleep ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const counted = new WeakSet<SMTPServerSession>();
  const authFailures = new WeakMap<SMTPServerSession, number>();
  const budget = options.budget ?? new MemoryBudget();
  const gcValve = options.gcValve ?? processGcValve();

  const refuse = (
    stage: SmtpStage,
    session: SMTPServerSession,
    verdict: Exclude<Verdict, { kind: 'disconnect' }>,
    from: string | null,
    to: string | null,
  ): SMTPServerError => {
    hooks.refused(verdict.kind === 'reject' ? 'rejected' : 'deferred', {
      stage,
      code: verdict.code,
      enhancedCode: verdict.enhancedCode,
      text: verdict.text,
      from,
      to,
      clientAddress: session.remoteAddress,
      rule: verdict.rule,
    });
    return smtpError(verdict.code, verdict.enhancedCode, verdict.text);
  };

  /** Applies the rules of a stage, then calls done (possibly after a delay). */
  const decide = (
    stage: SmtpStage,
    session: SMTPServerSession,
    input: MatchInput,
    to: string | null,
    done: Done,
    decision = rules.evaluate(stage, input),
  ): void => {
    // Never answer synchronously: smtp-server 3.21.6 stalls a pipelined session
    // when onRcptTo calls back within the call (the commands after the next
    // message are never read; test/fixtures/hostile/pipelined-two-messages.smtp).
    // Its own default handlers defer with setImmediate; nextTick is enough.
    if (decision.verdict === null && decision.delayMs === 0) {
      process.nextTick(done); // the usual case, without a closure per command
      return;
    }
    const finish = () => {
      const v = decision.verdict;
      if (v === null) return done();
      if (v.kind === 'disconnect') {
        hooks.refused('rejected', {
          stage,
          code: 421,
          enhancedCode: '4.4.2',
          text: 'Connection dropped by rule',
          from: input.sender,
          to,
          clientAddress: session.remoteAddress,
          rule: v.rule,
        });
        server.connectionOf(session.id)?.drop();
        return done(smtpError(421, '4.4.2', 'Connection dropped by rule'));
      }
      done(refuse(stage, session, v, input.sender, to));
    };
    if (decision.delayMs > 0) sleep(decision.delayMs).then(finish, finish);
    else process.nextTick(finish);
  };

  const server = new SinkSmtpServer({
    name: config.name,
    banner: 'kubectl-email-validate sink',
    secure: false,
    hideSTARTTLS: config.tls === null,
    // Without a certificate STARTTLS is an unknown command (500), not a handshake with
    // smtp-server's bundled CN=localhost certificate, whose key is public.
    disabledCommands: config.tls === null ? ['STARTTLS'] : [],
    ...(config.tls ? { key: config.tls.key, cert: config.tls.cert } : {}),
    hideENHANCEDSTATUSCODES: false,
    hidePIPELINING: false,
    hide8BITMIME: false,
    hideSMTPUTF8: false,
    hideDSN: true,
    size: config.maxMessageSize,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !config.authRequired,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    maxClients: config.maxClients,
    socketTimeout: config.idleTimeoutMs,
    sessionTimeout: config.sessionTimeoutMs,
    closeTimeout: 5_000,
    maxCommandLength: MAX_COMMAND_LENGTH,
    maxRecipients: MAX_RECIPIENTS,
    maxAllowedUnauthenticatedCommands: config.authRequired ? MAX_UNAUTHENTICATED_COMMANDS : false,
    logger: false,

    onConnect(session, callback) {
      counted.add(session);
      hooks.connectionOpened();
      decide('connect', session, { sender: null, recipients: [] }, null, callback);
    },

    onClose(session) {
      if (counted.delete(session)) hooks.connectionClosed();
    },

    onAuth(auth: SMTPServerAuthentication, session, callback) {
      const user = auth.username ?? '';
      if (config.users.size > 0) {
        const expected = config.users.get(user);
        // compare digests so the comparison takes the same time whatever the lengths
        const ok =
          expected !== undefined && timingSafeEqual(digest(expected), digest(auth.password ?? ''));
        if (!ok) {
          const attempt = (authFailures.get(session) ?? 0) + 1;
          authFailures.set(session, attempt);
          const disconnected = attempt >= MAX_AUTH_FAILURES_PER_SESSION;
          hooks.authFailed?.({
            user: user.slice(0, 256),
            mechanism: auth.method,
            clientAddress: session.remoteAddress,
            attempt,
            disconnected,
          });
          // smtp-server closes the session after sending a 421.
          const err = disconnected
            ? smtpError(
                421,
                '4.7.0',
                `Too many failed authentication attempts (${attempt}), closing connection`,
              )
            : smtpError(535, '5.7.8', 'Authentication credentials invalid');
          const answer = () => callback(err);
          sleep(AUTH_FAILURE_DELAY_MS).then(answer, answer);
          return;
        }
      }
      callback(null, { user });
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      decide('mail', session, { sender: address.address || null, recipients: [] }, null, callback);
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null;
      decide('rcpt', session, { sender, recipients: [address.address] }, address.address, callback);
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      // Copied into pooled blocks as it arrives, so the socket's chunks die young
      // (sink/data-buffer.ts); all of it is counted in the memory budget.
      const data = new DataBuffer(budget);
      const release = () => data.release();
      stream.on('data', (chunk: Buffer) => {
        // keep consuming, stop buffering
        if (!data.overBudget && !stream.sizeExceeded) data.append(chunk);
        gcValve.discardedChunks(chunk.length); // copied or dropped: garbage either way
      });
      stream.on('error', release);
      stream.on('end', () => {
        const dataEndedAt = performance.now();
        const envelope = envelopeOf(session);
        const sender = envelope.mailFrom?.address ?? null;
        const recipients = envelope.rcptTo.map((r) => r.address);
        if (stream.sizeExceeded) {
          release();
          hooks.refused('rejected', {
            stage: 'end',
            code: 552,
            enhancedCode: '5.3.4',
            text: `Message exceeds the size limit of ${config.maxMessageSize} bytes`,
            from: sender,
            to: null,
            clientAddress: session.remoteAddress,
            rule: null,
          });
          return callback(
            smtpError(
              552,
              '5.3.4',
              `Message exceeds the size limit of ${config.maxMessageSize} bytes`,
            ),
          );
        }
        // Shared memory of the exact size, so the parse worker reads the stored message without a copy.
        const raw = data.overBudget ? null : data.take();
        if (raw === null) {
          release();
          logger.warn('DATA refused: in-flight memory budget exhausted', {
            budget: budget.cap('inflight'),
          });
          return callback(smtpError(452, '4.3.1', 'Insufficient system storage, try again later'));
        }
        let headers: HeaderField[];
        try {
          headers = parseHeaderBlock(raw);
        } catch (err) {
          logger.error('header parse failed', { error: errorMessage(err) });
          headers = [];
        }
        const header = (name: string) => headers.filter((h) => h.name === name).map((h) => h.value);
        const accept = (err?: SMTPServerError | null) => {
          if (err) {
            release();
            return callback(err);
          }
          try {
            const summary = hooks.ingest({ envelope, raw, headers, dataEndedAt });
            callback(null, `Ok: queued as ${summary.id}`);
          } catch (e) {
            logger.error('ingest failed', { error: errorMessage(e) });
            callback(smtpError(451, '4.3.0', 'Local error in processing, try again'));
          } finally {
            release();
          }
        };
        const input: MatchInput = { sender, recipients, header };
        const decision = rules.evaluate('end', input);
        // Nothing to wait for and nothing to refuse: stored and answered within
        // the 'end' event, as a bare smtp-server answers (the stream has ended,
        // so smtp-server replies at once; no tick and no closure more per message).
        if (decision.verdict === null && decision.delayMs === 0) accept();
        else decide('end', session, input, recipients.join(', ') || null, accept, decision);
      });
    },
  });

  server.onDataCommand = (session, callback) => {
    const envelope = envelopeOf(session);
    const recipients = envelope.rcptTo.map((r) => r.address);
    decide(
      'data',
      session,
      { sender: envelope.mailFrom?.address ?? null, recipients },
      recipients.join(', ') || null,
      callback,
    );
  };

  server.on('error', (err: Error) =>
    logger.warn('smtp connection error', {
      error: err.message,
      code: errorCode(err),
    }),
  );
  return server;
}
