import type { Clock } from '../../src/clock.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A manual clock for tests. Timers fire in time order when the test calls
 * {@link FakeClock.advance}; promise callbacks queued by a timer run before
 * the next timer fires, so code awaiting sleeps behaves as in real time.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Time of the next timer, or undefined. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const x of this.timers) if (min === undefined || x.at < min) min = x.at;
    return min;
  }

  /** Moves time forward by `ms`, firing due timers in order and draining microtasks between them. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + ms);
  }

  async advanceTo(target: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      let next: Timer | undefined;
      for (const x of this.timers)
        if (
          x.at <= target &&
          (next === undefined || x.at < next.at || (x.at === next.at && x.id < next.id))
        )
          next = x;
      if (next === undefined) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await flushMicrotasks();
    }
    this.t = Math.max(this.t, target);
    await flushMicrotasks();
  }

  /** Fires timers until none is left or `maxMs` of fake time has passed. */
  async runUntilIdle(maxMs = 86_400_000): Promise<void> {
    const limit = this.t + maxMs;
    for (;;) {
      await flushMicrotasks();
      const at = this.nextAt();
      if (at === undefined || at > limit) return;
      await this.advanceTo(at);
    }
  }
}

/** Lets queued promise reactions run (several turns, for chained awaits). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
