/**
 * The SMTP RCPT probe stage: one dialogue per address under the per-domain
 * and per-mail-provider limits, catch-all detection once per domain,
 * greylisting (4xx) retried later with backoff and reported as `unknown` if it
 * never clears. The wire is an injected {@link SmtpTransport}.
 */

import { sleep, type Clock } from '../clock.ts';
import { backoffDelay } from '../limits/backoff.ts';
import type { PermitSource } from '../limits/keyed-limiter.ts';
import { mailProviderOf } from '../limits/mail-provider.ts';
import type { DomainDns } from '../address/dns.ts';
import { isEnvelopeMailbox } from '../address/envelope.ts';
import {
  classifyRcpt,
  probeTargets,
  randomLocalPart,
  type ProbeTarget,
  type SmtpReply,
} from '../address/smtp-plan.ts';
import type { ReasonCode } from './reasons.ts';
import type { SmtpDetails } from './result.ts';
import { errorMessage } from '../guards.ts';

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** Domains whose catch-all answer is remembered; FIFO eviction beyond. */
export const MAX_CATCH_ALL_CACHE = 100_000;
/** Longest server reply text kept in results: bounds output size against chatty servers. */
export const MAX_REPLY_TEXT = 200;

export interface SmtpSession {
  readonly greeting: SmtpReply;
  /** Sends one command line (CRLF added) and reads the complete reply. */
  command(line: string): Promise<SmtpReply>;
  /** Closes the connection (after QUIT when possible); never throws. */
  close(): Promise<void>;
}

export interface SmtpTransport {
  /** Opens a connection and reads the greeting; rejects on connect failure or timeout. */
  connect(target: ProbeTarget & { port: number }, signal?: AbortSignal): Promise<SmtpSession>;
}

export interface SmtpStageOptions {
  transport: SmtpTransport;
  clock: Clock;
  random: () => number;
  helo: string;
  /** '' for the null reverse-path. */
  mailFrom: string;
  /** 25 in production; tests point it at a loopback server. */
  port: number;
  /** Dial MX hosts on loopback/private addresses (tests only). */
  allowPrivate: boolean;
  /** Per-domain permits (concurrency + rate); local or remote. */
  domainLimiter: PermitSource;
  /** Per-mail-provider permits, keyed by {@link mailProviderOf}. */
  providerLimiter: PermitSource;
  /** Sessions per address when the server answers 4xx (greylisting), including the first. */
  greylistAttempts: number;
  /** First greylisting delay; doubles up to greylistMaxMs, with jitter. */
  greylistBaseMs: number;
  greylistMaxMs: number;
  /** Sessions per address when no MX host can be reached, including the first. */
  connectAttempts: number;
  connectBaseMs: number;
  /** Catch-all answers shared with other processes (cluster shards): probed once per domain across all of them. */
  catchAllShare?: CatchAllShare;
}

/** Catch-all answers shared beyond this process (the shards of a cluster run share them through Redis). */
export interface CatchAllShare {
  /** The answer another process stored, or undefined when there is none yet. */
  get(domain: string): Promise<boolean | null | undefined>;
  /** True when this process is the one to probe the domain (the others wait for its answer). */
  claim(domain: string): Promise<boolean>;
  set(domain: string, answer: boolean | null): Promise<void>;
}

/** How long a session waits for another process's catch-all probe of the same domain before calling it unknown. */
export const SHARED_CATCH_ALL_WAIT_MS = 30_000;
/** How often it looks for that answer meanwhile. */
export const SHARED_CATCH_ALL_POLL_MS = 50;

type Outcome =
  | { kind: 'accepted'; host: string; reply: SmtpReply; catchAll: boolean | null }
  | {
      kind: 'no_mailbox' | 'rejected' | 'blocked' | 'temporary' | 'no_utf8';
      host: string;
      reply: SmtpReply;
    }
  | { kind: 'unreachable'; error: string };

export class SmtpStage {
  private readonly options: SmtpStageOptions;
  private readonly catchAll = new Map<string, boolean | null>();
  /** Catch-all probes under way, per domain: with --domain-concurrency > 1 another session waits for the answer instead of probing again. */
  private readonly catchAllProbing = new Map<string, Promise<boolean | null>>();
  /** Sessions opened, for stats and tests. */
  sessions = 0;

  constructor(options: SmtpStageOptions) {
    this.options = options;
  }

  /** Catch-all answer known for a domain (undefined when never probed). */
  catchAllOf(domain: string): boolean | null | undefined {
    return this.catchAll.get(domain);
  }

