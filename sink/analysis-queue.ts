/**
 * Schedules the full parse + analysis of stored messages on the parse backend
 * so that it never bounds SMTP ingest and never piles up in memory:
 *
 * - a message is analysed in the background only while someone follows the
 *   analyses (`wanted`: a client of the event feed that takes
 *   `message.analyzed` — `tail`, a flow, the web inbox). With nobody
 *   following, its analysis is deferred: it runs when first asked for
 *   ({@link demand}: the detail view, the analysis API, the HTML and link
 *   checks), or for every deferred message once a follower connects
 *   ({@link resume}). Mail nobody looks at is never parsed (issue 13: the
 *   sink's CPU per message within 1.3x of a bare smtp-server's);
 * - at most MAX_PARSE_IN_FLIGHT jobs are handed to the backend at once;
 * - while mail arrives faster than ANALYSIS_PAUSE_RATE messages/s (a flood),
 *   background analysis pauses: on a 2-core node the parse would otherwise take
 *   the CPU the flood needs. It resumes as soon as the rate drops;
 * - waiting work is only message ids, in a backlog capped at the store's
 *   message cap (evicted ids are skipped; the oldest are dropped first, and
 *   those messages are parsed on demand when their detail is asked for).
 */
import type { EventLog } from './event-log.ts';
import { MAX_PARSE_IN_FLIGHT } from './parse-worker.ts';
import type { ParseBackend } from './parse-worker.ts';
import type { MemoryMessageStore } from './store.ts';
import type { Logger } from './types.ts';

/**
 * Ingest rate (messages/s) above which background analysis pauses. Test
 * traffic (a flow's handful of messages, steady traffic up to 200/s) is
 * analysed as it arrives; load tests and floods are analysed when they end.
 * Was 1000: one message per connection from 100 clients runs at 1,000-2,500/s
 * on a 2-core node, just under that line, so the parse competed with SMTP for
 * the CPU and the sink fell behind MailHog; at 200 the same run went from
 * 0.4x to 1.0x MailHog's rate (bench:sink scenario 6, same loaded machine).
 */
export const ANALYSIS_PAUSE_RATE = 200;
/** The ingest rate is measured over this window, in slots of RATE_SLOT_MS. */
export const RATE_WINDOW_MS = 500;
const RATE_SLOT_MS = 50;
const RATE_SLOTS = RATE_WINDOW_MS / RATE_SLOT_MS;

export class AnalysisQueue {
  readonly #store: MemoryMessageStore;
  readonly #parser: ParseBackend;
  readonly #events: EventLog;
  readonly #logger: Logger;
  readonly #maxInFlight: number;
  readonly #maxBacklog: number;
  readonly #pauseRate: number;
  readonly #now: () => number;
  readonly #wanted: () => boolean;
  /** Messages whose analysis was deferred (nobody following) since the last resume; the store knows which. */
  #deferred = 0;
  /** Analyses running now, by id: a demand for one of them waits for it. */
  readonly #runningIds = new Map<string, Promise<void>>();
  /** FIFO of waiting ids. */
  #backlog: string[] = [];
  #backlogHead = 0;
  #running = 0;
  #dropped = 0;
  #idleWaiters: Array<() => void> = [];
  /** Ingest counts per time slot (ring), for the flood detection. */
  readonly #slots = new Array<number>(RATE_SLOTS).fill(0);
  #slotStart = 0;
  #resumeTimer: NodeJS.Timeout | null = null;

  constructor(options: {
    store: MemoryMessageStore;
    parser: ParseBackend;
    events: EventLog;
    logger: Logger;
    maxInFlight?: number;
    maxBacklog?: number;
    pauseRate?: number;
    now?: () => number;
    /** Whether anyone follows the analyses now (default: always, every message analysed in the background). */
    wanted?: () => boolean;
  }) {
    this.#store = options.store;
    this.#parser = options.parser;
    this.#events = options.events;
    this.#logger = options.logger;
    this.#maxInFlight = options.maxInFlight ?? MAX_PARSE_IN_FLIGHT;
    this.#maxBacklog = options.maxBacklog ?? options.store.maxMessages;
    this.#pauseRate = options.pauseRate ?? ANALYSIS_PAUSE_RATE;
    this.#now = options.now ?? (() => performance.now());
    this.#wanted = options.wanted ?? (() => true);
  }

  /** Messages whose analysis was deferred since the last {@link resume} (nobody followed the analyses when they arrived). */
  get deferred(): number {
    return this.#deferred;
  }

