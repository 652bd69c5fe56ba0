/**
 * What `sink` shows on a terminal while it runs: one line per message event
 * (the line `tail` prints: time, verdict, from -> to, subject), cut to the
 * terminal's width; under load, a summary every ACTIVITY_INTERVAL_MS instead,
 * so the terminal never scrolls faster than a person can read and printing
 * never costs the sink more than a line per interval.
 */
import type { Clock } from '../../../src/clock.ts';
import type { SinkEvent, SinkEventType } from '../../../src/protocol.ts';
import { clockTime, formatEventLine } from './event-line.ts';
import { plain, type Paint } from './color.ts';
import { fitToWidth } from './fit.ts';

/** Length of one window: under load, one summary line per window (a pace a person can follow). */
export const ACTIVITY_INTERVAL_MS = 5_000;

/** Lines printed in one window before switching to summaries: 20 per 5 s is about what can be read as it scrolls. */
export const ACTIVITY_MAX_LINES = 20;

/** The events a person watching the sink wants to see, in the order the summary names them. */
const SHOWN: ReadonlyArray<[SinkEventType, string]> = [
  ['message.received', 'received'],
  ['message.rejected', 'rejected'],
  ['message.deferred', 'deferred'],
  ['message.bounced', 'bounced'],
  ['auth.failed', 'failed AUTH'],
];
const SHOWN_TYPES: ReadonlySet<SinkEventType> = new Set(SHOWN.map(([t]) => t));

export interface SinkActivityOptions {
  write(line: string): void;
  clock: Clock;
  /** The terminal's width now (it may be resized), or null for no limit. */
  width(): number | null;
  paint?: Paint;
  utc?: boolean;
}

const num = (n: number): string => n.toLocaleString('en-US');

export class SinkActivity {
  readonly #o: SinkActivityOptions;
  #timer: unknown = null;
  #windowStart = 0;
  /** Lines printed in this window. */
  #printed = 0;
  /** Events of this window not printed as lines, by type. */
  readonly #held = new Map<SinkEventType, number>();
  #heldTotal = 0;
  /** Whether the last window overflowed: this one prints a summary only. */
  #summaryOnly = false;

  constructor(options: SinkActivityOptions) {
    this.#o = options;
  }

  /** Feed one sink event (EventLog.subscribe listener). */
  handle(event: SinkEvent): void {
    if (!SHOWN_TYPES.has(event.type)) return;
    if (this.#timer === null) this.#openWindow();
    if (!this.#summaryOnly && this.#printed < ACTIVITY_MAX_LINES) {
      this.#printed++;
      this.#o.write(
        `${formatEventLine(event, { paint: this.#o.paint ?? plain, utc: this.#o.utc, width: this.#o.width() })}\n`,
      );
      return;
    }
    this.#held.set(event.type, (this.#held.get(event.type) ?? 0) + 1);
    this.#heldTotal++;
  }

  /** Prints what is held and stops the timer (the sink is stopping). */
  stop(): void {
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }

  #openWindow(): void {
    this.#windowStart = this.#o.clock.now();
    this.#timer = this.#o.clock.setTimeout(() => this.#closeWindow(), ACTIVITY_INTERVAL_MS);
  }

  #closeWindow(): void {
    this.#timer = null;
    const busy = this.#printed + this.#heldTotal > ACTIVITY_MAX_LINES;
    this.#flush();
    this.#summaryOnly = busy;
    // Under load the next window starts at once (a summary every interval); otherwise no timer
    // runs until the next event.
    if (busy) this.#openWindow();
  }

  #flush(): void {
    const held = this.#heldTotal;
    if (held > 0) {
      const elapsed = Math.max(1, this.#o.clock.now() - this.#windowStart);
      const parts = SHOWN.filter(([t]) => this.#held.has(t)).map(
        ([t, name]) => `${num(this.#held.get(t) ?? 0)} ${name}`,
      );
      const secs = Math.max(1, Math.round(elapsed / 1000));
      const rate = Math.round((held * 1000) / elapsed);
      const paint = this.#o.paint ?? plain;
      const time = clockTime(new Date(this.#o.clock.now()).toISOString(), this.#o.utc);
      // `+N`: events not shown as lines, whether or not some of this window's were.
      this.#line(
        `${paint('dim', time)}  ${paint('bold', 'BUSY'.padEnd(8))}  +${num(held)} in ${secs}s (${num(rate)}/s): ${parts.join(', ')}`,
      );
    }
    this.#printed = 0;
    this.#held.clear();
    this.#heldTotal = 0;
  }

  #line(text: string): void {
    const width = this.#o.width();
    this.#o.write(`${width === null ? text : fitToWidth(text, width)}\n`);
  }
}
