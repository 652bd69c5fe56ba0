/**
 * Catch-all answers shared by every shard of a run through Redis, so a domain
 * is probed once per run (as in a local run) although its addresses are
 * spread over the shards: the first shard to need it claims the probe
 * (SET NX with an expiry, in case it dies), the others wait for its answer.
 */
import type { Redis } from 'ioredis';
import type { CatchAllShare } from '../check/smtp-stage.ts';
import { LIMIT_PREFIX } from './protocol.ts';

/** A claim not followed by an answer for this long lets another shard probe (the claimer died). */
export const CATCH_ALL_CLAIM_MS = 60_000;
/** Answers are kept this long (the run is shorter). */
export const CATCH_ALL_KEEP_S = 24 * 3600;
/** Domain names longer than DNS allows are not shared. */
const MAX_DOMAIN_CHARS = 255;

const encode = (v: boolean | null): string => (v === null ? 'n' : v ? '1' : '0');
const decode = (s: string | null): boolean | null | undefined =>
  s === null ? undefined : s === 'n' ? null : s === '1';

export function sharedCatchAll(redis: Redis): CatchAllShare {
  const key = (domain: string): string =>
    `${LIMIT_PREFIX}catch-all:${domain.slice(0, MAX_DOMAIN_CHARS)}`;
  return {
    async get(domain) {
      return decode(await redis.get(key(domain)));
    },
    async claim(domain) {
      return (
        (await redis.set(`${key(domain)}:claim`, '1', 'PX', CATCH_ALL_CLAIM_MS, 'NX')) === 'OK'
      );
    },
    async set(domain, answer) {
      await redis.set(key(domain), encode(answer), 'EX', CATCH_ALL_KEEP_S);
    },
  };
}