  /** Ids whose background analysis was skipped because the backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  get pending(): number {
    return this.#running + this.#backlog.length - this.#backlogHead;
  }

  /** Current ingest rate estimate, messages per second. */
  get ingestRate(): number {
    this.#advance();
    return (this.#slots.reduce((a, b) => a + b, 0) * 1000) / RATE_WINDOW_MS;
  }

  /** Queues the analysis of a just-stored message, or defers it while nobody follows the analyses. */
  enqueue(id: string): void {
    this.#advance();
    this.#slots[this.#slotIndex()]++;
    // Nothing to remember: the store knows which messages are not analysed yet.
    if (!this.#wanted()) {
      this.#deferred++;
      return;
    }
    this.#push(id);
  }

  /**
   * Someone started following the analyses: every stored message not analysed
   * yet is queued, oldest first (the backlog keeps the newest maxBacklog).
   */
  resume(): void {
    if (this.#deferred === 0) return;
    this.#deferred = 0;
    for (const id of this.#store.unanalysed()) this.#push(id);
  }

  /**
   * Analyses a stored message now if it has not been (a deferred one, or one
   * still waiting in the backlog), bypassing the flood pause; resolves once
   * its analysis is stored (at once when it already is, or the message is gone).
   */
  demand(id: string): Promise<void> {
    const running = this.#runningIds.get(id);
    if (running) return running;
    if (this.#store.analysed(id) !== false) return Promise.resolve();
    return this.#start(id);
  }

  #push(id: string): void {
    this.#backlog.push(id);
    if (this.#backlog.length - this.#backlogHead > this.#maxBacklog) {
      this.#backlogHead++;
      this.#dropped++;
    }
    this.#next();
  }

  /** Resolves once nothing is queued or running (deferred analyses do not count: see {@link analyzeAll}). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #slotIndex(): number {
    return Math.floor(this.#slotStart / RATE_SLOT_MS) % RATE_SLOTS;
  }

  /** Moves the ring forward to the current slot, clearing the slots passed. */
  #advance(): void {
    const now = this.#now();
    const current = Math.floor(now / RATE_SLOT_MS) * RATE_SLOT_MS;
    if (current <= this.#slotStart) return;
    const steps = Math.min(RATE_SLOTS, (current - this.#slotStart) / RATE_SLOT_MS);
    for (let i = 1; i <= steps; i++)
      this.#slots[(Math.floor(this.#slotStart / RATE_SLOT_MS) + i) % RATE_SLOTS] = 0;
    this.#slotStart = current;
  }

  /** Queues every deferred analysis and resolves once all are done (tests; `Sink.analysisIdle`). */
  analyzeAll(): Promise<void> {
    this.resume();
    return this.idle();
  }

  #start(id: string): Promise<void> {
    const raw = this.#store.raw(id);
    // evicted or deleted meanwhile, already analysed (on demand), or being analysed
    if (raw === undefined || this.#store.analysed(id) === true) return Promise.resolve();
    const already = this.#runningIds.get(id);
    if (already) return already;
    this.#running++;
    const done = this.#parser
      .analyze(raw)
      .then((result) => {
        if (result.analysisError)
          this.#logger.warn('analysis failed', { id, error: result.analysisError });
        if (!this.#store.setAnalysis(id, result.analysis, result.parseError)) return;
        // The store's compacted copy, so the replay window and the store share one.
        const analysis = result.analysis ? this.#store.analysisOf(id) : null;
        if (analysis)
          this.#events.append('message.analyzed', { id, analysis, parseError: result.parseError });
      })
      .catch((err: unknown) => {
        this.#logger.error('analysis job failed', {
          id,
          error: err instanceof Error ? err.message : String(err),
        });
      })
      .finally(() => {
        this.#runningIds.delete(id);
        this.#running--;
        this.#next();
      });
    this.#runningIds.set(id, done);
    return done;
  }

  #next(): void {
    if (this.#backlogHead < this.#backlog.length && this.ingestRate > this.#pauseRate) {
      this.#resumeLater();
    } else {
      while (this.#running < this.#maxInFlight && this.#backlogHead < this.#backlog.length) {
        void this.#start(this.#backlog[this.#backlogHead++]);
      }
    }
    if (this.#backlogHead > 1024 && this.#backlogHead * 2 > this.#backlog.length) {
      this.#backlog = this.#backlog.slice(this.#backlogHead);
      this.#backlogHead = 0;
    }
    if (this.pending === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Checks again once the current slot has passed (one timer at most, never keeping the process alive). */
  #resumeLater(): void {
    if (this.#resumeTimer) return;
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = null;
      this.#next();
    }, RATE_SLOT_MS);
    this.#resumeTimer.unref();
  }
}
