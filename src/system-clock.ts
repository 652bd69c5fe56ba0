import type { Clock } from './clock.ts';

/**
 * The production clock (wall time, real timers), for the edges only: the sink,
 * the CLI and the checker pass it in as their default. Code in src/ takes a
 * {@link Clock} and never imports this (test/unit/layout.test.ts checks that),
 * so it stays testable with a fake clock.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  // eslint-disable-next-line @typescript-eslint/no-unsafe-type-assertion -- the handle is what setTimeout above returned
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
});
