/** Shared by every dialect: score pairs, apply the activation, record timings. */
import { activate } from '../../engine/activation';
import type { RequestContext } from '../context';
import type { RequestOptions } from '../options';
import type { TextPair } from '../../tokenize/types';

export interface Scored {
  /** Row-major [pairs, numLabels]: activated scores, or logits when raw_scores. */
  readonly scores: Float64Array;
  readonly numLabels: number;
  readonly tokens: number;
}

export async function scorePairs(ctx: RequestContext, pairs: readonly TextPair[], opts: RequestOptions): Promise<Scored> {
  const r = await ctx.reranker.score(pairs, {
    truncate: opts.truncate,
    direction: opts.direction,
    signal: ctx.signal,
    ...(opts.instruction !== undefined ? { instruction: opts.instruction } : {}),
  });
  ctx.addTimings(r.timings, { pairs: pairs.length, tokens: r.tokens });
  const spec = ctx.reranker.spec;
  const scores = opts.rawScores ? Float64Array.from(r.logits) : activate(r.logits, r.numLabels, spec.activation);
  return { scores, numLabels: r.numLabels, tokens: r.tokens };
}
