/**
 * Errors thrown inside the fake's own timers (controllers, kubelet, scheduler).
 * They must not crash the test process; they are kept for `fake.internalErrors`
 * so a test can assert there were none.
 */

/** Internal errors remembered; the rest are counted only. */
export const MAX_INTERNAL_ERRORS = 100;

export class InternalErrors {
  readonly list: string[] = [];
  dropped = 0;

  record(where: string, err: unknown): void {
    if (this.list.length >= MAX_INTERNAL_ERRORS) {
      this.dropped++;
      return;
    }
    this.list.push(`${where}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /** Wrap a callback so that a throw is recorded instead of crashing the process. */
  guard<A extends unknown[]>(where: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        this.record(where, err);
      }
    };
  }
}
