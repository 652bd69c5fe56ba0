import type { Clock } from '../src/clock.ts';

/**
 * The shard's production clock (wall time, real timers). The CLI has its own
 * in plugin/lib/system-clock.ts and the sink in sink/system-clock.ts: checker/
 * never imports the plugin (the same boundary as the sink's).
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
});
