/**
 * DNS answers shared by every shard of a run: a resolver that asks Redis
 * first and stores what the real resolver answered (and "no such domain",
 * which is as much an answer), so a domain that appears on all shards is
 * looked up about once per run instead of once per shard. Timeouts and
 * server failures are not stored: the next asker tries again.
 */
import type { Redis } from 'ioredis';
import type { DnsResolver } from '../address/dns.ts';
import { DNS_PREFIX, DNS_SHARE_TTL_S } from './protocol.ts';
import { errorCode, errorMessage } from '../guards.ts';

/** Error codes that are answers from the zone (kept), not failures to get one. */
const ANSWER_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'NODATA']);
/** Names longer than a DNS name can be are not stored (never a real answer). */
const MAX_NAME_CHARS = 255;

type Stored<T> = { v: T } | { e: string; m: string };

export function sharedResolver(inner: DnsResolver, redis: Redis): DnsResolver {
  async function shared<T>(kind: string, name: string, ask: () => Promise<T>): Promise<T> {
    if (name.length > MAX_NAME_CHARS) return ask();
    const key = `${DNS_PREFIX}${kind}:${name.toLowerCase()}`;
    const hit = await redis.get(key).catch(() => null);
    if (hit !== null) {
      const s = JSON.parse(hit) as Stored<T>;
      if ('v' in s) return s.v;
      throw Object.assign(new Error(s.m), { code: s.e });
    }
    let stored: Stored<T>;
    try {
      stored = { v: await ask() };
    } catch (err) {
      const code = errorCode(err);
      if (code === undefined || !ANSWER_CODES.has(code)) throw err;
      stored = { e: code, m: errorMessage(err) };
    }
    await redis.set(key, JSON.stringify(stored), 'EX', DNS_SHARE_TTL_S).catch(() => {});
    if ('v' in stored) return stored.v;
    throw Object.assign(new Error(stored.m), { code: stored.e });
  }
  return {
    resolveMx: (name) => shared('mx', name, () => inner.resolveMx(name)),
    resolve4: (name) => shared('a', name, () => inner.resolve4(name)),
    resolve6: (name) => shared('aaaa', name, () => inner.resolve6(name)),
  };
}
