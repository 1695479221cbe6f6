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
 *
 * Each worker is kept running by a WorkerSlot (workerSlot.ts): one that dies fails only the tasks
 * it held (424) and is replaced (TOKENIZER_RESTARTS: at once; a replacement that dies again before
 * finishing a task waits 250 ms, 500 ms, ... at most 8 s; it never gives up). While no worker is
 * running, waiting tasks fail at once (424) instead of waiting for the restart.
 */
import { AppError, messageOf } from '../errors';
import { logger } from '../log';
import { doublingBackoff, WorkerSlot, type RestartPolicy, type SlotEvent } from '../workerSlot';
import { startWorker } from '../workerThread';
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

const log = logger('tokenize');

/** Restart at once after a crash; 250 ms, 500 ms, ... at most 8 s before the 2nd, 3rd, ... in a row; never give up. */
export const TOKENIZER_RESTARTS: RestartPolicy = { maxCrashes: Infinity, backoffMs: doublingBackoff(250, 8000) };

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

interface Lane {
  readonly slot: WorkerSlot<ToWorker, FromWorker>;
  /** Pairs sent and not yet answered: the load used to pick a worker. */
  load: number;
}

export class TokenizerPool {
  private readonly slots: Lane[] = [];
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
    for (let i = 0; i < n; i++) pool.slots.push({ slot: pool.newSlot(i), load: 0 });
    const started = await Promise.allSettled(pool.slots.map((l) => l.slot.start()));
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

  /** Workers running now (fewer while one restarts). */
  get size(): number {
    return this.slots.filter((l) => l.slot.live).length;
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
    const closing = Promise.all(this.slots.map((l) => l.slot.close()));
    for (const key of [...this.waiting.keys()]) this.dropQueue(key, closedError());
    await closing;
  }

  private async fanOut<P extends TextPair>(
    pairs: readonly P[],
    message: (id: number, base: number, shard: readonly P[]) => ToWorker,
    signal: AbortSignal | undefined,
  ): Promise<PackedPairs[]> {
    if (this.closing) throw new AppError('Unhealthy', 'tokenizer pool closed');
    const shards = Math.max(1, Math.min(this.size, Math.floor(pairs.length / MIN_SHARD)));
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
      const live = this.slots.filter((l) => l.slot.live);
      const lane = live.reduce<Lane | undefined>((best, l) => (l.slot.inFlight < PER_WORKER && (!best || l.load < best.load) ? l : best), undefined);
      const next = this.waiting.entries().next();
      if (next.done) return;
      const [key, q] = next.value;
      if (!lane) {
        if (live.length === 0) this.dropQueue(key, new AppError('Backend', 'no tokenizer worker is running'));
        if (live.length === 0) continue;
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
      lane.load += task.size;
      const done = (): void => {
        lane.load -= task.size;
        // A worker has room again: queueMicrotask so the settled task's own callbacks run first.
        queueMicrotask(() => this.pump());
      };
      lane.slot.request(task.message).then(
        (v) => {
          done();
          task.resolve(v);
        },
        (e: Error) => {
          done();
          task.reject(e);
        },
      );
    }
  }

  /** Slot idx: the tokenizer worker's handshake and answers; a restarted one takes waiting tasks. */
  private newSlot(idx: number): WorkerSlot<ToWorker, FromWorker> {
    return new WorkerSlot<ToWorker, FromWorker>({
      name: 'tokenizer worker',
      taskNoun: 'task',
      start: () => startWorker<ToWorker>(__filename, 'tokenizeWorker', this.init),
      handshake: (msg) => (msg.type === 'ready' ? undefined : msg.type === 'initError' ? fromWire(msg.error) : new Error(`tokenizer worker: unexpected first message '${msg.type}'`)),
      reply: (msg) => {
        switch (msg.type) {
          case 'ready':
          case 'initError':
            return undefined;
          case 'error':
            return { id: msg.id, error: fromWire(msg.error) };
          case 'words':
            return { id: msg.id, value: msg.words };
          case 'text':
            return { id: msg.id, value: msg.ids };
          default:
            return { id: msg.id, value: msg.packed };
        }
      },
      policy: TOKENIZER_RESTARTS,
      closedError,
      onEvent: (e) => this.onSlotEvent(idx, e),
    });
  }

  private onSlotEvent(idx: number, e: SlotEvent<FromWorker>): void {
    switch (e.type) {
      case 'ready':
        if (e.reply.type !== 'ready') return;
        if (e.reply.promptIds) this.promptIdsSeen = e.reply.promptIds;
        this.templateSeen = e.reply.template;
        if (e.restarts > 0) log.info('tokenizer worker restarted', { slot: idx, restarts: e.restarts });
        this.pump();
        return;
      case 'error':
        log.error('tokenizer worker crashed', { error: e.error.message });
        return;
      case 'crash':
        log.warn('tokenizer worker died; starting a new one', { slot: idx, reason: e.reason, crashesInARow: e.crashesInARow, delayMs: e.delayMs });
        return;
      case 'restarting':
        return;
      case 'gave-up':
        log.error('tokenizer worker not restarted again', { slot: idx, reason: e.reason, crashesInARow: e.crashesInARow });
        return;
    }
  }
}

function closedError(): AppError {
  return new AppError('Unhealthy', 'tokenizer pool closed');
}
