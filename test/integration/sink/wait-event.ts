/** Waits for the first sink event matching `predicate`, with a deadline (no sleeps). */
import type { SinkEvent } from '../../../src/protocol.ts';
import type { EventLog } from '../../../sink/event-log.ts';

export function waitForEvent(
  events: EventLog,
  predicate: (e: SinkEvent) => boolean,
  timeoutMs = 10_000,
): Promise<SinkEvent> {
  const past = events.replaySince(0).events.find(predicate);
  if (past) return Promise.resolve(past);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = events.subscribe((e) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(e);
    });
  });
}
