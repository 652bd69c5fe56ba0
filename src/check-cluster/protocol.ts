/**
 * What `check --in-cluster` keeps in Redis, shared by the CLI (through the
 * port-forward tunnel) and the shards of the Indexed Job (in the cluster).
 *
 *   ev:run   hash    the run: id (a new id means Redis lost everything), total
 *                    (-1 until the input ended), pushed (highest index queued),
 *                    created, options (JSON), input paths and output (for --attach)
 *   ev:q     stream  work: one entry per batch of addresses (gzipped JSON); consumer group "shards"
 *                    (XREADGROUP claims, XAUTOCLAIM takes over a dead shard's
 *                    entries after the lease time; done entries are XACKed and XDELed)
 *   ev:r     hash    results by batch ("FIRST-LAST" indexes -> gzipped JSON; HSETNX: the
 *                    first one wins; the CLI also keeps the first per index)
 *   ev:o     stream  which batches got results, in arrival order (the CLI's cursor)
 *   ev:cp    string  the CLI's last checkpoint: written up to index, output bytes, counts
 *   ev:lim:* limits  token buckets (hash) and concurrency slots (sorted set of holders
 *                    scored by lease expiry, so a dead holder's slot frees itself)
 *   ev:dns:* strings DNS answers shared by the shards (with a TTL)
 *
 * Why streams and not a list (BRPOPLPUSH): a consumer group remembers which
 * shard holds which entry and for how long (XPENDING), which is exactly a lease;
 * XAUTOCLAIM hands an entry held too long to a live shard without a reaper of
 * ours; a restarted Redis reloads the group from its append-only file.
 */
import type { CheckResult } from '../check/result.ts';
import type { Counts } from '../check/engine.ts';

/** Port Redis listens on in its pod (the Service port is the same). */
export const REDIS_PORT = 6379;

export const RUN_KEY = 'ev:run';
export const QUEUE_KEY = 'ev:q';
export const GROUP = 'shards';
export const RESULTS_KEY = 'ev:r';
export const ARRIVALS_KEY = 'ev:o';
export const CHECKPOINT_KEY = 'ev:cp';
export const LIMIT_PREFIX = 'ev:lim:';
export const DNS_PREFIX = 'ev:dns:';

/** Addresses queued without a result at most (the CLI stops reading input beyond): bounds Redis's memory whatever the list length. */
export const MAX_WAITING = 50_000;
/** Addresses per queue entry offline (cheap: big batches make the hop fast). */
export const OFFLINE_BATCH = 1_000;
/** Addresses per queue entry with network checks: a dead shard's lease holds little, and work spreads evenly. */
export const NETWORK_BATCH = 16;
/** Queue entries the CLI sends per round trip (pipelined, one command each: a dropped tunnel re-sends only what was not answered). */
export const PUSH_ENTRIES = 16;
/** Arrival entries (batches of results) the CLI reads per round trip. */
export const READ_ARRIVALS = 16;
/** An entry not renewed for this long is taken over by another shard (the holder is presumed dead). */
export const DEFAULT_LEASE_TTL_MS = 15_000;
/** Shards renew their leases (and their limit slots) this often: three tries before a lease expires. */
export const HEARTBEAT_MS = 3_000;
/** Longest a blocking read waits before looking again (also how fast a shard notices the end). */
export const BLOCK_MS = 1_000;
/** DNS answers are shared for this long (the run is short next to real TTLs). */
export const DNS_SHARE_TTL_S = 3_600;
/** A shard that cannot reach Redis for this long exits non-zero; the Job restarts it (and it looks the Service up again). */
export const SHARD_UNREACHABLE_MS = 20_000;
/**
 * The exit code of a shard that gave up on an unreachable Redis (EX_TEMPFAIL): the CLI does not
 * count such restarts as the shards crashing, since they last only until Redis is back.
 */
export const SHARD_EXIT_REDIS_UNREACHABLE = 75;
/** Redis memory cap (maxmemory, noeviction): a write past it fails loudly instead of evicting work. */
export const REDIS_MAXMEMORY_MB = 384;

/** One address to check: its 1-based input record index and the raw (trimmed) value. */
export interface WorkItem {
  /** Index among the input's non-empty records (the `index` of the result). */
  i: number;
  /** The address as read. */
  a: string;
}

/** The run's description in `ev:run`. */
export interface RunMeta {
  id: string;
  created: number;
  /** -1 until the CLI read all input. */
  total: number;
  pushed: number;
  /** Absolute input paths ('-' for stdin) and output path (null: stdout), for --attach. */
  paths: string[];
  out: string | null;
  format: string;
  column: string | null;
  /** The options that change results, as a stable string (an --attach with others is refused). */
  options: string;
}

/** The CLI's checkpoint: output written and flushed up to `index`. */
export interface ClusterCheckpoint {
  runId: string;
  index: number;
  outputBytes: number;
  counts: Counts;
  /** Arrival stream id read up to (entries before it were written). */
  cursor: string;
}

export type { CheckResult };

/** Options the shards run with (the Job passes them as JSON in EV_CHECK_OPTIONS). */
export interface ShardOptions {
  offline: boolean;
  dnsServer?: string;
  dnsTimeoutMs: number;
  dnsTries: number;
  /** Network checks in flight per shard at most (the global limit is held in Redis). */
  concurrency: number;
  smtpProbe: boolean;
  helo?: string;
  mailFrom: string;
  smtpPort: number;
  allowPrivateMx: boolean;
  greylistRetries: number;
  greylistDelayMs: number;
  greylistMaxMs: number;
  smtpTimeoutMs: number;
}

/** Limits held in Redis for all shards together. */
export interface ClusterLimits {
  /** Network checks in flight across all shards. */
  concurrency: number;
  /** Network checks started per second across all shards, or null. */
  rate: number | null;
  burst: number;
  domainConcurrency: number;
  domainRate: number;
  mxConcurrency: number;
  mxRate: number;
}
