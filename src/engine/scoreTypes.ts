/**
 * The shapes of a scoring call, in a type-only module: reranker.ts and chunkedScoring.ts both use
 * them without importing each other (reranker.ts re-exports them for its callers).
 */
export interface StageTimings {
  readonly tokenizationMs: number;
  readonly queueMs: number;
  readonly inferenceMs: number;
  readonly totalMs: number;
}

export interface ScoreResult {
  readonly logits: Float32Array;
  readonly numLabels: number;
  readonly timings: StageTimings;
  readonly tokens: number;
  /** Tokens of each pair, in input order (the result cache keeps them so usage is the same on a hit). */
  readonly pairTokens: Int32Array;
  readonly truncated: number;
}

export interface ScoreOptions {
  readonly truncate: boolean;
  /** Which end loses tokens; default the model's tokenizer setting (spec.truncationSide). */
  readonly direction?: 'right' | 'left' | undefined;
  /** Aborts the request: its waiting pairs leave the queue (client disconnected, deadline). */
  readonly signal?: AbortSignal;
  /** Decoder LLM rerankers: the prompt's instruction (undefined: the spec's default). */
  readonly instruction?: string;
}

export interface RerankerLimits {
  readonly maxBatchTokens: number;
  readonly maxBatchRequests: number;
  readonly maxConcurrentRequests: number;
}
