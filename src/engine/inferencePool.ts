/**
 * A set of inference workers, each owning one ONNX Runtime session. Batches go to the worker
 * with the fewest batches outstanding. A worker that dies (native crash, out of memory, exit) has
 * its batches failed at once with a retryable 424 and is replaced; while no worker is alive the
 * pool reports itself unhealthy (/ping 503) and new batches get a 503. A replacement that dies
 * again before finishing a batch is retried with a growing delay, and after MAX_CRASHES_IN_A_ROW
 * the pool stops restarting and stays unhealthy with one clear log line, instead of looping.
 */
import { AppError } from '../errors';
import { logger } from '../log';
import { counter, gauge } from '../metrics';
import { startWorker, type TypedWorker } from '../workerThread';
import type { BatchTensors, FromWorker, Provider, ToWorker, WorkerInit } from './protocol';

const log = logger('engine');

const restartsTotal = counter('reranker_inference_worker_restarts_total', 'Inference workers started to replace one that died');
const liveGauge = gauge('reranker_inference_workers_live', 'Inference workers that are running and accept batches');

/** Crashes in a row (no batch finished in between) after which the pool gives up. */
export const MAX_CRASHES_IN_A_ROW = 5;
/** Delay before the 2nd, 3rd, ... restart in a row: 250 ms, 500 ms, 1 s, ... at most 8 s. The first is immediate. */
const backoffMs = (crashesInARow: number): number => (crashesInARow <= 1 ? 0 : Math.min(8000, 250 * 2 ** (crashesInARow - 2)));

export interface RunResult {
  readonly logits: Float32Array;
  readonly numLabels: number;
  readonly runMs: number;
}

interface Pending {
  resolve(r: RunResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: TypedWorker<ToWorker>;
  outstanding: Map<number, Pending>;
  alive: boolean;
  /** The worker finished a batch: its death is not part of a crash loop. */
  finishedBatch: boolean;
}

export interface PoolInfo {
  readonly provider: Provider;
  readonly fallbackReason?: string;
  readonly workers: number;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Workers running now (fewer than `workers` while one restarts). */
  readonly liveWorkers: number;
  /** Replacement workers started since start-up. */
  readonly restarts: number;
  /** Set when the pool gave up restarting: the engine cannot serve until the process is replaced. */
  readonly failure?: string;
  /** Start-up: the slowest session's creation and its one small warm-up run, ms. */
  readonly sessionMs?: number;
  readonly sessionWarmupMs?: number;
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closing = false;
  /** What the first worker reported; the counts are read live in `info`. */
  private infoValue: Omit<PoolInfo, 'workers' | 'liveWorkers' | 'restarts' | 'failure' | 'sessionMs' | 'sessionWarmupMs'> | undefined;
  private sessionMs = 0;
  private sessionWarmupMs = 0;
  private restarts = 0;
  private crashesInARow = 0;
  private failure: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly init: WorkerInit) {}

  static async create(init: WorkerInit, workers: number): Promise<InferencePool> {
    const pool = new InferencePool(init);
    // Sessions are created side by side (each in its own thread): start-up waits for the slowest, not the sum.
    const started = await Promise.allSettled(Array.from({ length: workers }, () => pool.spawn()));
    for (const s of started) if (s.status === 'fulfilled') pool.slots.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    pool.updateGauge();
    return pool;
  }

  get info(): PoolInfo {
    if (!this.infoValue) throw new Error('pool not started');
    return {
      ...this.infoValue,
      workers: this.slots.length,
      liveWorkers: this.liveWorkers,
      restarts: this.restarts,
      sessionMs: this.sessionMs,
      sessionWarmupMs: this.sessionWarmupMs,
      ...(this.failure !== undefined ? { failure: this.failure } : {}),
    };
  }

  get liveWorkers(): number {
    return this.slots.filter((s) => s.alive).length;
  }

