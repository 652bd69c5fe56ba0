/**
 * DNS outcomes shared by every shard of a run, a domain at a time: what a
 * shard's DnsChecker concluded for a domain (its MX hosts and their
 * addresses, "no such domain", a null MX...) is stored in Redis, and the
 * other shards use it as if they had looked it up themselves, so a domain
 * spread over the shards is looked up about once per run instead of once per
 * shard. Timeouts and server failures are not stored: the next asker tries
 * again (as the local DnsChecker forgets them once).
 *
 * The Redis work is per claim, not per address: before a shard checks the
 * addresses it claimed, one MGET asks for every domain among them that it
 * does not know yet ({@link SharedDns.prefetch}); outcomes it looks up itself
 * are written together, one pipeline per event-loop turn. A domain costs
 * one MGET share and one SET, where asking per name (the MX, then each MX
 * host's addresses) cost two GETs and two SETs, each waiting for the one
 * before.
 */
import type { Redis } from 'ioredis';
import type { DnsChecker, DomainDns } from '../address/dns.ts';
import { DNS_PREFIX, DNS_SHARE_TTL_S } from './protocol.ts';

/** Longest domain stored (a DNS name is at most 253 characters; longer is never an answer). */
export const MAX_NAME_CHARS = 255;
/** Domains asked for per MGET at most (bounds one command's size; a claim holds a few hundred addresses). */
export const MAX_PREFETCH = 1_000;
/** An outcome read back larger than this is ignored (looked up again): bounds what a corrupt key costs. */
export const MAX_STORED_CHARS = 16 * 1024;

/** Outcomes that are answers from the zone (shared); timeouts and server failures are not. */
const SHARED: ReadonlySet<string> = new Set<DomainDns['status']>([
  'ok',
  'null_mx',
  'no_mail',
  'mx_unresolvable',
  'not_found',
]);

const keyOf = (domain: string): string => `${DNS_PREFIX}d:${domain}`;

export class SharedDns {
  private readonly redis: Redis;
  private checker: DnsChecker | null = null;
  private pending = new Map<string, string>();
  private flushing = false;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  /** The shard's DnsChecker (built with {@link SharedDns.onResolved} as its hook). */
  attach(checker: DnsChecker): void {
    this.checker = checker;
  }

  /** DnsChecker's `onResolved`: queues an outcome looked up here for the other shards. */
  readonly onResolved = (domain: string, result: DomainDns): void => {
    if (!SHARED.has(result.status) || domain.length > MAX_NAME_CHARS) return;
    this.pending.set(keyOf(domain), JSON.stringify(result));
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  };

  /**
   * Seeds the shard's DnsChecker with what other shards already looked up
   * for these domains (one MGET for those it does not know). Never rejects:
   * without Redis the domains are simply looked up here.
   */
  async prefetch(domains: Iterable<string>): Promise<void> {
    const checker = this.checker;
    if (!checker) return;
    const wanted: string[] = [];
    const seen = new Set<string>();
    for (const d of domains) {
      if (seen.has(d) || d.length > MAX_NAME_CHARS || checker.has(d)) continue;
      seen.add(d);
      wanted.push(d);
    }
    for (let k = 0; k < wanted.length; k += MAX_PREFETCH) {
      const chunk = wanted.slice(k, k + MAX_PREFETCH);
      const got = await this.redis.mget(chunk.map(keyOf)).catch(() => null);
      if (!got) return;
      got.forEach((v, i) => {
        const r = v !== null && v.length <= MAX_STORED_CHARS ? parse(v) : null;
        if (r) checker.seed(chunk[i], r);
      });
    }
  }

  /** Writes the queued outcomes: one pipeline (a SET with its TTL per domain), one round trip. */
  private flush(): void {
    this.flushing = false;
    if (this.pending.size === 0) return;
    const p = this.redis.pipeline();
    for (const [key, value] of this.pending) p.set(key, value, 'EX', DNS_SHARE_TTL_S);
    this.pending = new Map();
    // Best effort: an outcome not shared is looked up again by the shard that needs it.
    p.exec().catch(() => {});
  }
}

/** A stored outcome, or null when it is not one (then the domain is looked up again). */
function parse(v: string): DomainDns | null {
  try {
    const r: unknown = JSON.parse(v);
    return isSharedOutcome(r) ? r : null;
  } catch {
    return null; // not JSON: looked up again
  }
}

function isSharedOutcome(r: unknown): r is DomainDns {
  return (
    typeof r === 'object' &&
    r !== null &&
    'status' in r &&
    typeof r.status === 'string' &&
    SHARED.has(r.status) &&
    'implicitMx' in r &&
    typeof r.implicitMx === 'boolean' &&
    'mx' in r &&
    Array.isArray(r.mx)
  );
}
