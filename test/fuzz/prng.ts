/**
 * The fuzzers' seeded randomness: a small PRNG of our own (mulberry32), so a
 * failing case is replayed exactly with `npm run fuzz -- --seed S name`.
 * Not for anything secret.
 */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A child generator, so one case's draws do not shift the next case's. */
  fork(): Prng {
    return new Prng(this.int(2 ** 32));
  }
}

/**
 * A fuzzer's loop bound: stops at the deadline or after maxCases, whichever
 * comes first (a fuzzer must end even on a machine that is fast or idle).
 */
export class FuzzBudget {
  readonly #deadline: number;
  readonly #maxCases: number;
  cases = 0;

  constructor(seconds: number, maxCases: number, now: () => number = Date.now) {
    this.#deadline = now() + seconds * 1000;
    this.#maxCases = maxCases;
    this.now = now;
  }

  readonly now: () => number;

  /** True while another case may start; counts it. */
  more(): boolean {
    if (this.cases >= this.#maxCases || this.now() >= this.#deadline) return false;
    this.cases++;
    return true;
  }

  get msLeft(): number {
    return Math.max(0, this.#deadline - this.now());
  }
}
