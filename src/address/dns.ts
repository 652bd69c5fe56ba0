/**
 * Mail-routing DNS for a domain: MX, then implicit MX (A/AAAA, RFC 5321
 * §5.1), null MX (RFC 7505), and the addresses of the MX hosts so hosts on
 * loopback or private ranges are flagged. Lookups are cached per domain and
 * per MX host, and concurrent lookups of the same name share one query.
 *
 * The resolver is injected (node:dns/promises `Resolver` in production), and
 * so is the clock used for the per-lookup deadline.
 */

import type { Clock } from '../clock.ts';
import { Semaphore } from '../limits/semaphore.ts';
import { errorCode } from '../guards.ts';

/** The part of node:dns/promises `Resolver` we use. */
export interface DnsResolver {
  resolveMx(name: string): Promise<Array<{ exchange: string; priority: number }>>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/** Domains (and MX hosts) whose answers are kept; FIFO eviction beyond. */
export const MAX_DNS_CACHE_ENTRIES = 100_000;
/** MX hosts whose addresses are resolved per domain: the best few are what a sender tries. */
export const MAX_MX_HOSTS_RESOLVED = 3;
/** MX records kept per domain in results: bounds output size against hostile zones. */
export const MAX_MX_RECORDS = 10;
/** Addresses kept per MX host. */
export const MAX_ADDRESSES_PER_HOST = 8;

export type DnsStatus =
  /** Mail can be routed: MX (or implicit MX) hosts with addresses. */
  | 'ok'
  /** RFC 7505 null MX: the domain accepts no mail. */
  | 'null_mx'
  /** The domain exists but has no MX and no A/AAAA. */
  | 'no_mail'
  /** The MX hosts do not resolve to any address. */
  | 'mx_unresolvable'
  /** NXDOMAIN. */
  | 'not_found'
  /** No answer before the deadline. */
  | 'timeout'
  /** SERVFAIL, REFUSED, or another failure that says nothing about the domain. */
  | 'error';

export interface MxHost {
  exchange: string;
  priority: number;
  /** IPv4 and IPv6 addresses (possibly empty if they did not resolve). */
  addresses: string[];
  /** Some address is loopback, private, link-local or otherwise not routable. */
  private: boolean;
}

export interface DomainDns {
  status: DnsStatus;
  /** True when no MX exists and the domain's own A/AAAA serve as its MX. */
  implicitMx: boolean;
  /** Sorted by priority. */
  mx: MxHost[];
  /** The resolver error code behind `timeout`/`error`/`not_found`. */
  errorCode?: string;
}

export interface DnsCheckerOptions {
  resolver: DnsResolver;
  clock: Clock;
  /** Deadline for one name (all tries of the resolver), in ms. */
  timeoutMs?: number;
  /** DNS queries in flight at once. */
  concurrency?: number;
  /**
   * Called with each domain's outcome looked up here (not with seeded ones):
   * the shards of `check --in-cluster` share them through Redis.
   */
  onResolved?: (domain: string, result: DomainDns) => void;
}

interface HostAddrs {
  addresses: string[];
  missing: boolean;
  timeout: boolean;
}

const TIMEOUT = Symbol('timeout');

/** Caches by domain, de-duplicates in-flight lookups, bounds concurrency. */
export class DnsChecker {
  private readonly resolver: DnsResolver;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly sem: Semaphore;
  private readonly domains = new Map<string, Promise<DomainDns>>();
  private readonly hosts = new Map<string, Promise<HostAddrs>>();
  private readonly onResolved?: (domain: string, result: DomainDns) => void;
  /** Queries sent to the resolver (for stats and tests). */
  queries = 0;

  constructor(o: DnsCheckerOptions) {
    this.resolver = o.resolver;
    this.clock = o.clock;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.sem = new Semaphore(o.concurrency ?? 64);
    this.onResolved = o.onResolved;
  }

  /** True when the domain's outcome is known here (or being looked up). */
  has(domain: string): boolean {
    return this.domains.has(domain);
  }

  /** An outcome another process looked up (a shard's, through Redis): used as if looked up here. */
  seed(domain: string, result: DomainDns): void {
    if (!this.domains.has(domain)) remember(this.domains, domain, Promise.resolve(result));
  }

  /** Mail routing of a lower-case ASCII domain. Never rejects. */
  lookup(domain: string): Promise<DomainDns> {
    let p = this.domains.get(domain);
    if (!p) {
      p = this.resolveDomain(domain);
      remember(this.domains, domain, p);
      // A timeout or server failure may be transient: forget it once, so the
      // next address at the domain asks again; a second failure is kept.
      void p.then((r) => {
        this.onResolved?.(domain, r);
        if ((r.status === 'timeout' || r.status === 'error') && !this.failedOnce.has(domain)) {
          if (this.failedOnce.size >= MAX_DNS_CACHE_ENTRIES) this.failedOnce.clear();
          this.failedOnce.add(domain);
          this.domains.delete(domain);
        }
      });
    }
    return p;
  }

  private readonly failedOnce = new Set<string>();

  get cachedDomains(): number {
    return this.domains.size;
  }

  private async query<T>(fn: () => Promise<T>): Promise<T | typeof TIMEOUT> {
    const release = await this.sem.acquire();
    this.queries++;
    // A plain timer, not sleep() with an AbortController: aborting builds a DOMException
    // per query, which was a tenth of a shard's CPU at thousands of queries a second.
    let timer: unknown;
    try {
      return await Promise.race<T | typeof TIMEOUT>([
        fn(),
        new Promise<typeof TIMEOUT>((resolve) => {
          timer = this.clock.setTimeout(() => resolve(TIMEOUT), this.timeoutMs);
        }),
      ]);
    } finally {
      this.clock.clearTimeout(timer);
      release();
    }
  }

