import type { Clock } from '../src/clock.ts';

/**
 * The sink's production clock (wall time, real timers). The CLI has its own in
 * plugin/lib/system-clock.ts: the sink never imports the plugin, and the
 * plugin loads sink/ only through its index (which would pull the whole sink
 * into every command's start-up).
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
});
