/**
 * A set of inference workers, each owning one ONNX Runtime session, each kept running by a
 * WorkerSlot (workerSlot.ts). Batches go to the worker with the fewest batches outstanding. A worker
 * that dies (native crash, out of memory, exit) has its batches failed at once with a retryable 424
 * and is replaced; while no worker is alive the pool reports itself unhealthy (/ping 503) and new
 * batches get a 503. The policy (INFERENCE_RESTARTS): the first restart at once, a replacement that
 * dies again before finishing a batch after a growing delay, and at the 6th crash in a row the slot
 * stops restarting and the pool stays unhealthy with one clear log line, instead of looping.
 */
import { AppError } from '../errors';
import { logger } from '../log';
import { counter, gauge } from '../metrics';
import { doublingBackoff, WorkerSlot, type RestartPolicy, type SlotEvent } from '../workerSlot';
import { startWorker } from '../workerThread';
import type { BatchTensors, FromWorker, Provider, ToWorker, WorkerInit } from './protocol';

const log = logger('engine');

const restartsTotal = counter('reranker_inference_worker_restarts_total', 'Inference workers started to replace one that died');
const liveGauge = gauge('reranker_inference_workers_live', 'Inference workers that are running and accept batches');

/**
 * Restart at once after a crash; 250 ms, 500 ms, 1 s, ... (at most 8 s) before the 2nd, 3rd, ...
 * crash in a row (no batch finished in between); the 6th crash in a row is not restarted.
 */
export const INFERENCE_RESTARTS: RestartPolicy = { maxCrashes: 6, backoffMs: doublingBackoff(250, 8000) };

export interface RunResult {
  readonly logits: Float32Array;
  readonly numLabels: number;
  readonly runMs: number;
}

type Slot = WorkerSlot<ToWorker, FromWorker>;

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
  private closing = false;
  /** What the first worker reported; the counts are read live in `info`. */
  private infoValue: Omit<PoolInfo, 'workers' | 'liveWorkers' | 'restarts' | 'failure' | 'sessionMs' | 'sessionWarmupMs'> | undefined;
  private sessionMs = 0;
  private sessionWarmupMs = 0;
  /** The first slot that gave up: the engine cannot serve until the process is replaced. */
  private failure: string | undefined;

  private constructor(private readonly init: WorkerInit) {}

  static async create(init: WorkerInit, workers: number): Promise<InferencePool> {
    const pool = new InferencePool(init);
    for (let i = 0; i < workers; i++) pool.slots.push(pool.newSlot(i));
    // Sessions are created side by side (each in its own thread): start-up waits for the slowest, not the sum.
    const started = await Promise.allSettled(pool.slots.map((s) => s.start()));
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
    return this.slots.filter((s) => s.live).length;
  }

  /** Replacement workers started since start-up. */
  private get restarts(): number {
    return this.slots.reduce((n, s) => n + s.restarts, 0);
  }

  /** Batches outstanding across workers (running or waiting inside a worker). */
  get outstanding(): number {
    return this.slots.reduce((n, s) => n + s.inFlight, 0);
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
    const live = this.slots.filter((s) => s.live);
    return live.length === 0 ? 0 : Math.min(...live.map((s) => s.inFlight));
  }

  /** Live workers with no batch outstanding. */
  get idleWorkers(): number {
    return this.slots.filter((s) => s.live && s.inFlight === 0).length;
  }

  run(tensors: BatchTensors): Promise<RunResult> {
    if (this.closing) return Promise.reject(new AppError('Unhealthy', 'the engine is shutting down'));
    const slot = this.slots.filter((s) => s.live).sort((a, b) => a.inFlight - b.inFlight)[0];
    if (!slot) {
      const why = this.failure ?? 'no inference worker is running: it is being restarted after a crash; retry in a few seconds';
      return Promise.reject(new AppError('Unhealthy', why));
    }
    const buffers = [tensors.ids.buffer, tensors.typeIds.buffer, tensors.mask.buffer] as ArrayBuffer[];
    return slot.request((id) => ({ type: 'run', id, tensors }), buffers) as Promise<RunResult>;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.close()));
    this.updateGauge();
  }

  /** Slot idx: the inference worker's handshake and answers, and what its crashes log and count. */
  private newSlot(idx: number): Slot {
    return new WorkerSlot<ToWorker, FromWorker>({
      name: 'inference worker',
      taskNoun: 'batch',
      start: () => startWorker<ToWorker>(__filename, 'inferenceWorker', this.init),
      handshake: (msg) =>
        msg.type === 'ready' ? undefined : new AppError('Model', `the ONNX session could not start: ${msg.type === 'init-error' ? msg.message : `unexpected first message '${msg.type}'`}`),
      reply: (msg) => {
        if (msg.type === 'result') return { id: msg.id, value: { logits: msg.logits, numLabels: msg.numLabels, runMs: msg.runMs } satisfies RunResult };
        if (msg.type === 'run-error') return { id: msg.id, error: new AppError('Backend', `the model failed on this batch: ${msg.message}`, { inputDependent: true }) };
        return undefined;
      },
      policy: INFERENCE_RESTARTS,
      // The worker releases its session and exits; one that does not within 2 s is terminated.
      stop: { message: { type: 'close' }, graceMs: 2000 },
      closedError: () => new AppError('Unhealthy', 'the engine is shutting down'),
      onEvent: (e) => this.onSlotEvent(idx, e),
    });
  }

  private onSlotEvent(idx: number, e: SlotEvent<FromWorker>): void {
    switch (e.type) {
      case 'ready': {
        const msg = e.reply;
        if (msg.type !== 'ready') return;
        this.sessionMs = Math.max(this.sessionMs, msg.sessionMs);
        this.sessionWarmupMs = Math.max(this.sessionWarmupMs, msg.warmupMs);
        this.infoValue ??= {
          provider: msg.provider,
          ...(msg.fallbackReason !== undefined ? { fallbackReason: msg.fallbackReason } : {}),
          inputNames: msg.inputNames,
          outputNames: msg.outputNames,
        };
        if (e.restarts > 0) {
          this.updateGauge();
          log.info('inference worker restarted', { slot: idx, restarts: this.restarts, liveWorkers: this.liveWorkers });
        }
        return;
      }
      case 'error':
        log.error('inference worker crashed', { error: e.error.message });
        return;
      case 'crash':
        this.updateGauge();
        log.warn('inference worker died; starting a new one', { slot: idx, reason: e.reason, crashesInARow: e.crashesInARow, delayMs: e.delayMs });
        return;
      case 'restarting':
        restartsTotal.inc();
        return;
      case 'gave-up':
        this.updateGauge();
        this.failure ??= `the inference worker crashed ${e.crashesInARow} times in a row without finishing a batch (last: ${e.reason}); not restarting it again; replace this instance`;
        log.error(`inference engine unhealthy: ${this.failure}`, { slot: idx });
        return;
    }
  }

  private updateGauge(): void {
    liveGauge.set(this.liveWorkers);
  }
}
