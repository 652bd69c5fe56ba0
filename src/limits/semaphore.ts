/** A counting semaphore with a FIFO queue. `acquire` resolves to a release function (idempotent). */
export class Semaphore {
  readonly limit: number;
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(limit: number) {
    if (!(limit >= 1) || !Number.isInteger(limit))
      throw new RangeError(`concurrency must be an integer >= 1, got ${limit}`);
    this.limit = limit;
  }

  get inUse(): number {
    return this.active;
  }
  get queued(): number {
    return this.queue.length;
  }
  get idle(): boolean {
    return this.active === 0 && this.queue.length === 0;
  }

  acquire(): Promise<() => void> {
    if (this.active < this.limit && this.queue.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      this.queue.push(() => {
        this.active++;
        resolve(this.releaser());
      });
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      const next = this.queue.shift();
      if (next) next();
    };
  }
}
