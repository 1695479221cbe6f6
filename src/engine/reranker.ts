/**
 * The facade the HTTP layer talks to: pairs in, logits and per-stage timings out, and the scores
 * those logits finish as (`scores`: the activation is applied here, nowhere else).
 * Splits a request into chunks that are tokenized in worker threads while earlier chunks already
 * wait in the batch queue, so tokenization overlaps inference, and holds permits for backpressure.
 */
import { Scheduler } from '../batching/scheduler';
import type { Activation, ModelSpec } from '../modelSpec/types';
import type { TokenizerPool } from '../tokenize/tokenizerPool';
import type { EncodeOptions, TextPair } from '../tokenize/types';
import { activate } from './activation';
import { scoreDocChunks, truncateDocuments, type ChunkedScoreOptions, type ChunkedScoreResult } from './chunkedScoring';
import { InferencePool } from './inferencePool';
import { abortError, queueItems, stageTimings } from './scoringSteps';
import type { RerankerLimits, ScoreOptions, ScoreResult } from './scoreTypes';

export type { RerankerLimits, ScoreOptions, ScoreResult, StageTimings } from './scoreTypes';
import { Permits } from './permits';
import type { YesNoGraphInfo } from './yesNoGraph';
import type { MemoryLayout } from './memoryLayout';

/** Pairs per tokenization task: small enough to overlap with inference, big enough to amortize. */
const CHUNK = 32;
/**
 * Characters per tokenization task at most (but one pair at least): a decoder's 8,192-char
 * instruction is in every pair's prompt, and 32 of them made tasks of a second or more that every
 * other request waited behind. A pair's own text counts up to PAIR_CHARS: truncation tokenizes
 * only the start of a longer text (splitTokenizer.ts).
 */
const TASK_CHARS = 64 * 1024;
const PAIR_CHARS = 16 * 1024;

/** Where the task starting at pair `start` ends: up to CHUNK pairs and TASK_CHARS characters. */
function taskEnd(pairs: readonly TextPair[], start: number, extra: number): number {
  let end = start;
  let chars = 0;
  while (end < pairs.length && end - start < CHUNK) {
    const [q, d] = pairs[end]!;
    chars += Math.min(PAIR_CHARS, q.length + (d?.length ?? 0)) + extra;
    if (chars > TASK_CHARS && end > start) break;
    end++;
  }
  return end;
}

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
   * Scores from logits (row-major, numLabels per pair), where scoring finishes for every route:
   * the model's activation, the logits as they are (raw_scores), or the activation a request names
   * (the Hugging Face shape's function_to_apply). The result cache keeps logits, so a cached pair
   * finishes here too.
   */
  scores(logits: Float32Array, numLabels: number, how: { readonly raw?: boolean; readonly activation?: Activation | undefined } = {}): Float64Array {
    return activate(logits, numLabels, how.activation ?? (how.raw ? 'identity' : this.spec.activation));
  }

  async score(pairs: readonly TextPair[], opts: ScoreOptions): Promise<ScoreResult> {
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
      const extra = opts.instruction?.length ?? 0;
      for (let start = 0, end = 0, tasks = 0; start < pairs.length; start = end, tasks++) {
        // Queuing tens of thousands of pairs is itself main-thread work: let /ping in now and then.
        if (tasks > 0 && tasks % 64 === 0) await new Promise((r) => setImmediate(r));
        end = taskEnd(pairs, start, extra);
        const slice = pairs.slice(start, end);
        const chunk = this.tokenizer.encodePairs(slice, enc, opts.signal).then((packed) => {
            tokenizedAt = Math.max(tokenizedAt, performance.now());
            const items = queueItems(packed, start);
            for (const it of items) {
              tokens += it.ids.length;
              pairTokens[it.index] = it.ids.length;
            }
            truncated += packed.truncated.reduce((n, t) => n + t, 0);
            this.scheduler.add(id, items);
          });
        // Handled below (allSettled); caught now so a failure while the loop yields is not unhandled.
        chunk.catch(() => undefined);
        chunks.push(chunk);
      }
      const settled = await Promise.allSettled(chunks);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        this.scheduler.cancel(id, failed.reason as Error);
        throw failed.reason;
      }
      const { logits, inferenceMs } = await done;
      return {
        logits,
        numLabels: this.spec.numLabels,
        tokens,
        pairTokens,
        truncated,
        timings: stageTimings(t0, tokenizedAt, inferenceMs),
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
    const { spec, tokenizer, scheduler, permits } = this;
    return scoreDocChunks({ spec, tokenizer, scheduler, permits }, pairs, opts);
  }

  /** Cuts documents to at most maxTokens tokens at a word boundary (Cohere's max_tokens_per_doc). */
  truncateDocuments(docs: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<string[]> {
    return truncateDocuments(this.tokenizer, docs, maxTokens, signal);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.tokenizer.close(), this.engine.close()]);
  }
}
