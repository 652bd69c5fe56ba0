/**
 * The sink's memory as one budget, so that no one kind of load can exhaust the heap.
 *
 * The pod runs with a 512 MiB limit and `--max-old-space-size=256`; before
 * this budget, in-flight DATA alone could take 512 MiB, every parse job
 * copied the raw message, and 32 parsed detail views (24 MiB of text each)
 * were cached: five 24 MiB messages and their detail views peaked at 1.5 GB.
 *
 * Every large, attacker-sized allocation now draws from a named account of
 * one {@link MemoryBudget}, and the accounts plus a measured baseline fit the
 * limit with headroom ({@link MEMORY_PLAN}; `npm run bench:sink-memory` prints
 * peak RSS against it):
 *
 * | account  | what                                                        |
 * | -------- | ----------------------------------------------------------- |
 * | store    | stored raw mail (`--max-bytes`; fixed, evicts oldest first) |
 * | inflight | DATA being received, counted twice (the chunks, then the one exact-size copy kept) |
 * | parse    | raw bytes handed to the parse worker at once (shared, not copied) |
 * | detail   | parsed detail views kept in the cache                       |
 *
 * A request that does not fit is refused or degraded, never queued without
 * bound: DATA gets 452 (the client retries), a parse waits its turn in a
 * FIFO of message ids, a detail view is served without being cached.
 */

const MiB = 1024 * 1024;

export type BudgetAccount = 'store' | 'inflight' | 'parse' | 'detail';

/**
 * The plan for the default configuration (the pod's, and the local sink's
 * defaults): each account's cap, and what the rest of the process needs.
 */
export const MEMORY_PLAN = Object.freeze({
  /** The pod's memory limit (src/manifests.ts) and the local sink's design target. */
  limit: 512 * MiB,
  /** Node, the code, both threads at rest, 10,000 summaries and the 50,000-event window: measured ~150 MiB. */
  baseline: 160 * MiB,
  /** Stored raw mail by default (SINK_MAX_BYTES in the pod, DEFAULT_MAX_BYTES locally). */
  store: 128 * MiB,
  /** DATA in flight: one 25 MiB message (chunks + its copy) and room for small ones. */
  inflight: 64 * MiB,
  /** Raw handed to the parse worker at once; mailparser's working set is about twice that, inside the worker's heap cap. */
  parse: 32 * MiB,
  /** Parsed detail views cached (each body is cut at MAX_DETAIL_BODY_CHARS). */
  detail: 16 * MiB,
});

/** What the plan leaves unassigned: GC slack, socket buffers, fragmentation. */
export const MEMORY_HEADROOM =
  MEMORY_PLAN.limit -
  MEMORY_PLAN.baseline -
  MEMORY_PLAN.store -
  MEMORY_PLAN.inflight -
  2 * MEMORY_PLAN.parse -
  MEMORY_PLAN.detail;

export interface BudgetSnapshot {
  account: BudgetAccount;
  used: number;
  cap: number;
  refused: number;
}

export class MemoryBudget {
  readonly #caps: Record<BudgetAccount, number>;
  readonly #used: Record<BudgetAccount, number> = { store: 0, inflight: 0, parse: 0, detail: 0 };
  readonly #refused: Record<BudgetAccount, number> = { store: 0, inflight: 0, parse: 0, detail: 0 };
  readonly #onRelease = new Set<(account: BudgetAccount) => void>();

  constructor(caps: Partial<Record<BudgetAccount, number>> = {}) {
    this.#caps = {
      store: caps.store ?? MEMORY_PLAN.store,
      inflight: caps.inflight ?? MEMORY_PLAN.inflight,
      parse: caps.parse ?? MEMORY_PLAN.parse,
      detail: caps.detail ?? MEMORY_PLAN.detail,
    };
  }

  cap(account: BudgetAccount): number {
    return this.#caps[account];
  }

  used(account: BudgetAccount): number {
    return this.#used[account];
  }

  /** Takes `bytes` from the account when they fit; false (and counted as refused) when not. */
  tryAcquire(account: BudgetAccount, bytes: number): boolean {
    if (this.#used[account] + bytes > this.#caps[account]) {
      this.#refused[account]++;
      return false;
    }
    this.#used[account] += bytes;
    return true;
  }

  /**
   * Takes `bytes` even past the cap when the account is empty: one item larger
   * than the whole account (a 25 MiB parse with a 16 MiB account) runs alone.
   */
  tryAcquireAlone(account: BudgetAccount, bytes: number): boolean {
    if (this.#used[account] === 0 && bytes > this.#caps[account]) {
      this.#used[account] = bytes;
      return true;
    }
    return this.tryAcquire(account, bytes);
  }

  release(account: BudgetAccount, bytes: number): void {
    this.#used[account] = Math.max(0, this.#used[account] - bytes);
    if (bytes > 0) for (const fn of this.#onRelease) fn(account);
  }

  /** Calls `fn` after every release (a waiting consumer re-checks); returns the unsubscribe. */
  onRelease(fn: (account: BudgetAccount) => void): () => void {
    this.#onRelease.add(fn);
    return () => this.#onRelease.delete(fn);
  }

  /** Sets an account's use outright (the store reports its byte count). */
  set(account: BudgetAccount, bytes: number): void {
    this.#used[account] = bytes;
  }

  snapshot(): BudgetSnapshot[] {
    return (Object.keys(this.#caps) as BudgetAccount[]).map((account) => ({
      account,
      used: this.#used[account],
      cap: this.#caps[account],
      refused: this.#refused[account],
    }));
  }
}
