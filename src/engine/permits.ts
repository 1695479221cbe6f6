/**
 * Backpressure counted in pairs: a request that would push the pairs in flight past the limit is
 * refused at once with 429, before any work is done for it.
 */
import { AppError } from '../errors';

export class Permits {
  private used = 0;
  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes n permits or throws Overloaded; returns the release function (idempotent). */
  acquire(n: number): () => void {
    if (n > this.limit) {
      // It could never be admitted, so retrying would not help: a validation error, not a 429.
      throw new AppError('Validation', `this request has ${n} pairs, more than MAX_CONCURRENT_REQUESTS=${this.limit} pairs in flight allows; split it or raise the limit`);
    }
    if (this.used + n > this.limit) {
      throw new AppError('Overloaded', `the server is at capacity (${this.used} of ${this.limit} pairs in flight); retry with backoff`);
    }
    this.used += n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
    };
  }
}
