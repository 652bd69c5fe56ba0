/**
 * Builds the network stages of the per-address pipeline (DNS, SMTP probe)
 * from options. One function for the local `check` and for the shards of
 * `check --in-cluster`, so both check addresses the same way; only the
 * limiters (local or held in Redis) and the test seams differ.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../src/clock.ts';
import { DnsChecker, type DnsResolver, type DomainDns } from '../src/address/dns.ts';
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
export function stageOptionsOf(options: StageOptions): StageOptions {
  return {
    offline: options.offline,
    dnsServer: options.dnsServer,
    dnsTimeoutMs: options.dnsTimeoutMs,
    dnsTries: options.dnsTries,
    concurrency: options.concurrency,
    smtpProbe: options.smtpProbe,
    helo: options.helo,
    mailFrom: options.mailFrom,
    smtpPort: options.smtpPort,
    allowPrivateMx: options.allowPrivateMx,
    greylistRetries: options.greylistRetries,
    greylistDelayMs: options.greylistDelayMs,
    greylistMaxMs: options.greylistMaxMs,
    smtpTimeoutMs: options.smtpTimeoutMs,
  };
}

/** With --smtp-probe: refuses a fake or unqualified HELO name and a MAIL FROM at a big provider's domain (local and --in-cluster alike). */
export function validateProbeIdentity(
  options: Pick<StageOptions, 'smtpProbe' | 'helo' | 'mailFrom'>,
): void {
  if (!options.smtpProbe) return;
  const helo = options.helo ?? '';
  const hp = heloProblem(helo);
  if (hp)
    throw evError('EV_ERR_INVALID_OPTION', `--helo "${helo}" ${hp}`, {
      hint: 'pass --helo with the fully-qualified name of the probing host (its PTR record), e.g. --helo probe.mail.example.net',
    });
  const mp = mailFromProblem(options.mailFrom);
  if (mp)
    throw evError('EV_ERR_INVALID_OPTION', `--mail-from "${options.mailFrom}" ${mp}`, {
      hint: 'use an address at a domain you control, or --mail-from "" for the null sender',
    });
}

export interface StageDeps {
  clock: Clock;
  random?: () => number;
  /** Per-domain and per-mail-provider permits (local KeyedLimiters, or held in Redis). */
  limiters?: () => { domain: PermitSource; provider: PermitSource };
  /** Called with each domain's DNS outcome looked up here (the shards share them through Redis). */
  onDnsResolved?: (domain: string, result: DomainDns) => void;
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

export function buildNetworkStages(options: StageOptions, deps: StageDeps): BuiltStages {
  const stages: NetworkStages = { allowPrivateMx: options.allowPrivateMx };
  if (options.offline) return { stages };
  const resolver =
    deps.resolver ??
    createDnsResolver({
      server: options.dnsServer,
      timeoutMs: options.dnsTimeoutMs,
      tries: options.dnsTries,
    });
  stages.dns = new DnsChecker({
    resolver,
    clock: deps.clock,
    timeoutMs: options.dnsTimeoutMs * (options.dnsTries + 1) + 1000,
    concurrency: Math.min(256, Math.max(16, options.concurrency)),
    ...(deps.onDnsResolved ? { onResolved: deps.onDnsResolved } : {}),
  });
  if (!options.smtpProbe) return { stages, resolver };
  if (!deps.limiters) throw new Error('buildNetworkStages: --smtp-probe needs limiters');
  const transport =
    deps.smtpTransport ??
    netSmtpTransport({
      connectTimeoutMs: options.smtpTimeoutMs,
      commandTimeoutMs: options.smtpTimeoutMs,
    });
  const limiters = deps.limiters();
  stages.smtp = new SmtpStage({
    transport,
    clock: deps.clock,
    random: deps.random ?? (() => randomInt(0, 2 ** 32) / 2 ** 32),
    helo: options.helo ?? '',
    mailFrom: options.mailFrom,
    port: options.smtpPort,
    allowPrivate: options.allowPrivateMx,
    domainLimiter: limiters.domain,
    providerLimiter: limiters.provider,
    greylistAttempts: options.greylistRetries + 1,
    greylistBaseMs: options.greylistDelayMs,
    greylistMaxMs: options.greylistMaxMs,
    connectAttempts: 2,
    connectBaseMs: Math.min(5000, options.greylistDelayMs),
    ...(deps.catchAllShare ? { catchAllShare: deps.catchAllShare } : {}),
  });
  return { stages, resolver, transport };
}
