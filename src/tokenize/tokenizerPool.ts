/**
 * A pool of tokenizer worker threads. A request is split into contiguous shards spread over the
 * least-busy workers (so one large request uses every core), and the packed shards are joined in
 * order. Errors thrown in a worker come back with their error_type and status.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError, messageOf } from '../errors';
import { concatChunks, concatPacked } from './packPairs';
import type { ChunkOptions, EncodeOptions, PackedChunks, PackedPairs, TextPair } from './types';
import type { TokenizerFiles } from './tokenizerFiles';
import { fromWire, type FromWorker, type ToWorker, type WorkerInit } from './workerProtocol';

export interface TokenizerPoolOptions {
  /** The tokenizer files the model folder's reader found (parsed), and the spec's pair template. */
  readonly tokenizer: TokenizerFiles;
  /** Worker threads; at least 1. */
  readonly workers: number;
}

/** Fewer pairs than this per shard cost more in messaging than a second thread saves. */
const MIN_SHARD = 16;

const WORKER_FILE = path.join(__dirname, 'tokenizeWorker' + path.extname(__filename));

interface Pending {
  readonly size: number;
  readonly resolve: (p: PackedPairs | PackedChunks) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  readonly outstanding: Map<number, Pending>;
  /** Pairs sent and not yet answered: the load used to pick a worker. */
  load: number;
}

function startWorker(init: WorkerInit): Worker {
  // Under tsx (tests, dev) Node 20 does not apply tsx's loader inside workers, so a .ts worker
  // is started through tsx's CommonJS register hook; the compiled .js needs nothing.
  if (WORKER_FILE.endsWith('.ts')) {
    const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(WORKER_FILE)});`;
    return new Worker(boot, { eval: true, workerData: init });
  }
  return new Worker(WORKER_FILE, { workerData: init });
}

export class TokenizerPool {
  private readonly slots: Slot[] = [];
  /** Every live worker, ready or still loading, so close() can stop them all. */
  private readonly workers = new Set<Worker>();
  private nextId = 1;
  private closing = false;

  private constructor(private readonly init: WorkerInit) {}

  /** Resolves once every worker has loaded the tokenizer; rejects (424 Model) if it cannot load. */
  static async create(opts: TokenizerPoolOptions): Promise<TokenizerPool> {
    const pool = new TokenizerPool(opts.tokenizer);
    const n = Math.max(1, Math.floor(opts.workers));
    const started = await Promise.allSettled(Array.from({ length: n }, () => pool.spawn()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw new AppError('Model', `tokenizer could not load from ${opts.tokenizer.from}: ${messageOf(failed.reason)}`, { cause: failed.reason });
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Encodes pairs; pair i of the result is input pair i. A null second text means one text. */
  async encodePairs(pairs: readonly TextPair[], opts: EncodeOptions): Promise<PackedPairs> {
    if (pairs.length === 0) return concatPacked([]);
    const parts = await this.fanOut(pairs, (id, base, shard) => ({ type: 'pairs', id, base, pairs: shard, opts }));
    return concatPacked(parts);
  }

  /** Overlapping windows for each (query, doc); window w belongs to pair pairIndex[w]. */
  async encodeDocChunks(pairs: ReadonlyArray<readonly [string, string]>, opts: ChunkOptions): Promise<PackedChunks> {
    if (pairs.length === 0) return concatChunks([]);
    const parts = await this.fanOut(pairs, (id, base, shard) => ({ type: 'chunks', id, base, pairs: shard, opts }));
    return concatChunks(parts as PackedChunks[]);
  }

  async close(): Promise<void> {
    this.closing = true;
    const slots = this.slots.splice(0);
    for (const s of slots) this.failAll(s, new AppError('Unhealthy', 'tokenizer pool closed'));
    const workers = [...this.workers];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private async fanOut<P extends TextPair>(
    pairs: readonly P[],
    message: (id: number, base: number, shard: readonly P[]) => ToWorker,
  ): Promise<PackedPairs[]> {
    if (this.closing) throw new AppError('Unhealthy', 'tokenizer pool closed');
    const shards = Math.max(1, Math.min(this.slots.length, Math.floor(pairs.length / MIN_SHARD)));
    const per = Math.ceil(pairs.length / shards);
    const runs: Promise<PackedPairs>[] = [];
    for (let base = 0; base < pairs.length; base += per) {
      const shard = pairs.slice(base, base + per);
      runs.push(this.dispatch(shard.length, (id) => message(id, base, shard)));
    }
    // Wait for all shards so the reported error is the first failing pair, not the first to fail.
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<PackedPairs>).value);
  }

  private dispatch(size: number, message: (id: number) => ToWorker): Promise<PackedPairs> {
    const slot = this.slots.reduce<Slot | undefined>((best, s) => (!best || s.load < best.load ? s : best), undefined);
    if (!slot) return Promise.reject(new AppError('Backend', 'no tokenizer worker is running'));
    const id = this.nextId++;
    return new Promise<PackedPairs>((resolve, reject) => {
      slot.outstanding.set(id, { size, resolve, reject });
      slot.load += size;
      slot.worker.postMessage(message(id));
    });
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.outstanding.get(id);
    if (!p) return undefined;
    slot.outstanding.delete(id);
    slot.load -= p.size;
    return p;
  }

  private failAll(slot: Slot, e: Error): void {
    for (const id of [...slot.outstanding.keys()]) this.settle(slot, id)?.reject(e);
  }

  /** Starts one worker; resolves when its tokenizer is loaded. */
  private spawn(): Promise<Slot> {
    const slot: Slot = { worker: startWorker(this.init), outstanding: new Map(), load: 0 };
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
            this.slots.push(slot);
            resolve(slot);
            break;
          case 'initError':
            reject(fromWire(msg.error));
            break;
          case 'error':
            this.settle(slot, msg.id)?.reject(fromWire(msg.error));
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
