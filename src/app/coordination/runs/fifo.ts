/** A counting semaphore that admits waiters strictly in arrival order. */
export class FifoSemaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a concurrency bound must be a whole number ≥ 1, got ${limit}`);
  }

  /** How many wait ahead of a caller arriving now; 0 when it would run at once. */
  get queued(): number {
    return this.active < this.limit && this.waiters.length === 0 ? 0 : this.waiters.length + 1;
  }

  get running(): number {
    return this.active;
  }

  /** Resolves once admitted; `onQueued` hears the 1-based position when the caller has to wait. */
  async acquire(onQueued?: (position: number) => void): Promise<() => void> {
    if (this.active < this.limit && this.waiters.length === 0) {
      this.active++;
      return this.releaser();
    }
    const position = this.waiters.length + 1;
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      onQueued?.(position);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so no newcomer can jump the queue.
      if (next) next();
      else this.active--;
    };
  }
}
