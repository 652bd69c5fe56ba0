/**
 * Wire types of `check --in-cluster`: the HTTP API the coordinator pod serves
 * to the CLI (push input, pull results) and to the shards of the Indexed Job
 * (lease work, heartbeat, post results, acquire per-domain/provider permits).
 *
 * Why a pull-based coordinator rather than static sharding (index i takes
 * every N-th address): work moves to whichever shard is free, a dead shard's
 * leases expire and its items go back to the queue, and the coordinator is the
 * one place where global limits can be counted for all shards together.
 */
import type { CheckResult } from '../check/result.ts';

/** Port the coordinator listens on in its pod (Service port is the same). */
export const COORDINATOR_PORT = 8090;

/** Items waiting, leased or with an unread result in the coordinator at most: bounds its memory whatever the list length. */
export const MAX_LIVE_ITEMS = 50_000;
/** Items per push from the CLI: one request of at most ~2.5 MB (addresses are at most 254 octets, JSON adds a few). */
export const MAX_PUSH_ITEMS = 5_000;
/** Items per lease: a shard that dies loses at most this much work in flight. */
export const MAX_LEASE_ITEMS = 500;
/** Results returned per pull. */
export const MAX_PULL_RESULTS = 5_000;
/** Request bodies accepted by the coordinator (push of 5,000 results with DNS details stays well under). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A lease not renewed for this long is given back to the queue (the shard is presumed dead). */
export const DEFAULT_LEASE_TTL_MS = 10_000;
/** Shards renew their leases this often: three tries before a lease expires. */
export const HEARTBEAT_MS = 3_000;
/** Longest a long-poll (lease, pull, push waiting for room, permit) is held open before answering empty. */
export const LONG_POLL_MS = 10_000;

/** One address to check: its 1-based input record index and the raw (trimmed) value. */
export interface WorkItem {
  /** Index among the input's non-empty records (the `index` of the result). */
  i: number;
  /** The address as read. */
  a: string;
  /** True when the address will go to the network (counts against the global limits). */
  n: boolean;
  /** Affinity key (the domain, with --smtp-probe): items with the same key go to the same shard. */
  k?: string;
}

export interface PushRequest { items: WorkItem[] }
export interface PushResponse {
  /** Random id of the coordinator process: a new one means its state (queue, results) was lost. */
  instance: string;
  /** Items newly queued (repeats of an index already pushed are ignored: pushes may be retried). */
  accepted: number;
  /** Highest index the coordinator has: the CLI resumes a failed push after it. */
  highest: number;
}

export interface EndRequest { total: number }

export interface LeaseRequest {
  shard: string;
  max: number;
  /** Leases the shard is still working on; any other lease of this shard is given back. */
  held?: string[];
}
export interface LeaseResponse {
  lease: string | null;
  items: WorkItem[];
  /** True when all input was pushed and every result was taken: the shard may exit. */
  done: boolean;
  ttlMs: number;
}

export interface HeartbeatRequest { shard: string }
export interface HeartbeatResponse { leases: number }

export interface ResultsRequest { shard: string; lease: string; results: CheckResult[] }
export interface ResultsResponse { accepted: number }

export interface PullResponse {
  instance: string;
  results: CheckResult[];
  /** Cursor: pass as `after` to acknowledge these results and get the next. */
  cursor: number;
  /** True when the input ended and every result was delivered. */
  done: boolean;
  stats: CoordinatorStats;
}

export interface PermitRequest { shard: string; scope: 'domain' | 'provider'; key: string }
export interface PermitResponse { permit: string | null }
export interface ReleaseRequest { permit: string }

export interface CoordinatorStats {
  queued: number;
  leased: number;
  outbox: number;
  completed: number;
  /** Leases that expired and were given back. */
  expired: number;
  /** Results that arrived for an index already done (a slow shard after its lease expired). */
  duplicates: number;
  shards: number;
}

/** Options the shards run with (the Job passes them as JSON in EV_CHECK_OPTIONS). */
export interface ShardOptions {
  offline: boolean;
  dnsServer?: string;
  dnsTimeoutMs: number;
  dnsTries: number;
  /** Network checks in flight per shard at most (the global limit is the coordinator's). */
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

/** Limits the coordinator enforces for all shards together. */
export interface CoordinatorLimits {
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
