/**
 * A pool of tokenizer worker threads. A request is split into contiguous shards spread over the
 * least-busy workers (so one large request uses every core), and the packed shards are joined in
 * order. Errors thrown in a worker come back with their error_type and status.
 *
 * Fair and cancellable: a worker holds at most PER_WORKER tasks (one running, one ready so it never
 * idles); the rest wait here, one queue per request (its AbortSignal), and the next task is taken
 * from the requests in turn. A small request therefore waits for at most a task or two of a large
 * one, not for all of it; and the queued tasks of a request whose client left or whose deadline
 * passed are dropped when its signal fires, so it stops using tokenizer time.
 */
import { AppError, messageOf } from '../errors';
import { startWorker, type TypedWorker } from '../workerThread';
import { concatChunks, concatPacked } from './packPairs';
import { SLICE_CHARS } from './docChunks';
import type { PairTemplate } from './pairTemplate';
import type { PromptTemplate } from './promptTemplates';
import { longDocChunks, SkippedTask, type RunTask } from './slicedChunks';
import type { PromptIds } from './promptEncoder';
import type { ChunkOptions, EncodeOptions, PackedChunks, PackedPairs, TextPair } from './types';
import type { TokenizerFiles } from './tokenizerFiles';
import { fromWire, type FromWorker, type ToWorker, type WorkerInit } from './workerProtocol';

export interface TokenizerPoolOptions {
  /** The tokenizer files the model folder's reader found (parsed), and the spec's pair template. */
  readonly tokenizer: TokenizerFiles;
  /** Worker threads; at least 1. */
  readonly workers: number;
  /** Decoder LLM rerankers: the prompt pairs are wrapped in (spec.yesNo.template). */
  readonly prompt?: PromptTemplate;
}

/** Fewer pairs than this per shard cost more in messaging than a second thread saves. */
const MIN_SHARD = 16;

/** The queue key of tasks that belong to no request (warm-up, tests). */
const UNOWNED = Symbol('unowned');

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new AppError('Timeout', 'the request was cancelled');
}

/** Tasks a worker holds at once: one running and one ready to start. */
const PER_WORKER = 2;

interface Task {
  readonly size: number;
  readonly message: (id: number) => ToWorker;
  readonly resolve: (p: unknown) => void;
  readonly reject: (e: Error) => void;
  /** False once the task's result is no longer needed: it is skipped, never sent (SkippedTask). */
  readonly live?: () => boolean;
}

/** Tasks of one request waiting for a worker. */
interface OwnerQueue {
  readonly tasks: Task[];
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

interface Pending {
  readonly size: number;
  readonly resolve: (p: unknown) => void;
  readonly reject: (e: Error) => void;
}

type Worker = TypedWorker<ToWorker>;

interface Slot {
  worker: Worker;
  readonly outstanding: Map<number, Pending>;
  /** Pairs sent and not yet answered: the load used to pick a worker. */
  load: number;
}

export class TokenizerPool {
  private readonly slots: Slot[] = [];
  /** Every live worker, ready or still loading, so close() can stop them all. */
  private readonly workers = new Set<Worker>();
  private nextId = 1;
  private closing = false;
  /** Requests with tasks waiting, in turn order (a Map keeps insertion order). */
  private readonly waiting = new Map<AbortSignal | symbol, OwnerQueue>();
  private promptIdsSeen: PromptIds | undefined;
  /** The pair template the workers use (from their ready message): long documents' windows are built here. */
  private templateSeen: PairTemplate | undefined;

  private constructor(private readonly init: WorkerInit) {}

