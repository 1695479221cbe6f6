/** Shared by every dialect: score pairs (through the result cache), apply the activation, record timings. */
import { activate } from '../../engine/activation';
import type { RequestContext } from '../context';
import type { RequestOptions } from '../options';
import type { TextPair } from '../../tokenize/types';
import { cachedScores } from './cachedScores';

export interface Scored {
  /** Row-major [pairs, numLabels]: activated scores, or logits when raw_scores. */
  readonly scores: Float64Array;
  readonly numLabels: number;
  readonly tokens: number;
}

export async function scorePairs(ctx: RequestContext, pairs: readonly TextPair[], opts: RequestOptions): Promise<Scored> {
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
  const scores = opts.rawScores ? Float64Array.from(r.logits) : activate(r.logits, spec.numLabels, spec.activation);
  return { scores, numLabels: spec.numLabels, tokens: r.pairTokens.reduce((n, t) => n + t, 0) };
}
