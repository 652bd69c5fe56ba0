/**
 * Schedules the full parse + analysis of stored messages on the parse backend
 * without ever letting work pile up in memory: at most MAX_PARSE_IN_FLIGHT
 * jobs are handed to the backend; beyond that only message ids wait, in a
 * backlog capped at the store's message cap (an evicted id is skipped, and the
 * oldest ids are dropped first: those messages are parsed on demand when
 * someone asks for their detail).
 */
import type { EventLog } from './event-log.ts';
import { MAX_PARSE_IN_FLIGHT } from './parse-worker.ts';
import type { ParseBackend } from './parse-worker.ts';
import type { MemoryMessageStore } from './store.ts';
import type { Logger } from './types.ts';

export class AnalysisQueue {
  readonly #store: MemoryMessageStore;
  readonly #parser: ParseBackend;
  readonly #events: EventLog;
  readonly #logger: Logger;
  readonly #maxInFlight: number;
  readonly #maxBacklog: number;
  /** Ring of waiting ids (FIFO). */
  #backlog: string[] = [];
  #backlogHead = 0;
  #running = 0;
  #dropped = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(options: { store: MemoryMessageStore; parser: ParseBackend; events: EventLog; logger: Logger; maxInFlight?: number; maxBacklog?: number }) {
    this.#store = options.store;
    this.#parser = options.parser;
    this.#events = options.events;
    this.#logger = options.logger;
    this.#maxInFlight = options.maxInFlight ?? MAX_PARSE_IN_FLIGHT;
    this.#maxBacklog = options.maxBacklog ?? options.store.maxMessages;
  }

  /** Ids whose analysis was skipped because the backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  get pending(): number {
    return this.#running + this.#backlog.length - this.#backlogHead;
  }

  enqueue(id: string): void {
    if (this.#running < this.#maxInFlight) {
      this.#start(id);
      return;
    }
    this.#backlog.push(id);
    if (this.#backlog.length - this.#backlogHead > this.#maxBacklog) {
      this.#backlogHead++;
      this.#dropped++;
    }
    this.#compact();
  }

  /** Resolves once nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #start(id: string): void {
    const raw = this.#store.raw(id);
    if (raw === undefined) return; // evicted or deleted meanwhile
    this.#running++;
    this.#parser.analyze(raw).then((result) => {
      if (result.analysisError) this.#logger.warn('analysis failed', { id, error: result.analysisError });
      if (!this.#store.setAnalysis(id, result.analysis, result.parseError)) return;
      if (result.analysis) this.#events.append('message.analyzed', { id, analysis: result.analysis, parseError: result.parseError });
    }).catch((err: unknown) => {
      this.#logger.error('analysis job failed', { id, error: err instanceof Error ? err.message : String(err) });
    }).finally(() => {
      this.#running--;
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.#maxInFlight && this.#backlogHead < this.#backlog.length) {
      const id = this.#backlog[this.#backlogHead++]!;
      this.#start(id);
    }
    this.#compact();
    if (this.pending === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #compact(): void {
    if (this.#backlogHead > 1024 && this.#backlogHead * 2 > this.#backlog.length) {
      this.#backlog = this.#backlog.slice(this.#backlogHead);
      this.#backlogHead = 0;
    }
  }
}