  private async resolveDomain(domain: string): Promise<DomainDns> {
    let records: Array<{ exchange: string; priority: number }>;
    try {
      const r = await this.query(() => this.resolver.resolveMx(domain));
      if (r === TIMEOUT)
        return { status: 'timeout', implicitMx: false, mx: [], errorCode: 'ETIMEOUT' };
      records = r;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENODATA') return this.implicit(domain);
      return failure(code);
    }
    // Node returns {exchange: ''} for `MX 0 .`. A null MX must stand alone
    // (RFC 7505 §3); mixed with real hosts it is ignored.
    const real = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
    if (real.length === 0) {
      if (records.length > 0) return { status: 'null_mx', implicitMx: false, mx: [] };
      return this.implicit(domain);
    }
    real.sort((a, b) => a.priority - b.priority || (a.exchange < b.exchange ? -1 : 1));
    const kept = real.slice(0, MAX_MX_RECORDS);
    const mx: MxHost[] = kept.map((r) => ({
      exchange: stripDot(r.exchange.toLowerCase()),
      priority: r.priority,
      addresses: [],
      private: false,
    }));
    const resolved = await Promise.all(
      mx.slice(0, MAX_MX_HOSTS_RESOLVED).map((h) => this.hostAddresses(h.exchange)),
    );
    let anyAddr = false;
    let anyTimeout = false;
    resolved.forEach((r, i) => {
      mx[i].addresses = r.addresses;
      mx[i].private = r.addresses.some(isNonPublicIp);
      if (r.addresses.length > 0) anyAddr = true;
      if (r.timeout) anyTimeout = true;
    });
    if (!anyAddr)
      return anyTimeout
        ? { status: 'timeout', implicitMx: false, mx, errorCode: 'ETIMEOUT' }
        : { status: 'mx_unresolvable', implicitMx: false, mx };
    return { status: 'ok', implicitMx: false, mx };
  }

  private async implicit(domain: string): Promise<DomainDns> {
    const a = await this.hostAddresses(domain);
    if (a.addresses.length > 0) {
      return {
        status: 'ok',
        implicitMx: true,
        mx: [
          {
            exchange: domain,
            priority: 0,
            addresses: a.addresses,
            private: a.addresses.some(isNonPublicIp),
          },
        ],
      };
    }
    if (a.timeout) return { status: 'timeout', implicitMx: false, mx: [], errorCode: 'ETIMEOUT' };
    return { status: a.missing ? 'no_mail' : 'error', implicitMx: false, mx: [] };
  }

  /** A and AAAA of a host, cached per host (MX hosts are shared by many domains). */
  private hostAddresses(host: string): Promise<HostAddrs> {
    let p = this.hosts.get(host);
    if (!p) {
      p = (async () => {
        // AAAA only when there is no A: one query per MX host in the common
        // case, which is what keeps 20,000 domains a few seconds of DNS.
        const v4 = await this.addrs(() => this.resolver.resolve4(host));
        const v6 =
          v4.list.length > 0
            ? { list: [] as string[], missing: false, timeout: false }
            : await this.addrs(() => this.resolver.resolve6(host));
        const addresses = [...v4.list, ...v6.list].slice(0, MAX_ADDRESSES_PER_HOST);
        return { addresses, missing: v4.missing && v6.missing, timeout: v4.timeout || v6.timeout };
      })();
      remember(this.hosts, host, p);
    }
    return p;
  }

  private async addrs(
    fn: () => Promise<string[]>,
  ): Promise<{ list: string[]; missing: boolean; timeout: boolean }> {
    try {
      const r = await this.query(fn);
      if (r === TIMEOUT) return { list: [], missing: false, timeout: true };
      return { list: r, missing: r.length === 0, timeout: false };
    } catch (err) {
      const code = errCode(err);
      return {
        list: [],
        missing: code === 'ENODATA' || code === 'ENOTFOUND',
        timeout: code === 'ETIMEOUT',
      };
    }
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_DNS_CACHE_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

function failure(code: string): DomainDns {
  if (code === 'ENOTFOUND')
    return { status: 'not_found', implicitMx: false, mx: [], errorCode: code };
  if (code === 'ETIMEOUT') return { status: 'timeout', implicitMx: false, mx: [], errorCode: code };
  return { status: 'error', implicitMx: false, mx: [], errorCode: code };
}

function errCode(err: unknown): string {
  return errorCode(err) ?? 'EUNKNOWN';
}

function stripDot(h: string): string {
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * True for addresses no public MX should have: loopback, RFC 1918 private,
 * CGNAT, link-local, unspecified, benchmarking, multicast/reserved, IPv6 ULA
 * and link-local, and IPv4-mapped forms of those.
 */
export function isNonPublicIp(ip: string): boolean {
  if (ip.includes(':')) {
    const l = ip.toLowerCase();
    if (l === '::1' || l === '::') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(l);
    if (mapped) return isNonPublicIp(mapped[1]);
    const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(l);
    if (mappedHex) {
      const [hi, lo] = [parseInt(mappedHex[1], 16), parseInt(mappedHex[2], 16)];
      return isNonPublicIp(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    const first = parseInt(l.split(':')[0] || '0', 16);
    if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7
    if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10
    if ((first & 0xff00) === 0xff00) return true; // multicast
    return false;
  }
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return true;
  const [a, b] = p;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19))
  );
}
