/**
 * Runs the full MIME parse and the analysis off the event loop, in a
 * worker_thread, so that mailparser never bounds SMTP ingest throughput.
 *
 * The worker is this very module, re-entered: `new Worker(new URL(import.meta.url))`
 * (in the single executable, which has no file for it, this module's bundle embedded as
 * SEA_PARSE_WORKER_ASSET, started as an ES module from a data: URL).
 * Run from source that is parse-worker.ts, from tsc output parse-worker.js, and
 * in the single-file esbuild bundle it is the bundle itself (main.ts starts the
 * sink only on the main thread, and the code at the bottom of this module
 * starts the job loop in the worker). No file next to the bundle is needed.
 */
import { setPriority } from 'node:os';
import { getAsset, isSea } from 'node:sea';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { AttachmentMeta } from '../src/protocol.ts';
import { analyzeParts, parseAttachment, parseParts, parseSnippet } from './message-parse.ts';
import type { AnalyzedParts, Analyzer, ParsedParts } from './message-parse.ts';
import { analyzeMessage } from './analysis/index.ts';
import { MemoryBudget } from './memory-budget.ts';

/** Jobs handed to a worker and not yet answered; beyond this the caller falls back (lazy parse). */
export const MAX_PARSE_IN_FLIGHT = 512;
/**
 * Nice value of the parse worker thread. On Linux a nice value is per thread
 * (setpriority(2) with who=0 is the calling thread), so SMTP ingest on the main
 * thread wins the CPU when both want it and parsing catches up when ingest idles:
 * the full parse never bounds ingest throughput, even on a 2-core node.
 */
export const PARSE_WORKER_NICE = 10;
/** Jobs posted to the worker in one message; batching amortises the cost of postMessage under load. */
export const MAX_PARSE_BATCH = 64;
/**
 * Worker old-generation heap: mailparser on a 25 MiB message needs a few times
 * its size. A message that needs more kills only the worker (it is restarted
 * and the message keeps a parse error); the bound keeps the sink's memory flat.
 */
export const PARSE_WORKER_HEAP_MB = 128;
/**
 * After a job on a message this large, the worker is replaced once it is idle:
 * V8 keeps the heap a 24 MiB parse grew (about 150 MB resident) long after the
 * parse, and a fresh worker (~50 ms to start) gives all of it back at once.
 */
export const PARSE_WORKER_RECYCLE_BYTES = 4 * 1024 * 1024;
/**
 * A background analysis of a large message (PARSE_WORKER_RECYCLE_BYTES or
 * more) waits while more than this much DATA is in flight: its parse (about
 * four times the message in the worker) and a flood of large transfers at once
 * made the peak of the memory worst case. Detail views, downloads and small
 * messages go past it.
 */
export const LARGE_ANALYSIS_MAX_INFLIGHT_BYTES = 16 * 1024 * 1024;
/** Worker young generation: parsing makes short-lived garbage; a small nursery keeps resident memory low. */
export const PARSE_WORKER_YOUNG_MB = 16;

/**
 * Jobs the worker parses at once. Started all together, the hundreds of jobs in
 * flight interleave and each one's parse state outlives several scavenges, so
 * it is promoted and the worker runs a full mark-compact every ~100 ms; a few at
 * a time, a parse's garbage dies young. More than one so that a small message
 * is not stuck behind every step of a large one.
 */
export const PARSE_WORKER_CONCURRENCY = 4;

const WORKER_MARK = 'evParseWorker';

/** This module's bundle inside the single executable (plugin/build-sea.ts embeds it). */
export const SEA_PARSE_WORKER_ASSET = 'workers/parse-worker.mjs';

type Job =
  | { id: number; kind: 'analyze'; raw: Uint8Array }
  | { id: number; kind: 'parts'; raw: Uint8Array }
  | { id: number; kind: 'snippet'; raw: Uint8Array }
  | { id: number; kind: 'attachment'; raw: Uint8Array; index: number };
/** A job as asked for: {@link ParseWorkerPool} assigns the id and copies or shares the bytes. */
type JobRequest<J = Job> = J extends Job ? Omit<J, 'id' | 'raw'> & { raw: Buffer } : never;
type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Where parsing happens: in a worker thread, or inline (tests, injected resolvers). */
export interface ParseBackend {
  analyze(raw: Buffer): Promise<AnalyzedParts>;
  parts(raw: Buffer): Promise<ParsedParts>;
  /** Mailpit's `Snippet` (sink/snippet.ts): computed in the parser, only the short string comes back. */
  snippet(raw: Buffer): Promise<string>;
  attachment(
    raw: Buffer,
    index: number,
  ): Promise<{ meta: AttachmentMeta; content: Buffer } | undefined>;
  /** Jobs not yet answered. */
  readonly inFlight: number;
  close(): Promise<void>;
}

