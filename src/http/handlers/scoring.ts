/** Shared by every dialect: score pairs (through the result cache), finish them as scores (Reranker.scores), record timings. */
import type { Activation } from '../../modelSpec/types';
import type { RequestContext } from '../context';
import type { RequestOptions } from '../options';
import type { TextPair } from '../../tokenize/types';
import { cachedScores } from './cachedScores';

export interface Scored {
  /** Row-major [pairs, numLabels]: scores, or logits when raw_scores (and no activation was named). */
  readonly scores: Float64Array;
  readonly numLabels: number;
  readonly tokens: number;
}

/** `activation`: one the request names instead of the model's (function_to_apply); raw_scores is in opts. */
export async function scorePairs(ctx: RequestContext, pairs: readonly TextPair[], opts: RequestOptions, activation?: Activation): Promise<Scored> {
  // Before building or hashing anything per pair (the result cache keys every pair).
  ctx.checkBatchSize(pairs.length);
  const spec = ctx.reranker.spec;
  const key = { truncate: opts.truncate, direction: opts.direction ?? spec.truncationSide, maxLength: spec.maxInputLength, mode: 'pair', chunkStride: null, maxChunks: null, instruction: opts.instruction ?? null };
  const r = await cachedScores(ctx, pairs, key, spec.numLabels, async (missing) => {
    const scored = await ctx.reranker.score(missing, {
      truncate: opts.truncate,
      direction: opts.direction,
      signal: ctx.signal,
      ...(opts.instruction !== undefined ? { instruction: opts.instruction } : {}),
    });
    ctx.addTimings(scored.timings, { pairs: missing.length, tokens: scored.tokens });
    return scored;
  });
  const scores = ctx.reranker.scores(r.logits, spec.numLabels, { raw: opts.rawScores, activation });
  return { scores, numLabels: spec.numLabels, tokens: r.pairTokens.reduce((n, t) => n + t, 0) };
}
