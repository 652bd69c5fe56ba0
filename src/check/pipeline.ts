/**
 * The per-address pipeline: a function of (address, shared services). It
 * holds no per-run state of its own, so the same function runs in the local
 * engine and in a cluster shard that claims work from Redis.
 *
 *   checkOffline  syntax + lists, synchronous, no I/O
 *   checkNetwork  DNS, then SMTP probe and/or HTTP provider, under the limits
 */

import { diagnose, type Diagnosis, type SyntaxCategory } from '../address/syntax.ts';
import type { DomainListFlags, Lists } from '../address/lists.ts';
import type { DnsChecker } from '../address/dns.ts';
import { verdictOf, type ReasonCode } from './reasons.ts';
import type { CheckResult, DnsDetails, ListDetails, SyntaxDetails } from './result.ts';
import type { SmtpStage } from './smtp-stage.ts';
import type { ProviderStage } from './provider-stage.ts';

/** Domains whose list flags are cached; FIFO eviction beyond (the typo search is the costly part). */
export const MAX_DOMAIN_FLAG_CACHE = 200_000;

/** List details per domain, with and without the role flag: shared, frozen objects. */
export interface DomainEntry {
  flags: DomainListFlags;
  role: ListDetails;
  person: ListDetails;
}

/**
 * A copy of `s` that does not keep a larger string alive: V8 slices share
 * their parent's storage, and cache keys sliced from a 1 MiB input chunk
 * would pin every chunk.
 */
function detach(s: string): string {
  return s.length < 13 ? s : s.split('').join('');
}

/** Per-domain list flags, cached: most lists repeat a few domains millions of times. */
export class DomainFlagsCache {
  private readonly lists: Lists;
  private readonly map = new Map<string, DomainEntry>();

  constructor(lists: Lists) {
    this.lists = lists;
  }

  get(domain: string): DomainEntry {
    let e = this.map.get(domain);
    if (e === undefined) {
      const f = this.lists.domain(domain);
      e = {
        flags: f,
        role: Object.freeze({
          disposable: f.disposable,
          role: true,
          free: f.free,
          suggestion: f.suggestion,
        }),
        person: Object.freeze({
          disposable: f.disposable,
          role: false,
          free: f.free,
          suggestion: f.suggestion,
        }),
      };
      if (this.map.size >= MAX_DOMAIN_FLAG_CACHE) this.map.delete(this.map.keys().next().value!);
      this.map.set(detach(domain), e);
    }
    return e;
  }
}

const syntaxShared = new Map<string, SyntaxDetails[]>();

/** Shared, frozen syntax details (one per diagnosis and flag combination). */
function syntaxDetails(
  diagnosis: Diagnosis,
  category: SyntaxCategory,
  smtputf8: boolean,
  idn: boolean,
  literal: boolean,
): SyntaxDetails {
  let row = syntaxShared.get(diagnosis);
  if (row === undefined) {
    row = new Array<SyntaxDetails>(8);
    syntaxShared.set(diagnosis, row);
  }
  const k = (smtputf8 ? 1 : 0) | (idn ? 2 : 0) | (literal ? 4 : 0);
  let d = row[k];
  if (d === undefined) {
    d = Object.freeze({ category, diagnosis, smtputf8, idn, literal });
    row[k] = d;
  }
  return d;
}

export interface OfflineContext {
  lists: Lists;
  domains: DomainFlagsCache;
}

export function createOfflineContext(lists: Lists): OfflineContext {
  return { lists, domains: new DomainFlagsCache(lists) };
}

const LITERAL_ROLE: ListDetails = Object.freeze({
  disposable: false,
  role: true,
  free: false,
  suggestion: null,
});
const LITERAL_PERSON: ListDetails = Object.freeze({
  disposable: false,
  role: false,
  free: false,
  suggestion: null,
});

/** The de-duplication key of an address: what `checkOffline` puts in `normalized`. */
export function normalizedOf(address: string): string {
  const s = diagnose(address);
  return s.category === 'invalid' ? address : `${s.local}@${s.domain}`;
}

/** The de-duplication key of a result from {@link checkOffline}: equals `normalizedOf(result.address)`. */
export function dedupeKeyOf(r: CheckResult): string {
  return r.checks.syntax.category === 'invalid' ? r.address : r.normalized;
}

