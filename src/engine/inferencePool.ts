/**
 * A set of inference workers, each owning one ONNX Runtime session. Batches go to the worker
 * with the fewest batches outstanding; a worker that dies is replaced and its batches fail with a
 * 424 instead of hanging.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors';
import { logger } from '../log';
import type { BatchTensors, FromWorker, Provider, WorkerInit } from './protocol';

const log = logger('engine');

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
  worker: Worker;
  outstanding: Map<number, Pending>;
  alive: boolean;
}

export interface PoolInfo {
  readonly provider: Provider;
  readonly fallbackReason?: string;
  readonly workers: number;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

const WORKER_FILE = path.join(__dirname, 'inferenceWorker' + path.extname(__filename));

export class InferencePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closing = false;
  private infoValue: PoolInfo | undefined;

  private constructor(private readonly init: WorkerInit) {}

  static async create(init: WorkerInit, workers: number): Promise<InferencePool> {
    const pool = new InferencePool(init);
    try {
      for (let i = 0; i < workers; i++) pool.slots.push(await pool.spawn());
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get info(): PoolInfo {
    if (!this.infoValue) throw new Error('pool not started');
    return this.infoValue;
  }

  /** Batches outstanding across workers (running or waiting inside a worker). */
  get outstanding(): number {
    return this.slots.reduce((n, s) => n + s.outstanding.size, 0);
  }

  get size(): number {
    return this.slots.length;
  }

  /** Outstanding batches on the least busy worker: the scheduler keeps this at most 1 (one prepared). */
  get minOutstanding(): number {
    return Math.min(...this.slots.map((s) => s.outstanding.size));
  }

  /** Live workers with no batch outstanding. */
  get idleWorkers(): number {
    return this.slots.filter((s) => s.alive && s.outstanding.size === 0).length;
  }

  run(tensors: BatchTensors): Promise<RunResult> {
    if (this.closing) return Promise.reject(new AppError('Unhealthy', 'the engine is shutting down'));
    const slot = this.slots.filter((s) => s.alive).sort((a, b) => a.outstanding.size - b.outstanding.size)[0];
    if (!slot) return Promise.reject(new AppError('Backend', 'no inference worker is running'));
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      slot.outstanding.set(id, { resolve, reject });
      slot.worker.postMessage({ type: "run", id, tensors }, [tensors.ids.buffer, tensors.typeIds.buffer, tensors.mask.buffer] as ArrayBuffer[]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(async (s) => {
        s.alive = false;
        s.worker.postMessage({ type: 'close' });
        const timer = setTimeout(() => void s.worker.terminate(), 2000);
        await new Promise((r) => s.worker.once('exit', r));
        clearTimeout(timer);
      }),
    );
  }

  private spawn(): Promise<Slot> {
    const worker = new Worker(WORKER_FILE, { workerData: this.init });
    const slot: Slot = { worker, outstanding: new Map(), alive: false };
    return new Promise<Slot>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            slot.alive = true;
            this.infoValue ??= {
              provider: msg.provider,
              ...(msg.fallbackReason !== undefined ? { fallbackReason: msg.fallbackReason } : {}),
              workers: 0,
              inputNames: msg.inputNames,
              outputNames: msg.outputNames,
            };
            this.infoValue = { ...this.infoValue, workers: this.slots.length + 1 };
            resolve(slot);
            return;
          case 'init-error':
            reject(new AppError('Model', `the ONNX session could not start: ${msg.message}`));
            void worker.terminate();
            return;
          case 'result': {
            const p = slot.outstanding.get(msg.id);
            slot.outstanding.delete(msg.id);
            p?.resolve({ logits: msg.logits, numLabels: msg.numLabels, runMs: msg.runMs });
            return;
          }
          case 'run-error': {
            const p = slot.outstanding.get(msg.id);
            slot.outstanding.delete(msg.id);
            p?.reject(new AppError('Backend', `inference failed: ${msg.message}`));
            return;
          }
        }
      });
      worker.on('error', (e) => {
        log.error('inference worker crashed', { error: e.message });
        if (!slot.alive) reject(new AppError('Model', `the inference worker failed to start: ${e.message}`));
      });
      worker.on('exit', (code) => this.onExit(slot, code));
    });
  }

  private onExit(slot: Slot, code: number): void {
    const wasAlive = slot.alive;
    slot.alive = false;
    for (const p of slot.outstanding.values()) p.reject(new AppError('Backend', `the inference worker exited (code ${code})`));
    slot.outstanding.clear();
    if (this.closing || !wasAlive) return;
    log.warn('inference worker exited; starting a new one', { code });
    const idx = this.slots.indexOf(slot);
    this.spawn().then(
      (s) => {
        if (idx >= 0) this.slots[idx] = s;
      },
      (e: Error) => log.error('could not restart the inference worker', { error: e.message }),
    );
  }
}
