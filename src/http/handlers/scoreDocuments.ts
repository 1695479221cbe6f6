/**
 * Scores one query against many documents for every rerank shape (TEI, Cohere v1/v2, Jina):
 * optional cut to a token budget (max_tokens_per_doc), then either ordinary pairs truncated to the
 * model window, or overlapping windows with the best one winning (long_documents=chunk).
 */
import { AppError } from '../../errors';
import type { RequestContext } from '../context';
import type { RequestOptions } from '../options';
import { cachedScores } from './cachedScores';
import { scorePairs } from './scoring';

export interface LongDocumentOptions {
  readonly long_documents?: 'truncate' | 'chunk' | undefined;
  readonly return_chunk_offsets?: boolean | undefined;
  readonly chunk_stride?: number | undefined;
  /** Cohere v1: windows per document at most; implies chunking. */
  readonly max_chunks_per_doc?: number | undefined;
  readonly max_tokens_per_doc?: number | undefined;
}

export interface ScoredDocuments {
  /** In input order: activated scores, or logits with raw_scores. */
  readonly scores: Float64Array;
  /** Per document, only with return_chunk_offsets: the winning window's UTF-16 offsets. */
  readonly chunks?: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  /** Pairs (or windows) scored: Cohere's billing counts them. */
  readonly units: number;
  readonly tokens: number;
}

export async function scoreDocuments(ctx: RequestContext, query: string, docs: readonly string[], opts: RequestOptions, long: LongDocumentOptions): Promise<ScoredDocuments> {
  const chunk = long.long_documents === 'chunk' || (long.long_documents === undefined && long.max_chunks_per_doc !== undefined);
  if (long.return_chunk_offsets && !chunk) {
    throw new AppError('Validation', 'return_chunk_offsets needs long_documents="chunk" (with truncation there is no chunk to point at)');
  }
  ctx.checkBatchSize(docs.length);
  const texts = long.max_tokens_per_doc !== undefined ? await ctx.reranker.truncateDocuments(docs, long.max_tokens_per_doc, ctx.signal) : docs;
  const pairs = texts.map((t) => [query, t] as const);
  if (!chunk) {
    const r = await scorePairs(ctx, pairs, opts);
    return { scores: r.scores, units: pairs.length, tokens: r.tokens };
  }
  const spec = ctx.reranker.spec;
  const key = { truncate: opts.truncate, direction: opts.direction ?? spec.truncationSide, maxLength: spec.maxInputLength, mode: 'chunk', chunkStride: long.chunk_stride ?? null, maxChunks: long.max_chunks_per_doc ?? null, instruction: opts.instruction ?? null };
  const r = await cachedScores(ctx, pairs, key, 1, async (missing) => {
    const scored = await ctx.reranker.scoreChunked(missing as Array<readonly [string, string]>, {
      signal: ctx.signal,
      maxWindows: ctx.budgets.maxChunkWindows,
      ...(opts.instruction !== undefined ? { instruction: opts.instruction } : {}),
      ...(long.chunk_stride !== undefined ? { stride: long.chunk_stride } : {}),
      ...(long.max_chunks_per_doc !== undefined ? { maxChunks: long.max_chunks_per_doc } : {}),
    });
    ctx.addTimings(scored.timings, { pairs: scored.windows.reduce((n, w) => n + w, 0), tokens: scored.tokens });
    return scored;
  });
  const units = r.windows!.reduce((n, w) => n + w, 0);
  const tokens = r.pairTokens.reduce((n, t) => n + t, 0);
  const scores = ctx.reranker.scores(r.logits, 1, { raw: opts.rawScores });
  if (!long.return_chunk_offsets) return { scores, units, tokens };
  return { scores, units, tokens, chunks: r.spans!.map(([start, end]) => ({ start, end })) };
}