  /** Resolves once every worker has loaded the tokenizer; rejects (424 Model) if it cannot load. */
  static async create(opts: TokenizerPoolOptions): Promise<TokenizerPool> {
    const pool = new TokenizerPool({ ...opts.tokenizer, ...(opts.prompt ? { prompt: opts.prompt } : {}) });
    const n = Math.max(1, Math.floor(opts.workers));
    const started = await Promise.allSettled(Array.from({ length: n }, () => pool.spawn()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw new AppError('Model', `tokenizer could not load from ${opts.tokenizer.from}: ${messageOf(failed.reason)}`, { cause: failed.reason });
    }
    return pool;
  }

  /** Decoder LLM rerankers: the prompt's prefix/suffix ids as the workers built them. */
  get promptIds(): PromptIds | undefined {
    return this.promptIdsSeen;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Encodes pairs; pair i of the result is input pair i. A null second text means one text. */
  async encodePairs(pairs: readonly TextPair[], opts: EncodeOptions, signal?: AbortSignal): Promise<PackedPairs> {
    if (pairs.length === 0) return concatPacked([]);
    const parts = await this.fanOut(pairs, (id, base, shard) => ({ type: 'pairs', id, base, pairs: shard, opts }), signal);
    return concatPacked(parts);
  }

  /**
   * Overlapping windows for each (query, doc); window w belongs to pair pairIndex[w]. A document
   * longer than SLICE_CHARS is tokenized in slices (slicedChunks.ts); the others as before, in
   * shards of whole documents.
   */
  async encodeDocChunks(pairs: ReadonlyArray<readonly [string, string]>, opts: ChunkOptions, signal?: AbortSignal): Promise<PackedChunks> {
    if (pairs.length === 0) return concatChunks([]);
    const template = this.templateSeen;
    const whole = (from: number, to: number): Promise<PackedPairs[]> =>
      this.fanOut(pairs.slice(from, to), (id, base, shard) => ({ type: 'chunks', id, base: from + base, pairs: shard, opts }), signal);
    const runs: Array<Promise<PackedPairs[]>> = [];
    let from = 0;
    for (let i = 0; i <= pairs.length; i++) {
      const long = i < pairs.length && template !== undefined && pairs[i]![1].length > SLICE_CHARS;
      if (i < pairs.length && !long) continue;
      if (from < i) runs.push(whole(from, i));
      if (long) {
        const run: RunTask = <T>(size: number, message: (id: number) => ToWorker, live?: () => boolean) => this.enqueue(size, message, signal, live) as Promise<T>;
        const at = i;
        runs.push(longDocChunks(run, template, pairs[i]![0], pairs[i]![1], opts, at).then((r) => (r === 'whole' ? whole(at, at + 1) : [r])));
      }
      from = i + 1;
    }
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return concatChunks(settled.flatMap((s) => (s as PromiseFulfilledResult<PackedPairs[]>).value) as PackedChunks[]);
  }

  async close(): Promise<void> {
    this.closing = true;
    const slots = this.slots.splice(0);
    const closed = new AppError('Unhealthy', 'tokenizer pool closed');
    for (const s of slots) this.failAll(s, closed);
    for (const key of [...this.waiting.keys()]) this.dropQueue(key, closed);
    const workers = [...this.workers];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private async fanOut<P extends TextPair>(
    pairs: readonly P[],
    message: (id: number, base: number, shard: readonly P[]) => ToWorker,
    signal: AbortSignal | undefined,
  ): Promise<PackedPairs[]> {
    if (this.closing) throw new AppError('Unhealthy', 'tokenizer pool closed');
    const shards = Math.max(1, Math.min(this.slots.length, Math.floor(pairs.length / MIN_SHARD)));
    const per = Math.ceil(pairs.length / shards);
    const runs: Promise<PackedPairs>[] = [];
    for (let base = 0; base < pairs.length; base += per) {
      const shard = pairs.slice(base, base + per);
      runs.push(this.enqueue(shard.length, (id) => message(id, base, shard), signal) as Promise<PackedPairs>);
    }
    // Wait for all shards so the reported error is the first failing pair, not the first to fail.
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<PackedPairs>).value);
  }

  /** Queues a task under its request; pump() hands it to a worker in turn. */
  private enqueue(size: number, message: (id: number) => ToWorker, signal: AbortSignal | undefined, live?: () => boolean): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<unknown>((resolve, reject) => {
      const key = signal ?? UNOWNED;
      let q = this.waiting.get(key);
      if (!q) {
        const onAbort = signal ? (): void => this.dropQueue(key, abortReason(signal)) : undefined;
        if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
        q = { tasks: [], signal, onAbort };
        this.waiting.set(key, q);
      }
      q.tasks.push({ size, message, resolve, reject, ...(live ? { live } : {}) });
      this.pump();
    });
  }