  /** Batches outstanding across workers (running or waiting inside a worker). */
  get outstanding(): number {
    return this.slots.reduce((n, s) => n + s.outstanding.size, 0);
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Outstanding batches on the least busy live worker: the scheduler keeps this at most 1 (one
   * prepared). With no live worker it is 0, so queued batches are sent and fail fast (503) rather
   * than wait for a restart that may never come.
   */
  get minOutstanding(): number {
    const live = this.slots.filter((s) => s.alive);
    return live.length === 0 ? 0 : Math.min(...live.map((s) => s.outstanding.size));
  }

  /** Live workers with no batch outstanding. */
  get idleWorkers(): number {
    return this.slots.filter((s) => s.alive && s.outstanding.size === 0).length;
  }

  run(tensors: BatchTensors): Promise<RunResult> {
    if (this.closing) return Promise.reject(new AppError('Unhealthy', 'the engine is shutting down'));
    const slot = this.slots.filter((s) => s.alive).sort((a, b) => a.outstanding.size - b.outstanding.size)[0];
    if (!slot) {
      const why = this.failure ?? 'no inference worker is running: it is being restarted after a crash; retry in a few seconds';
      return Promise.reject(new AppError('Unhealthy', why));
    }
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      slot.outstanding.set(id, { resolve, reject });
      slot.worker.postMessage({ type: 'run', id, tensors }, [tensors.ids.buffer, tensors.typeIds.buffer, tensors.mask.buffer] as ArrayBuffer[]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(
      this.slots.map(async (s) => {
        s.alive = false;
        if (s.worker.threadId < 0) return; // already exited
        const exited = new Promise((r) => s.worker.once('exit', r));
        s.worker.postMessage({ type: 'close' });
        const timer = setTimeout(() => void s.worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.updateGauge();
  }

  private spawn(): Promise<Slot> {
    const worker = startWorker<ToWorker>(__filename, 'inferenceWorker', this.init);
    const slot: Slot = { worker, outstanding: new Map(), alive: false, finishedBatch: false };
    let lastError: string | undefined;
    return new Promise<Slot>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            slot.alive = true;
            this.sessionMs = Math.max(this.sessionMs, msg.sessionMs);
            this.sessionWarmupMs = Math.max(this.sessionWarmupMs, msg.warmupMs);
            this.infoValue ??= {
              provider: msg.provider,
              ...(msg.fallbackReason !== undefined ? { fallbackReason: msg.fallbackReason } : {}),
              inputNames: msg.inputNames,
              outputNames: msg.outputNames,
            };
            resolve(slot);
            return;
          case 'init-error':
            reject(new AppError('Model', `the ONNX session could not start: ${msg.message}`));
            void worker.terminate();
            return;
          case 'result': {
            slot.finishedBatch = true;
            this.crashesInARow = 0;
            const p = slot.outstanding.get(msg.id);
            slot.outstanding.delete(msg.id);
            p?.resolve({ logits: msg.logits, numLabels: msg.numLabels, runMs: msg.runMs });
            return;
          }
          case 'run-error': {
            const p = slot.outstanding.get(msg.id);
            slot.outstanding.delete(msg.id);
            p?.reject(new AppError('Backend', `the model failed on this batch: ${msg.message}`, { inputDependent: true }));
            return;
          }
        }
      });
      worker.on('error', (e) => {
        lastError = e.message;
        log.error('inference worker crashed', { error: e.message });
      });
      worker.on('exit', (code) => {
        // Settles nothing when 'ready' or 'init-error' came first; otherwise the start never hangs.
        if (!slot.alive) reject(new AppError('Model', `the inference worker exited (code ${code}) while starting${lastError ? `: ${lastError}` : ''}`));
        this.onExit(slot, code, lastError);
      });
    });
  }

  private onExit(slot: Slot, code: number, lastError: string | undefined): void {
    const wasAlive = slot.alive;
    slot.alive = false;
    this.updateGauge();
    const why = `the inference worker running this batch exited (code ${code}${lastError ? `: ${lastError}` : ''}); it is being restarted and the request can be retried`;
    for (const p of slot.outstanding.values()) p.reject(new AppError('Backend', why));
    slot.outstanding.clear();
    // A worker that never became ready is handled by whoever awaited spawn().
    if (this.closing || !wasAlive) return;
    const idx = this.slots.indexOf(slot);
    if (idx < 0) return;
    this.crashesInARow = slot.finishedBatch ? 1 : this.crashesInARow + 1;
    this.restart(idx, `exited with code ${code}${lastError ? ` (${lastError})` : ''}`);
  }

  /** Starts a replacement for slot idx after the back-off, or gives up after too many crashes in a row. */
  private restart(idx: number, why: string): void {
    if (this.closing) return;
    if (this.crashesInARow > MAX_CRASHES_IN_A_ROW) {
      this.failure ??= `the inference worker crashed ${MAX_CRASHES_IN_A_ROW + 1} times in a row without finishing a batch (last: ${why}); not restarting it again; replace this instance`;
      log.error(`inference engine unhealthy: ${this.failure}`, { slot: idx });
      return;
    }
    const delayMs = backoffMs(this.crashesInARow);
    log.warn('inference worker died; starting a new one', { slot: idx, reason: why, crashesInARow: this.crashesInARow, delayMs });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closing) return;
      restartsTotal.inc();
      this.restarts++;
      this.spawn().then(
        (s) => {
          if (this.closing) {
            void s.worker.terminate();
            return;
          }
          this.slots[idx] = s;
          this.updateGauge();
          log.info('inference worker restarted', { slot: idx, restarts: this.restarts, liveWorkers: this.liveWorkers });
        },
        (e: Error) => {
          this.crashesInARow++;
          this.restart(idx, e.message);
        },
      );
    }, delayMs);
    this.timers.add(timer);
  }

  private updateGauge(): void {
    liveGauge.set(this.liveWorkers);
  }
}
