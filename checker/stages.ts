/**
 * Builds the network stages of the per-address pipeline (DNS, SMTP probe)
 * from options. One function for the local `check` and for the shards of
 * `check --in-cluster`, so both check addresses the same way; only the
 * limiters (local or held in Redis) and the test seams differ.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../src/clock.ts';
import { DnsChecker, type DnsResolver } from '../src/address/dns.ts';
import type { NetworkStages } from '../src/check/pipeline.ts';
import { SmtpStage, type CatchAllShare, type SmtpTransport } from '../src/check/smtp-stage.ts';
import type { PermitSource } from '../src/limits/keyed-limiter.ts';
import type { ShardOptions } from '../src/check-cluster/protocol.ts';
import { evError } from '../src/errors.ts';
import { heloProblem, mailFromProblem } from '../src/address/smtp-plan.ts';
import { createDnsResolver } from './dns-resolver.ts';
import { netSmtpTransport } from './smtp-transport.ts';

/** The options both runners share (a subset of CheckOptions, all of ShardOptions). */
export type StageOptions = Pick<
  ShardOptions,
  | 'offline'
  | 'dnsServer'
  | 'dnsTimeoutMs'
  | 'dnsTries'
  | 'concurrency'
  | 'smtpProbe'
  | 'helo'
  | 'mailFrom'
  | 'smtpPort'
  | 'allowPrivateMx'
  | 'greylistRetries'
  | 'greylistDelayMs'
  | 'greylistMaxMs'
  | 'smtpTimeoutMs'
>;

/** The stage options out of a larger options object (the shards get exactly these). */
export function stageOptionsOf(o: StageOptions): StageOptions {
  return {
    offline: o.offline,
    dnsServer: o.dnsServer,
    dnsTimeoutMs: o.dnsTimeoutMs,
    dnsTries: o.dnsTries,
    concurrency: o.concurrency,
    smtpProbe: o.smtpProbe,
    helo: o.helo,
    mailFrom: o.mailFrom,
    smtpPort: o.smtpPort,
    allowPrivateMx: o.allowPrivateMx,
    greylistRetries: o.greylistRetries,
    greylistDelayMs: o.greylistDelayMs,
    greylistMaxMs: o.greylistMaxMs,
    smtpTimeoutMs: o.smtpTimeoutMs,
  };
}

/** With --smtp-probe: refuses a fake or unqualified HELO name and a MAIL FROM at a big provider's domain (local and --in-cluster alike). */
export function validateProbeIdentity(
  o: Pick<StageOptions, 'smtpProbe' | 'helo' | 'mailFrom'>,
): void {
  if (!o.smtpProbe) return;
  const helo = o.helo ?? '';
  const hp = heloProblem(helo);
  if (hp)
    throw evError('EV_ERR_INVALID_OPTION', `--helo "${helo}" ${hp}`, {
      hint: 'pass --helo with the fully-qualified name of the probing host (its PTR record), e.g. --helo probe.mail.example.net',
    });
  const mp = mailFromProblem(o.mailFrom);
  if (mp)
    throw evError('EV_ERR_INVALID_OPTION', `--mail-from "${o.mailFrom}" ${mp}`, {
      hint: 'use an address at a domain you control, or --mail-from "" for the null sender',
    });
}

export interface StageDeps {
  clock: Clock;
  random?: () => number;
  /** Per-domain and per-mail-provider permits (local KeyedLimiters, or held in Redis). */
  limiters?: () => { domain: PermitSource; provider: PermitSource };
  /** Wraps the resolver (the shards share answers through Redis). */
  shareResolver?: (resolver: DnsResolver) => DnsResolver;
  /** Catch-all answers shared with other processes (the shards, through Redis). */
  catchAllShare?: CatchAllShare;
  /** Test seams. */
  resolver?: DnsResolver;
  smtpTransport?: SmtpTransport;
}

export interface BuiltStages {
  stages: NetworkStages;
  /** The resolver the DNS stage uses (for the --dns-server precheck), unless offline. */
  resolver?: DnsResolver;
  /** The transport the SMTP stage uses (for the port-25 precheck), when probing. */
  transport?: SmtpTransport;
}

export function buildNetworkStages(o: StageOptions, d: StageDeps): BuiltStages {
  const stages: NetworkStages = { allowPrivateMx: o.allowPrivateMx };
  if (o.offline) return { stages };
  const own =
    d.resolver ??
    createDnsResolver({ server: o.dnsServer, timeoutMs: o.dnsTimeoutMs, tries: o.dnsTries });
  const resolver = d.shareResolver ? d.shareResolver(own) : own;
  stages.dns = new DnsChecker({
    resolver,
    clock: d.clock,
    timeoutMs: o.dnsTimeoutMs * (o.dnsTries + 1) + 1000,
    concurrency: Math.min(256, Math.max(16, o.concurrency)),
  });
  if (!o.smtpProbe) return { stages, resolver };
  if (!d.limiters) throw new Error('buildNetworkStages: --smtp-probe needs limiters');
  const transport =
    d.smtpTransport ??
    netSmtpTransport({ connectTimeoutMs: o.smtpTimeoutMs, commandTimeoutMs: o.smtpTimeoutMs });
  const limiters = d.limiters();
  stages.smtp = new SmtpStage({
    transport,
    clock: d.clock,
    random: d.random ?? (() => randomInt(0, 2 ** 32) / 2 ** 32),
    helo: o.helo ?? '',
    mailFrom: o.mailFrom,
    port: o.smtpPort,
    allowPrivate: o.allowPrivateMx,
    domainLimiter: limiters.domain,
    providerLimiter: limiters.provider,
    greylistAttempts: o.greylistRetries + 1,
    greylistBaseMs: o.greylistDelayMs,
    greylistMaxMs: o.greylistMaxMs,
    connectAttempts: 2,
    connectBaseMs: Math.min(5000, o.greylistDelayMs),
    ...(d.catchAllShare ? { catchAllShare: d.catchAllShare } : {}),
  });
  return { stages, resolver, transport };
}