  /** Rejects every queued task of one request and forgets the queue. */
  private dropQueue(key: AbortSignal | symbol, e: Error): void {
    const q = this.waiting.get(key);
    if (!q) return;
    this.waiting.delete(key);
    if (q.signal && q.onAbort) q.signal.removeEventListener('abort', q.onAbort);
    for (const t of q.tasks.splice(0)) t.reject(e);
  }

  /** Gives waiting tasks to workers with room, taking one task from each request in turn. */
  private pump(): void {
    for (;;) {
      const slot = this.slots.reduce<Slot | undefined>((best, s) => (s.outstanding.size < PER_WORKER && (!best || s.load < best.load) ? s : best), undefined);
      const next = this.waiting.entries().next();
      if (next.done) return;
      const [key, q] = next.value;
      if (!slot) {
        if (this.slots.length === 0) this.dropQueue(key, new AppError('Backend', 'no tokenizer worker is running'));
        if (this.slots.length === 0) continue;
        return;
      }
      const task = q.tasks.shift()!;
      // Move this request to the back of the turn order (or forget it when it has nothing left).
      this.waiting.delete(key);
      if (q.tasks.length > 0) this.waiting.set(key, q);
      else if (q.signal && q.onAbort) q.signal.removeEventListener('abort', q.onAbort);
      if (task.live && !task.live()) {
        task.reject(new SkippedTask());
        continue;
      }
      const id = this.nextId++;
      slot.outstanding.set(id, { size: task.size, resolve: task.resolve, reject: task.reject });
      slot.load += task.size;
      slot.worker.postMessage(task.message(id));
    }
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.outstanding.get(id);
    if (!p) return undefined;
    slot.outstanding.delete(id);
    slot.load -= p.size;
    // A worker has room again: queueMicrotask so the settled task's own callbacks run first.
    queueMicrotask(() => this.pump());
    return p;
  }

  private failAll(slot: Slot, e: Error): void {
    for (const id of [...slot.outstanding.keys()]) this.settle(slot, id)?.reject(e);
  }

  /** Starts one worker; resolves when its tokenizer is loaded. */
  private spawn(): Promise<Slot> {
    const slot: Slot = { worker: startWorker<ToWorker>(__filename, 'tokenizeWorker', this.init), outstanding: new Map(), load: 0 };
    this.workers.add(slot.worker);
    return new Promise<Slot>((resolve, reject) => {
      let ready = false;
      slot.worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            ready = true;
            if (this.closing) {
              void slot.worker.terminate();
              reject(new AppError('Unhealthy', 'tokenizer pool closed'));
              break;
            }
            if (msg.promptIds) this.promptIdsSeen = msg.promptIds;
            this.templateSeen = msg.template;
            this.slots.push(slot);
            resolve(slot);
            this.pump();
            break;
          case 'initError':
            reject(fromWire(msg.error));
            break;
          case 'error':
            this.settle(slot, msg.id)?.reject(fromWire(msg.error));
            break;
          case 'words':
            this.settle(slot, msg.id)?.resolve(msg.words);
            break;
          case 'text':
            this.settle(slot, msg.id)?.resolve(msg.ids);
            break;
          default:
            this.settle(slot, msg.id)?.resolve(msg.packed);
        }
      });
      slot.worker.on('error', (e) => {
        if (!ready) reject(e);
      });
      slot.worker.on('exit', (code) => {
        this.workers.delete(slot.worker);
        if (!ready) {
          reject(new Error(`tokenizer worker exited with code ${code} while loading`));
          return;
        }
        const at = this.slots.indexOf(slot);
        if (at < 0) return; // closed by close()
        this.slots.splice(at, 1);
        this.failAll(slot, new AppError('Backend', `tokenizer worker exited with code ${code}`));
        // Replace it so one crash does not halve throughput for the rest of the process' life.
        if (!this.closing) this.spawn().catch(() => undefined);
      });
    });
  }
}
