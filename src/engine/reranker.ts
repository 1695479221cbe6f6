/**
 * The facade the HTTP layer talks to: pairs in, logits and per-stage timings out.
 * Splits a request into chunks that are tokenized in worker threads while earlier chunks already
 * wait in the batch queue, so tokenization overlaps inference, and holds permits for backpressure.
 */
import { AppError } from '../errors';
import { Scheduler } from '../batching/scheduler';
import type { ModelSpec } from '../modelSpec/types';
import type { TokenizerPool } from '../tokenize/tokenizerPool';
import type { EncodeOptions, PackedPairs, TextPair } from '../tokenize/types';
import { scoreDocChunks, truncateDocuments, type ChunkedScoreOptions, type ChunkedScoreResult } from './chunkedScoring';
import { InferencePool } from './inferencePool';
import type { RerankerLimits, ScoreOptions, ScoreResult } from './scoreTypes';

export type { RerankerLimits, ScoreOptions, ScoreResult, StageTimings } from './scoreTypes';
import { Permits } from './permits';
import type { YesNoGraphInfo } from './yesNoGraph';
import type { MemoryLayout } from './memoryLayout';

/** Pairs per tokenization task: small enough to overlap with inference, big enough to amortize. */
const CHUNK = 32;

export class Reranker {
  private readonly permits: Permits;
  private readonly scheduler: Scheduler;
  /** Decoder LLM rerankers: whether the graph was rewritten (for /info). */
  decoderGraph?: YesNoGraphInfo;
  /** Sessions x threads and why (memoryLayout.ts), for the ready line and /info. */
  memoryLayout?: MemoryLayout;
  /** Start-up phases inside the engine, ms: tokenizer load, the .ort copy (shared layout), session creation (slowest), its warm-up run. */
  startupMs?: { readonly tokenizer: number; readonly ortCopy: number; readonly sessions: number; readonly sessionWarmup: number };

  constructor(
    readonly spec: ModelSpec,
    private readonly tokenizer: TokenizerPool,
    private readonly engine: InferencePool,
    private readonly limits: RerankerLimits,
    onBatch?: ConstructorParameters<typeof Scheduler>[1]['onBatch'],
  ) {
    this.permits = new Permits(limits.maxConcurrentRequests);
    this.scheduler = new Scheduler(engine, {
      maxBatchTokens: limits.maxBatchTokens,
      maxBatchRequests: limits.maxBatchRequests,
      padTokenId: spec.padTokenId,
      paddingSide: spec.paddingSide,
      numLabels: spec.numLabels,
      ...(onBatch ? { onBatch } : {}),
    });
  }

  get pairsInFlight(): number {
    return this.permits.inUse;
  }

  get queuedPairs(): number {
    return this.scheduler.queuedPairs;
  }

  /** The limits in force (MAX_BATCH_TOKENS resolved for the device). */
  get limitsInUse(): RerankerLimits {
    return this.limits;
  }

  get engineInfo(): InferencePool['info'] {
    return this.engine.info;
  }

  /**
   * A 422 for a call larger than MAX_CLIENT_BATCH_SIZE. Callers that do work per pair before scoring
   * (the result cache hashes every pair) call it first, so an oversized request costs nothing.
   */
  checkRequestSize(pairs: number): void {
    if (pairs > this.limits.maxClientBatchSize) {
      throw new AppError('Validation', `${pairs} documents is more than MAX_CLIENT_BATCH_SIZE=${this.limits.maxClientBatchSize}`);
    }
  }

  async score(pairs: readonly TextPair[], opts: ScoreOptions): Promise<ScoreResult> {
    this.checkRequestSize(pairs.length);
    const release = this.permits.acquire(pairs.length);
    const t0 = performance.now();
    const { id, done } = this.scheduler.open(pairs.length);
    const onAbort = (): void => this.scheduler.cancel(id, abortError(opts.signal));
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Keep a rejection from a cancelled request from going unhandled while tokenization runs.
    done.catch(() => undefined);

    const enc: EncodeOptions = {
      truncate: opts.truncate,
      direction: opts.direction ?? this.spec.truncationSide,
      maxLength: this.spec.maxInputLength,
      ...(opts.instruction !== undefined ? { instruction: opts.instruction } : {}),
    };
    let tokens = 0;
    let truncated = 0;
    let tokenizedAt = t0;
    const pairTokens = new Int32Array(pairs.length);
    try {
      const chunks: Promise<void>[] = [];
      for (let start = 0; start < pairs.length; start += CHUNK) {
        const slice = pairs.slice(start, start + CHUNK);
        chunks.push(
          this.tokenizer.encodePairs(slice, enc, opts.signal).then((packed) => {
            tokenizedAt = Math.max(tokenizedAt, performance.now());
            const items = unpack(packed, start);
            for (const it of items) {
              tokens += it.ids.length;
              pairTokens[it.index] = it.ids.length;
            }
            truncated += packed.truncated.reduce((n, t) => n + t, 0);
            this.scheduler.add(id, items);
          }),
        );
      }
      const settled = await Promise.allSettled(chunks);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        this.scheduler.cancel(id, failed.reason as Error);
        throw failed.reason;
      }
      const { logits, inferenceMs } = await done;
      const totalMs = performance.now() - t0;
      const tokenizationMs = tokenizedAt - t0;
      return {
        logits,
        numLabels: this.spec.numLabels,
        tokens,
        pairTokens,
        truncated,
        timings: { tokenizationMs, inferenceMs, queueMs: Math.max(0, totalMs - tokenizationMs - inferenceMs), totalMs },
      };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      release();
    }
  }

  /**
   * Scores documents longer than the window by their best overlapping window (chunkedScoring.ts);
   * logits has one entry per document, spans the winning window's character offsets.
   */
  scoreChunked(pairs: ReadonlyArray<readonly [string, string]>, opts: ChunkedScoreOptions): Promise<ChunkedScoreResult> {
    const { spec, tokenizer, scheduler, permits, limits } = this;
    return scoreDocChunks({ spec, tokenizer, scheduler, permits, limits }, pairs, opts);
  }

  /** Cuts documents to at most maxTokens tokens at a word boundary (Cohere's max_tokens_per_doc). */
  truncateDocuments(docs: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<string[]> {
    return truncateDocuments(this.tokenizer, docs, maxTokens, signal);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.tokenizer.close(), this.engine.close()]);
  }
}

function unpack(p: PackedPairs, base: number): Array<{ index: number; ids: Int32Array; typeIds: Uint8Array }> {
  const out: Array<{ index: number; ids: Int32Array; typeIds: Uint8Array }> = [];
  for (let i = 0; i + 1 < p.offsets.length; i++) {
    const a = p.offsets[i]!;
    const b = p.offsets[i + 1]!;
    out.push({ index: base + i, ids: p.ids.subarray(a, b), typeIds: p.typeIds.subarray(a, b) });
  }
  return out;
}

function abortError(signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new AppError('Timeout', 'the request was cancelled');
}