/** Syntax and list checks of one address (already trimmed). Pure and synchronous. */
export function checkOffline(address: string, index: number, ctx: OfflineContext): CheckResult {
  const s = diagnose(address);
  const reasons: ReasonCode[] = [];
  const syntax = syntaxDetails(s.diagnosis, s.category, s.smtputf8, s.idn, s.literal);
  if (s.category === 'invalid') {
    reasons.push('syntax_invalid');
    // An invalid address has no envelope form: `normalized` stays empty, so it
    // is always something an SMTP command could carry (see envelope.ts).
    return { address, normalized: '', verdict: 'invalid', reasons, index, checks: { syntax } };
  }
  if (s.category === 'unusual') reasons.push('syntax_unusual');
  else if (s.category === 'deprecated') reasons.push('syntax_deprecated');
  if (s.smtputf8) reasons.push('smtputf8_required');
  if (s.idn) reasons.push('idn_domain');
  const role = ctx.lists.isRole(s.local);
  let lists: ListDetails;
  if (s.literal) {
    lists = role ? LITERAL_ROLE : LITERAL_PERSON;
  } else {
    const e = ctx.domains.get(s.domain);
    const f = e.flags;
    lists = role ? e.role : e.person;
    if (f.disposable) reasons.push('disposable');
    if (f.free) reasons.push('free_provider');
    if (f.suggestion !== null) reasons.push('typo_suggestion');
  }
  if (role) reasons.push('role_account');
  return {
    address,
    // Most addresses are already in normal form: reuse the string (no allocation, hash computed once).
    normalized:
      s.domain === s.domainInput && s.local.length + s.domain.length + 1 === address.length
        ? address
        : `${s.local}@${s.domain}`,
    verdict: verdictOf(reasons),
    reasons,
    index,
    checks: { syntax, lists },
  };
}

/** The shared network services; any may be absent (e.g. `--offline`). */
export interface NetworkStages {
  dns?: DnsChecker;
  smtp?: SmtpStage;
  provider?: ProviderStage;
  /** MX hosts on private/loopback addresses are expected (internal mail, tests): no `mx_private` reason. */
  allowPrivateMx?: boolean;
}

/** True when `r` still has network checks to run. */
export function needsNetwork(r: CheckResult, stages: NetworkStages): boolean {
  return (
    r.checks.syntax.category !== 'invalid' &&
    (stages.dns !== undefined || stages.provider !== undefined)
  );
}

/** Domain part of a normalised address. */
export function domainOf(normalized: string): string {
  return normalized.slice(normalized.lastIndexOf('@') + 1);
}

/**
 * DNS, then SMTP probe and provider, for an address that passed syntax.
 * Mutates and returns `r`. Never rejects for network reasons: those become
 * `unknown` reasons.
 */
export async function checkNetwork(
  r: CheckResult,
  stages: NetworkStages,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const domain = domainOf(r.normalized);
  let deliverable = true;
  if (stages.dns && !r.checks.syntax.literal) {
    const d = await stages.dns.lookup(domain);
    const details: DnsDetails = { status: d.status, implicitMx: d.implicitMx, mx: d.mx };
    if (d.errorCode !== undefined) details.errorCode = d.errorCode;
    r.checks.dns = details;
    const reason = DNS_REASON[d.status];
    if (reason) r.reasons.push(reason);
    if (d.implicitMx) r.reasons.push('implicit_mx');
    // A domain that publishes MX records receives mail: not a typo to "correct".
    if (d.status === 'ok' && !d.implicitMx && r.checks.lists?.suggestion) withoutSuggestion(r);
    if (!stages.allowPrivateMx && d.mx.some((m) => m.private)) r.reasons.push('mx_private');
    deliverable = d.status === 'ok';
    if (deliverable && stages.smtp) {
      const smtp = await stages.smtp.probe(r.normalized, domain, d, signal);
      r.checks.smtp = smtp.details;
      for (const x of smtp.reasons) r.reasons.push(x);
    }
  }
  if (deliverable && stages.provider) {
    const p = await stages.provider.verify(r.address, r.normalized, signal);
    r.checks.provider = p.details;
    if (p.reason) r.reasons.push(p.reason);
  }
  r.verdict = verdictOf(r.reasons);
  return r;
}

function withoutSuggestion(r: CheckResult): void {
  r.checks.lists = { ...r.checks.lists!, suggestion: null };
  const k = r.reasons.indexOf('typo_suggestion');
  if (k !== -1) r.reasons.splice(k, 1);
}

const DNS_REASON: Partial<Record<string, ReasonCode>> = {
  not_found: 'domain_not_found',
  null_mx: 'null_mx',
  no_mail: 'no_mail_server',
  mx_unresolvable: 'mx_unresolvable',
  timeout: 'dns_timeout',
  error: 'dns_error',
};

/** Offline then network checks of one address: the unit a shard runs. */
export async function checkAddress(
  address: string,
  index: number,
  offline: OfflineContext,
  stages: NetworkStages,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const r = checkOffline(address, index, offline);
  return needsNetwork(r, stages) ? checkNetwork(r, stages, signal) : r;
}