  async probe(
    address: string,
    domain: string,
    dns: DomainDns,
    signal?: AbortSignal,
  ): Promise<{ details: SmtpDetails; reasons: ReasonCode[] }> {
    // Defence in depth: syntax already refuses such addresses, but nothing
    // outside the envelope grammar may ever reach an SMTP command.
    if (!isEnvelopeMailbox(address))
      return {
        details: { status: 'skipped', catchAll: null, attempts: 0 },
        reasons: ['syntax_invalid'],
      };
    const targets = probeTargets(dns, this.options.allowPrivate);
    if (targets.length === 0) {
      return {
        details: { status: 'skipped', catchAll: null, attempts: 0 },
        reasons: ['smtp_skipped_private'],
      };
    }
    const provider = mailProviderOf(targets[0].host);
    let greylisted = 0;
    let unreachable = 0;
    for (let attempts = 1; ; attempts++) {
      const outcome = await this.limited(
        domain,
        provider,
        () => this.session(targets, address, domain, signal),
        signal,
      );
      if (outcome.kind === 'temporary') {
        greylisted++;
        if (greylisted >= this.options.greylistAttempts)
          return this.finish(outcome, attempts, domain);
        await sleep(
          this.options.clock,
          backoffDelay(greylisted, {
            baseMs: this.options.greylistBaseMs,
            maxMs: this.options.greylistMaxMs,
            random: this.options.random,
          }),
          signal,
        );
        continue;
      }
      if (outcome.kind === 'unreachable') {
        unreachable++;
        if (unreachable >= this.options.connectAttempts)
          return this.finish(outcome, attempts, domain);
        await sleep(
          this.options.clock,
          backoffDelay(unreachable, {
            baseMs: this.options.connectBaseMs,
            maxMs: this.options.greylistMaxMs,
            random: this.options.random,
          }),
          signal,
        );
        continue;
      }
      return this.finish(outcome, attempts, domain);
    }
  }

  private async limited<T>(
    domain: string,
    provider: string,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    // Most specific first: a slot for the domain, then for its provider.
    const releaseDomain = await this.options.domainLimiter.acquire(domain, signal);
    try {
      const releaseProvider = await this.options.providerLimiter.acquire(provider, signal);
      try {
        return await fn();
      } finally {
        releaseProvider();
      }
    } finally {
      releaseDomain();
    }
  }

  private finish(
    outcome: Outcome,
    attempts: number,
    domain: string,
  ): { details: SmtpDetails; reasons: ReasonCode[] } {
    if (outcome.kind === 'unreachable') {
      return {
        details: {
          status: 'unreachable',
          message: outcome.error.slice(0, MAX_REPLY_TEXT),
          catchAll: this.catchAll.get(domain) ?? null,
          attempts,
        },
        reasons: ['smtp_unreachable'],
      };
    }
    const base = {
      host: outcome.host,
      code: outcome.reply.code,
      message: outcome.reply.message.slice(0, MAX_REPLY_TEXT),
      attempts,
    };
    const withEnhanced = outcome.reply.enhanced
      ? { ...base, enhanced: outcome.reply.enhanced }
      : base;
    switch (outcome.kind) {
      case 'accepted': {
        const reasons: ReasonCode[] = outcome.catchAll === true ? ['catch_all'] : [];
        return {
          details: { status: 'deliverable', ...withEnhanced, catchAll: outcome.catchAll },
          reasons,
        };
      }
      case 'no_mailbox':
        return {
          details: { status: 'undeliverable', ...withEnhanced, catchAll: false },
          reasons: ['mailbox_not_found'],
        };
      case 'rejected':
        return {
          details: { status: 'undeliverable', ...withEnhanced, catchAll: false },
          reasons: ['smtp_rejected'],
        };
      case 'no_utf8':
        return {
          details: {
            status: 'undeliverable',
            ...withEnhanced,
            catchAll: this.catchAll.get(domain) ?? null,
          },
          reasons: ['smtputf8_unsupported'],
        };
      case 'blocked':
        return {
          details: {
            status: 'blocked',
            ...withEnhanced,
            catchAll: this.catchAll.get(domain) ?? null,
          },
          reasons: ['smtp_blocked'],
        };
      case 'temporary':
        return {
          details: {
            status: 'greylisted',
            ...withEnhanced,
            catchAll: this.catchAll.get(domain) ?? null,
          },
          reasons: ['smtp_greylisted'],
        };
    }
  }

  /** One SMTP dialogue against the first MX host that answers. */
  private async session(
    targets: ProbeTarget[],
    address: string,
    domain: string,
    signal?: AbortSignal,
  ): Promise<Outcome> {
    let lastError = 'no MX host';
    for (const t of targets) {
      let s: SmtpSession;
      try {
        s = await this.options.transport.connect({ ...t, port: this.options.port }, signal);
      } catch (err) {
        lastError = `${t.host}: ${errorMessage(err)}`;
        continue;
      }
      this.sessions++;
      try {
        return await this.dialogue(s, t.host, address, domain);
      } catch (err) {
        lastError = `${t.host}: ${errorMessage(err)}`;
      } finally {
        await s.close();
      }
    }
    return { kind: 'unreachable', error: lastError };
  }

