/**
 * The first failure among tasks running side by side. Later failures are
 * dropped: they are usually consequences of the first (a closed connection,
 * an aborted run). Boxed, so any thrown value counts, even `undefined`.
 */
export class FirstFailure {
  #held: { reason: unknown } | null = null;

  /** True once a failure is recorded. */
  get failed(): boolean {
    return this.#held !== null;
  }

  /** Records `reason` unless a failure is recorded already. */
  record(reason: unknown): void {
    this.#held ??= { reason };
  }

  /** Throws the recorded failure, if there is one. */
  throwIfFailed(): void {
    if (this.#held !== null) throw this.#held.reason;
  }
}
