/**
 * Main-thread side of hashWorker: one worker per download session, many files at once.
 * A job is fed the length of the file's complete prefix as ranges finish (in any order).
 * It uses only the start half of the worker primitive (startWorker): the worker lives for one
 * download (or one file's hash) and is never restarted (no WorkerSlot, workerSlot.ts); if it dies (an
 * uncaught error, or an exit), the digests still waiting and every later one fail with why.
 */
import { startWorker, type TypedWorker } from '../workerThread';
import type { DigestSpec } from './digest';
import type { FromHashWorker, ToHashWorker } from './hashWorker';

export interface HashJob {
  /** Bytes [0, upTo) of the file are final. Monotonic; smaller values are ignored. */
  advance(upTo: number): void;
  /** Resolves with the digest once the whole file (up to the last advance) is read. */
  finish(): Promise<string>;
  cancel(): void;
}

export class FileHasher {
  private worker: TypedWorker<ToHashWorker> | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(d: string): void; reject(e: Error): void }>();
  private failure: Error | undefined;

  /** Starts the worker now, so its boot overlaps the HEAD requests instead of the first digest. */
  warmUp(): void {
    this.ensure();
  }

  start(file: string, spec: DigestSpec): HashJob {
    const id = this.nextId++;
    this.post({ id, op: 'open', file, spec });
    let finished: Promise<string> | undefined;
    return {
      advance: (upTo) => this.post({ id, op: 'avail', upTo }),
      finish: () =>
        (finished ??= new Promise<string>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.waiting.set(id, { resolve, reject });
          this.post({ id, op: 'end' });
        })),
      cancel: () => {
        this.waiting.delete(id);
        this.post({ id, op: 'cancel' });
      },
    };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.waiting.values()) p.reject(this.failure);
    this.waiting.clear();
  }

  private post(m: ToHashWorker): void {
    if (this.failure) return;
    this.ensure().postMessage(m);
  }

  private ensure(): TypedWorker<ToHashWorker> {
    if (this.worker) return this.worker;
    const w = startWorker<ToHashWorker>(__filename, 'hashWorker');
    w.on('message', (m: FromHashWorker) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if ('digest' in m) p.resolve(m.digest);
      else p.reject(new Error(m.error));
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => {
      // close() forgets its worker first: only a death while in use fails the jobs.
      if (this.worker === w) this.fail(new Error(`the file hasher's worker exited (code ${code})`));
    });
    this.worker = w;
    return w;
  }
}
