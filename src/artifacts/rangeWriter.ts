/**
 * Writes one ranged response at its offset in a shared file descriptor and counts exactly what the
 * file system acknowledged, so a failed range resumes at the right byte and the hash worker can read
 * up to what is really written while the range is still arriving.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';

export class RangeWriter extends Writable {
  /** Bytes acknowledged by the file system (contiguous from the start offset). */
  written = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly fd: number,
    private readonly start: number,
    /** Largest number of bytes this range may receive; more is an error. */
    private readonly limit: number,
    private readonly onWritten: (n: number, total: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.put([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.put(chunks.map((c) => c.chunk), cb);
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    // Report `written` only after the last write has landed.
    this.inFlight.then(() => cb(err), () => cb(err));
  }

  /** Resolves when no write is pending; `written` is final after it. */
  settled(): Promise<void> {
    return this.inFlight.catch(() => undefined);
  }

  private put(bufs: Buffer[], cb: (e?: Error | null) => void): void {
    const len = bufs.reduce((a, b) => a + b.length, 0);
    if (this.written + len > this.limit) return cb(new Error(`the response has more than the ${this.limit} bytes asked for`));
    this.inFlight = new Promise<void>((resolve) => {
      fs.writev(this.fd, bufs, this.start + this.written, (err, n) => {
        if (!err) {
          this.written += n;
          this.onWritten(n, this.written);
        }
        resolve();
        if (!err && n !== len) cb(new Error(`short write: ${n} of ${len} bytes`));
        else cb(err);
      });
    });
  }
}
