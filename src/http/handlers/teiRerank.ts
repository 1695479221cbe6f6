/** POST /rerank (TEI): {query, texts} -> [{index, score, text?}] sorted by score, best first. */
import { AppError } from '../../errors';
import type { RequestContext } from '../context';
import { resolveOptions, type BodyOptions } from '../options';
import { mapSliced, rank } from '../ranking';
import { teiRerankRequest, validate } from '../schemas';
import { Slicer } from '../slices';
import { scoreDocuments } from './scoreDocuments';

export interface RankedItem {
  readonly index: number;
  readonly score: number;
  readonly text?: string;
  /** With long_documents=chunk and return_chunk_offsets: the winning window's character offsets. */
  readonly chunk?: { readonly start: number; readonly end: number };
}

export function requireRerankerTask(ctx: RequestContext): void {
  const spec = ctx.reranker.spec;
  if (spec.task !== 'reranker') {
    throw new AppError('Validation', `this model is a classifier with ${spec.numLabels} labels (${spec.labels.join(', ')}); rerank needs a one-logit reranker: use /predict`);
  }
}

export async function teiRerank(ctx: RequestContext, body: unknown, attributes: BodyOptions): Promise<RankedItem[]> {
  const req = validate(teiRerankRequest, body, 'rerank request');
  if (req.texts.length === 0) throw new AppError('Empty', '`texts` is empty: send at least one text to rerank');
  requireRerankerTask(ctx);
  const opts = resolveOptions(req, attributes);
  const { scores, chunks } = await scoreDocuments(ctx, req.query, req.texts, opts, req);
  const slicer = new Slicer(ctx.signal);
  const ranked = await rank(scores, opts.topN, req.min_score, slicer);
  return mapSliced(
    ranked,
    ({ index, score }) => ({
      index,
      score,
      ...(opts.returnText ? { text: req.texts[index]! } : {}),
      ...(chunks ? { chunk: chunks[index]! } : {}),
    }),
    slicer,
  );
}
