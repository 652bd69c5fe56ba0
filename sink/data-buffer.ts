/**
 * The bytes of one DATA transfer while they arrive, in fixed blocks from a
 * shared pool, drawn from the memory budget's `inflight` account.
 *
 * Keeping the socket's chunks until the end (as before) promoted them to V8's
 * old generation, so their memory outlived the message until a full GC: five
 * 24 MiB messages left ~150 MiB of dead chunks resident. Copied into pooled
 * blocks, each chunk dies young, and the blocks are reused by the next
 * message instead of being freed and allocated again.
 *
 * At the end the message is copied once into exactly-sized shared memory
 * (stored, and read by the parse worker without a copy); that copy is counted
 * in `inflight` too until the store has taken it.
 */
import type { MemoryBudget } from './memory-budget.ts';

/** First block of a transfer: most messages are a few KB, and a thousand sessions in DATA at once must fit the budget. */
export const DATA_FIRST_BLOCK_BYTES = 16 * 1024;
/** Further blocks: a 25 MiB message is 100 of them. */
export const DATA_BLOCK_BYTES = 256 * 1024;
/** Free blocks of each size kept for reuse (at most 4 MiB + 1 MiB); more are left to the garbage collector. */
export const DATA_POOL_MAX_FREE = 16;
const FIRST_POOL_MAX_FREE = 64;

const pools = new Map<number, Buffer[]>([
  [DATA_FIRST_BLOCK_BYTES, []],
  [DATA_BLOCK_BYTES, []],
]);

function takeBlock(bytes: number): Buffer {
  return pools.get(bytes)!.pop() ?? Buffer.allocUnsafeSlow(bytes);
}

function giveBlock(block: Buffer): void {
  const pool = pools.get(block.length)!;
  if (
    pool.length <
    (block.length === DATA_FIRST_BLOCK_BYTES ? FIRST_POOL_MAX_FREE : DATA_POOL_MAX_FREE)
  )
    pool.push(block);
}

export class DataBuffer {
  readonly #budget: MemoryBudget;
  readonly #blocks: Buffer[] = [];
  #size = 0;
  /** Bytes used in the last block. */
  #filled = 0;
  /** Bytes taken from the `inflight` account by this transfer. */
  #held = 0;
  #failed = false;

  constructor(budget: MemoryBudget) {
    this.#budget = budget;
  }

  get size(): number {
    return this.#size;
  }

  /** False once the budget refused a block: the rest of the transfer is not kept (the caller answers 452). */
  get overBudget(): boolean {
    return this.#failed;
  }

  /** Copies a chunk in; false (and everything released) when the budget has no room for it. */
  append(chunk: Buffer): boolean {
    if (this.#failed) return false;
    let offset = 0;
    while (offset < chunk.length) {
      let block = this.#blocks[this.#blocks.length - 1];
      if (block === undefined || this.#filled === block.length) {
        const bytes = block === undefined ? DATA_FIRST_BLOCK_BYTES : DATA_BLOCK_BYTES;
        if (!this.#budget.tryAcquire('inflight', bytes)) {
          this.#failed = true;
          this.release();
          return false;
        }
        this.#held += bytes;
        block = takeBlock(bytes);
        this.#blocks.push(block);
        this.#filled = 0;
      }
      const n = chunk.copy(
        block,
        this.#filled,
        offset,
        Math.min(chunk.length, offset + block.length - this.#filled),
      );
      offset += n;
      this.#filled += n;
      this.#size += n;
    }
    return true;
  }

  /**
   * The message in exactly-sized shared memory, or null when the budget has no
   * room for that copy. The blocks go back to the pool either way; the copy
   * stays counted until {@link release}.
   */
  take(): Buffer | null {
    const size = this.#size;
    const blocks = this.#blocks.splice(0);
    let raw: Buffer | null = null;
    if (!this.#failed && this.#budget.tryAcquire('inflight', size)) {
      this.#held += size;
      raw = Buffer.from(new SharedArrayBuffer(size));
      let offset = 0;
      for (const block of blocks)
        offset += block.copy(raw, offset, 0, Math.min(block.length, size - offset));
    } else {
      this.#failed = true;
    }
    let blockBytes = 0;
    for (const block of blocks) {
      blockBytes += block.length;
      giveBlock(block);
    }
    this.#budget.release('inflight', blockBytes);
    this.#held -= blockBytes;
    return raw;
  }

  /** Returns everything this transfer holds to the budget (idempotent). */
  release(): void {
    for (const block of this.#blocks.splice(0)) giveBlock(block);
    this.#filled = 0;
    this.#budget.release('inflight', this.#held);
    this.#held = 0;
  }
}