/** Parses on the calling thread. */
export class InlineParser implements ParseBackend {
  readonly #analyze: Analyzer;
  #inFlight = 0;

  constructor(analyze: Analyzer = (raw, parsed) => analyzeMessage(raw, parsed)) {
    this.#analyze = analyze;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await work();
    } finally {
      this.#inFlight--;
    }
  }

  analyze(raw: Buffer) {
    return this.#track(() => analyzeParts(raw, this.#analyze));
  }
  parts(raw: Buffer) {
    return this.#track(() => parseParts(raw));
  }
  snippet(raw: Buffer) {
    return this.#track(() => parseSnippet(raw));
  }
  attachment(raw: Buffer, index: number) {
    return this.#track(() => parseAttachment(raw, index));
  }
  async close(): Promise<void> {}
}

/**
 * Parses in one worker thread; restarts it if it dies, failing the jobs it held.
 *
 * Raw bytes in shared memory (what the SMTP front stores) reach the worker
 * without a copy. The raw bytes of the jobs in the worker at once are bounded
 * by the budget's `parse` account (a larger message runs alone); the others
 * wait in a FIFO that holds only references.
 */
export class WorkerParser implements ParseBackend {
  #worker: Worker | null = null;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; bytes: number; admitted: boolean }
  >();
  /** Jobs handed to the current worker and not answered yet. */
  #inWorker = 0;
  /** The current worker parsed a large message: replace it when idle. */
  #recycle = false;
  #nextId = 1;
  #closed = false;
  #batch: Job[] = [];
  readonly #budget: MemoryBudget;
  /** Jobs waiting for parse budget, oldest first. */
  #waiting: Array<{ job: Job; bytes: number }> = [];

