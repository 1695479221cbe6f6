/**
 * Every message that crosses the boundary between the main thread and an inference worker.
 * One file holds them all so that both sides agree on the shapes.
 */
import type { ModelInputs } from '../modelSpec/types';

/** DEVICE: what the user asked for (config.ts reads it); Provider: what a session runs on. */
export const DEVICES = ['auto', 'cuda', 'cpu'] as const;
export type Device = (typeof DEVICES)[number];
export type Provider = 'cuda' | 'cpu';

export interface WorkerInit {
  readonly modelPath: string;
  readonly device: Device;
  readonly cudaDeviceId: number;
  readonly intraOpThreads: number;
  /** Session config entries (`extra.session`) on CPU: the memory-mapped .ort load (ortFormat.ts). */
  readonly sessionConfig?: Readonly<Record<string, string>>;
  readonly inputs: ModelInputs;
  readonly outputName: string;
  /** Decoder LLM rerankers: what the graph outputs and the scoring token ids (yesNoScores.ts). */
  readonly yesNo?: { readonly output: 'pair' | 'vocab' | 'score'; readonly tokenIds: readonly number[] };
  /** Why DEVICE=auto was resolved to CPU before start (no CUDA here); reported as the fallback reason. */
  readonly cpuReason?: string;
  /** FAULT_INJECTION=worker-exit:PATH (testing only): see config.ts. */
  readonly faultExitFile?: string;
}

import type { BatchTensors } from '../batching/tensors';

export type { BatchTensors };

export type ToWorker = { readonly type: 'run'; readonly id: number; readonly tensors: BatchTensors } | { readonly type: 'close' };

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly provider: Provider;
      readonly fallbackReason?: string;
      readonly inputNames: string[];
      readonly outputNames: string[];
      /** InferenceSession.create, and the one small warm-up run that followed it, ms */
      readonly sessionMs: number;
      readonly warmupMs: number;
    }
  | { readonly type: 'init-error'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly logits: Float32Array; readonly numLabels: number; readonly runMs: number }
  | { readonly type: 'run-error'; readonly id: number; readonly message: string };
