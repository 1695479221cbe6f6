/**
 * Cooperative slicing of work on the main thread. Splitting, parsing and encoding a large body
 * runs in slices of a few milliseconds with a turn of the event loop in between, so /ping and the
 * other requests are answered while one request's body is worked on, and a request whose client
 * left or whose deadline passed stops at the next slice.
 */

/** Milliseconds of work between two turns of the event loop. */
export const SLICE_MS = 8;

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Slicer {
  private last = performance.now();

  constructor(private readonly signal?: AbortSignal) {}

  /** Call often in a loop: yields once a slice's time is used up, then throws if the request was cancelled. */
  async tick(): Promise<void> {
    if (performance.now() - this.last < SLICE_MS) return;
    await yieldToLoop();
    this.signal?.throwIfAborted();
    this.last = performance.now();
  }
}