  constructor(options: { budget?: MemoryBudget } = {}) {
    this.#budget = options.budget ?? new MemoryBudget();
    this.#budget.onRelease((account) => {
      if (account === 'inflight' && this.#waiting.length > 0) this.#admit();
    });
  }

  /** A background analysis of a large message, held back while much DATA is in flight. */
  #heldBack(entry: { job: Job; bytes: number }): boolean {
    return (
      entry.job.kind === 'analyze' &&
      entry.bytes >= PARSE_WORKER_RECYCLE_BYTES &&
      this.#budget.used('inflight') > LARGE_ANALYSIS_MAX_INFLIGHT_BYTES
    );
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  #settle(id: number): { resolve: (v: unknown) => void; reject: (e: Error) => void } | undefined {
    const waiter = this.#pending.get(id);
    if (!waiter) return undefined;
    this.#pending.delete(id);
    this.#budget.release('parse', waiter.bytes);
    if (waiter.admitted) this.#inWorker--;
    return waiter;
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const source = isSea()
      ? new URL(
          `data:text/javascript;base64,${Buffer.from(getAsset(SEA_PARSE_WORKER_ASSET)).toString('base64')}`,
        )
      : new URL(import.meta.url);
    const worker = new Worker(source, {
      workerData: { [WORKER_MARK]: true },
      resourceLimits: {
        maxOldGenerationSizeMb: PARSE_WORKER_HEAP_MB,
        maxYoungGenerationSizeMb: PARSE_WORKER_YOUNG_MB,
      },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    worker.on('message', (replies: Reply[]) => {
      for (const reply of replies) {
        const waiter = this.#settle(reply.id);
        if (!waiter) continue;
        if (reply.ok) waiter.resolve(reply.result);
        else waiter.reject(new Error(reply.error));
      }
      if (
        this.#recycle &&
        this.#inWorker === 0 &&
        this.#batch.length === 0 &&
        this.#worker === worker
      ) {
        this.#worker = null;
        this.#recycle = false;
        void worker.terminate();
      }
      this.#admit();
    });
    const fail = (err: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#recycle = false;
      for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(err);
      this.#waiting = [];
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`parse worker exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #run<T>(job: JobRequest): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('parser closed'));
    const id = this.#nextId++;
    const shared = job.raw.buffer instanceof SharedArrayBuffer;
    // Shared memory is handed over as is; anything else gets an exact-size copy
    // (a pooled Buffer would clone its whole slab) that is transferred.
    const raw = shared
      ? new Uint8Array(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength)
      : new Uint8Array(job.raw);
    const bytes = raw.byteLength;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        bytes: 0,
        admitted: false,
      });
      const full: Job = { ...job, id, raw };
      this.#waiting.push({ job: full, bytes });
      this.#admit();
    });
  }

  /** Hands waiting jobs to the worker while the parse budget allows; each admitted job's bytes are recorded on its waiter, released by its reply. */
  #admit(): void {
    let i = 0;
    while (i < this.#waiting.length) {
      const entry = this.#waiting[i];
      if (this.#heldBack(entry)) {
        i++; // others (detail views, small messages) go past it
        continue;
      }
      if (!this.#budget.tryAcquireAlone('parse', entry.bytes)) break;
      this.#waiting.splice(i, 1);
      const { job, bytes } = entry;
      const waiter = this.#pending.get(job.id);
      if (!waiter) {
        this.#budget.release('parse', bytes);
        continue;
      }
      waiter.bytes = bytes;
      waiter.admitted = true;
      this.#inWorker++;
      if (bytes >= PARSE_WORKER_RECYCLE_BYTES) this.#recycle = true;
      this.#batch.push(job);
      if (this.#batch.length >= MAX_PARSE_BATCH) this.#flush();
      else if (this.#batch.length === 1) setImmediate(() => this.#flush());
    }
  }

  /** Posts the jobs gathered during this turn of the event loop in one message. */
  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const transfer = batch
      .filter((j) => !(j.raw.buffer instanceof SharedArrayBuffer))
      .map((j) => j.raw.buffer as ArrayBuffer);
    this.#ensureWorker().postMessage(batch, transfer);
  }

  analyze(raw: Buffer): Promise<AnalyzedParts> {
    return this.#run<AnalyzedParts>({ kind: 'analyze', raw }).catch((err: Error) => ({
      parseError: err.message,
      analysis: null,
      analysisError: err.message,
    }));
  }

  parts(raw: Buffer): Promise<ParsedParts> {
    return this.#run<ParsedParts>({ kind: 'parts', raw }).catch((err: Error) => ({
      parseError: err.message,
      headers: [],
      text: null,
      html: null,
      attachments: [],
    }));
  }

  snippet(raw: Buffer): Promise<string> {
    return this.#run<string>({ kind: 'snippet', raw }).catch(() => '');
  }

  async attachment(
    raw: Buffer,
    index: number,
  ): Promise<{ meta: AttachmentMeta; content: Buffer } | undefined> {
    const r = await this.#run<{ meta: AttachmentMeta; content: Uint8Array } | undefined>({
      kind: 'attachment',
      raw,
      index,
    });
    return r === undefined
      ? undefined
      : {
          meta: r.meta,
          content: Buffer.from(r.content.buffer, r.content.byteOffset, r.content.byteLength),
        };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    this.#batch = [];
    this.#waiting = [];
    for (const id of [...this.#pending.keys()])
      this.#settle(id)?.reject(new Error('parser closed'));
    if (worker) await worker.terminate();
  }
}

/** The worker side: answers jobs until the parent goes away. */
function serveJobs(): void {
  const port = parentPort!;
  try {
    setPriority(PARSE_WORKER_NICE);
  } catch {
    // not permitted or not supported here: parse at normal priority
  }
  const analyze: Analyzer = (raw, parsed) => analyzeMessage(raw, parsed);
  let out: Reply[] = [];
  const reply = (r: Reply) => {
    out.push(r);
    if (out.length === 1) {
      setImmediate(() => {
        const batch = out;
        out = [];
        port.postMessage(batch);
      });
    }
  };
  // FIFO of waiting jobs (bounded by the parent's MAX_PARSE_IN_FLIGHT).
  let queue: Job[] = [];
  let head = 0;
  let running = 0;
  const next = () => {
    while (running < PARSE_WORKER_CONCURRENCY && head < queue.length) {
      const job = queue[head];
      queue[head++] = undefined as unknown as Job;
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
      running++;
      const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
      let work: Promise<unknown>;
      try {
        work =
          job.kind === 'analyze'
            ? analyzeParts(raw, analyze)
            : job.kind === 'parts'
              ? parseParts(raw)
              : job.kind === 'snippet'
                ? parseSnippet(raw)
                : parseAttachment(raw, job.index);
      } catch (err) {
        work = Promise.reject(err);
      }
      work
        .then(
          (result) => reply({ id: job.id, ok: true, result }),
          (err: unknown) =>
            reply({
              id: job.id,
              ok: false,
              error: err instanceof Error ? err.message : String(err),
            }),
        )
        .finally(() => {
          running--;
          next();
        });
    }
  };
  port.on('message', (jobs: Job[]) => {
    for (const job of jobs) queue.push(job);
    next();
  });
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[WORKER_MARK] === true)
  serveJobs();