  private async dialogue(
    s: SmtpSession,
    host: string,
    address: string,
    domain: string,
  ): Promise<Outcome> {
    const g = s.greeting;
    if (g.code !== 220)
      return { kind: g.code >= 400 && g.code < 500 ? 'temporary' : 'blocked', host, reply: g };
    let r = await s.command(`EHLO ${this.options.helo}`);
    let utf8 = r.code === 250 && /(^|\s)SMTPUTF8(\s|$)/i.test(r.message);
    if (r.code !== 250) {
      r = await s.command(`HELO ${this.options.helo}`);
      utf8 = false;
    }
    if (r.code !== 250)
      return { kind: r.code >= 400 && r.code < 500 ? 'temporary' : 'blocked', host, reply: r };
    const needsUtf8 = !isAscii(address);
    // A UTF-8 mailbox can only be delivered by a server that announces SMTPUTF8 (RFC 6531).
    if (needsUtf8 && !utf8)
      return {
        kind: 'no_utf8',
        host,
        reply: { code: 553, enhanced: '5.6.7', message: 'server does not announce SMTPUTF8' },
      };
    r = await s.command(`MAIL FROM:<${this.options.mailFrom}>${needsUtf8 ? ' SMTPUTF8' : ''}`);
    if (r.code !== 250)
      return { kind: r.code >= 400 && r.code < 500 ? 'temporary' : 'blocked', host, reply: r };
    const rcpt = await s.command(`RCPT TO:<${address}>`);
    const cls = classifyRcpt(rcpt);
    if (cls !== 'accepted') return { kind: cls, host, reply: rcpt };
    let catchAll = this.catchAll.get(domain);
    if (catchAll === undefined || catchAll === null) {
      const probing = this.catchAllProbing.get(domain);
      if (probing !== undefined)
        return { kind: 'accepted', host, reply: rcpt, catchAll: await probing };
      // Once per domain: a recipient nobody has. Accepted means the server
      // accepts everything, so an accepted RCPT proves nothing there.
      let settle!: (v: boolean | null) => void;
      this.catchAllProbing.set(
        domain,
        new Promise((r) => {
          settle = r;
        }),
      );
      let answer: boolean | null = null;
      try {
        const shared = this.options.catchAllShare ? await this.sharedCatchAll(domain) : undefined;
        if (shared !== undefined) {
          answer = shared;
        } else {
          const probe = await s.command(
            `RCPT TO:<${randomLocalPart(this.options.random)}@${domain}>`,
          );
          const pc = classifyRcpt(probe);
          answer =
            pc === 'accepted' ? true : pc === 'no_mailbox' || pc === 'rejected' ? false : null;
          await this.options.catchAllShare?.set(domain, answer);
        }
        if (this.catchAll.size >= MAX_CATCH_ALL_CACHE)
          this.catchAll.delete(this.catchAll.keys().next().value!);
        this.catchAll.set(domain, answer);
      } finally {
        this.catchAllProbing.delete(domain);
        settle(answer);
      }
      catchAll = answer;
    }
    return { kind: 'accepted', host, reply: rcpt, catchAll };
  }

  /** Another process's answer (waiting for its probe), or undefined when this one is to probe. */
  private async sharedCatchAll(domain: string): Promise<boolean | null | undefined> {
    const share = this.options.catchAllShare!;
    const deadline = this.options.clock.now() + SHARED_CATCH_ALL_WAIT_MS;
    for (;;) {
      const known = await share.get(domain);
      if (known !== undefined) return known;
      if (await share.claim(domain)) return undefined;
      if (this.options.clock.now() >= deadline) return null;
      await sleep(this.options.clock, SHARED_CATCH_ALL_POLL_MS);
    }
  }
}

/**
 * The port-25 precheck: true when at least one target accepts a TCP
 * connection and greets. Run once before probing so a blocked network fails
 * fast with EV_ERR_PORT25_BLOCKED instead of marking every address unknown.
 */
export async function port25Reachable(
  transport: SmtpTransport,
  targets: Array<ProbeTarget & { port: number }>,
  signal?: AbortSignal,
): Promise<{ ok: boolean; tried: string[]; error?: string }> {
  const tried: string[] = [];
  let error: string | undefined;
  for (const t of targets) {
    tried.push(`${t.host}:${t.port}`);
    try {
      const s = await transport.connect(t, signal);
      await s.close();
      return { ok: true, tried };
    } catch (err) {
      error = errorMessage(err);
    }
  }
  return { ok: false, tried, ...(error === undefined ? {} : { error }) };
}
