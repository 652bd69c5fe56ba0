/**
 * Limits derived from `check` options, the same for a local run and for the
 * shards of `check --in-cluster` (which hold them in Redis): the mail
 * providers with a budget of their own (the default burst of a rate is
 * `rateBurst`, src/limits/token-bucket.ts).
 */
import type { KeyLimit } from '../limits/keyed-limiter.ts';
import { rateBurst } from '../limits/token-bucket.ts';

/** Microsoft blocks high-volume probing ("namespace mining"): its default budget is a third of the others'. */
export function mailProviderOverrides(o: {
  mxConcurrency: number;
  mxRate: number;
}): Map<string, KeyLimit> {
  const c = Math.max(1, Math.floor(o.mxConcurrency / 3));
  const r = Math.max(0.1, o.mxRate / 3);
  return new Map([['microsoft', { concurrency: c, rate: r, burst: rateBurst(r) }]]);
}
