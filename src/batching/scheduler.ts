/**
 * The one owner of queue state. Pairs from every in-flight request wait here; whenever an
 * inference worker has fewer than `depth` batches outstanding (one running, one prepared), the
 * next batch is picked by pickBatch, padded, and sent. Results are routed back to the requests
 * they came from. A cancelled request's pairs leave the queue at once. When the session rejects a
 * batch that mixes several requests, each request is run again on its own, so one request's bad
 * input fails that request only.
 */
import { AppError, isAppError } from '../errors';
import type { BatchTensors } from './tensors';
import { pickBatch, type BatchLimits, type Candidate } from './pickBatch';

export interface QueuedPair extends Candidate {
  readonly index: number;
  readonly ids: Int32Array;
  readonly typeIds: Uint8Array;
}

export interface RunOutput {
  readonly logits: Float32Array;
  readonly numLabels: number;
  readonly runMs: number;
}

export interface BatchRunner {
  run(t: BatchTensors): Promise<RunOutput>;
  readonly minOutstanding: number;
  /** Workers with nothing to do; more than one lets a small queue be split between them. */
  readonly idleWorkers?: number;
}

export interface SchedulerOptions extends BatchLimits {
  readonly padTokenId: number;
  readonly paddingSide: 'right' | 'left';
  readonly numLabels: number;
  /** Batches a worker may hold: 1 running + 1 prepared. */
  readonly depth?: number;
  readonly onBatch?: (stats: { pairs: number; requests: number; paddedTokens: number; realTokens: number; runMs: number; pairTokens: readonly number[] }) => void;
}

interface RequestState {
  readonly logits: Float32Array;
  remaining: number;
  /** [start, end] of each batch run this request had pairs in (main-thread clock). */
  readonly runs: Array<[number, number]>;
  cancelled: boolean;
  resolve(r: { logits: Float32Array; inferenceMs: number }): void;
  reject(e: Error): void;
}

export class Scheduler {
  private queue: QueuedPair[] = [];
  private readonly requests = new Map<number, RequestState>();
  private nextRequestId = 1;
  private nextSeq = 1;
  private readonly depth: number;

  constructor(
    private readonly runner: BatchRunner,
    private readonly opts: SchedulerOptions,
  ) {
    this.depth = opts.depth ?? 2;
  }

  get queuedPairs(): number {
    return this.queue.length;
  }

  /** Opens a request of `pairCount` pairs; its pairs arrive later through add(). */
  open(pairCount: number): { id: number; done: Promise<{ logits: Float32Array; inferenceMs: number }> } {
    const id = this.nextRequestId++;
    const done = new Promise<{ logits: Float32Array; inferenceMs: number }>((resolve, reject) => {
      this.requests.set(id, {
        logits: new Float32Array(pairCount * this.opts.numLabels),
        remaining: pairCount,
        runs: [],
        cancelled: false,
        resolve,
        reject,
      });
    });
    if (pairCount === 0) this.finish(id);
    return { id, done };
  }

  /** Adds encoded pairs of request `id`; index is the pair's position in the request. */
  add(id: number, pairs: ReadonlyArray<{ index: number; ids: Int32Array; typeIds: Uint8Array }>): void {
    const req = this.requests.get(id);
    if (!req || req.cancelled) return;
    for (const p of pairs) {
      this.queue.push({ requestId: id, seq: this.nextSeq++, length: p.ids.length, index: p.index, ids: p.ids, typeIds: p.typeIds });
    }
    this.pump();
  }

  /** Drops the request's waiting pairs (client gone, deadline passed) and fails its promise. */
  cancel(id: number, reason: Error): void {
    const req = this.requests.get(id);
    if (!req) return;
    req.cancelled = true;
    this.requests.delete(id);
    this.queue = this.queue.filter((p) => p.requestId !== id);
    req.reject(reason);
  }

  private finish(id: number): void {
    const req = this.requests.get(id);
    if (!req) return;
    this.requests.delete(id);
    req.resolve({ logits: req.logits, inferenceMs: unionMs(req.runs) });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.runner.minOutstanding < this.depth) {
      // With k idle workers (light load, several single-threaded CPU sessions), a queue that one
      // batch would swallow is cut into k batches that run side by side, so one request of 10
      // pairs uses every core; under load at most one worker is idle and batches stay whole.
      const idle = this.runner.idleWorkers ?? 0;
      const limits = idle > 1 ? { ...this.opts, maxBatchPairs: Math.ceil(this.queue.length / idle) } : this.opts;
      const picked = pickBatch(this.queue, limits);
      const chosen = new Set(picked);
      const batch = picked.map((i) => this.queue[i]!);
      this.queue = this.queue.filter((_, i) => !chosen.has(i));
      this.dispatch(batch);
    }
  }

  private dispatch(batch: QueuedPair[], isolated = false): void {
    const tensors = pack(batch, this.opts.padTokenId, this.opts.paddingSide);
    const realTokens = batch.reduce((n, p) => n + p.length, 0);
    this.runner.run(tensors).then(
      (out) => {
        const end = performance.now();
        this.opts.onBatch?.({
          pairs: batch.length,
          requests: new Set(batch.map((p) => p.requestId)).size,
          paddedTokens: tensors.batch * tensors.seqLen,
          realTokens,
          runMs: out.runMs,
          pairTokens: batch.map((p) => p.length),
        });
        const seen = new Set<number>();
        batch.forEach((p, row) => {
          const req = this.requests.get(p.requestId);
          if (!req || req.cancelled) return;
          const L = out.numLabels;
          req.logits.set(out.logits.subarray(row * L, row * L + L), p.index * L);
          if (!seen.has(p.requestId)) {
            seen.add(p.requestId);
            req.runs.push([end - out.runMs, end]);
          }
          if (--req.remaining === 0) this.finish(p.requestId);
        });
        this.pump();
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new AppError('Backend', String(e));
        const ids = [...new Set(batch.map((p) => p.requestId))];
        if (!isolated && ids.length > 1 && isAppError(err) && err.inputDependent) {
          for (const id of ids) {
            const own = batch.filter((p) => p.requestId === id && this.requests.get(id)?.cancelled === false);
            if (own.length > 0) this.dispatch(own, true);
          }
        } else {
          for (const id of ids) this.cancel(id, err);
        }
        this.pump();
      },
    );
  }
}

/**
 * Time during which at least one of a request's batches ran. With several inference workers its
 * batches overlap, and a plain sum could exceed the request's total time.
 */
export function unionMs(runs: Array<[number, number]>): number {
  runs.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let until = Number.NEGATIVE_INFINITY;
  for (const [s, e] of runs) {
    if (e <= until) continue;
    total += e - Math.max(s, until);
    until = e;
  }
  return total;
}

/** Pads rows to the longest one on the side the tokenizer pads. */
export function pack(batch: readonly QueuedPair[], padId: number, side: 'right' | 'left'): BatchTensors {
  const seqLen = batch.reduce((m, p) => Math.max(m, p.length), 0);
  const n = batch.length;
  const ids = new Int32Array(n * seqLen).fill(padId);
  const typeIds = new Uint8Array(n * seqLen);
  const mask = new Uint8Array(n * seqLen);
  batch.forEach((p, row) => {
    const start = row * seqLen + (side === 'left' ? seqLen - p.length : 0);
    ids.set(p.ids, start);
    typeIds.set(p.typeIds, start);
    mask.fill(1, start, start + p.length);
  });
  return { batch: n, seqLen, ids, typeIds, mask };
}
