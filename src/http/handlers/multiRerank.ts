/**
 * POST /rerank/multi (and `{queries, documents}` on /invocations): many queries against the same
 * documents in one call, one ranked list per query in query order (vLLM's /score pairs items one to
 * one; this is the cross product). The pairs are queued document-major, so the pairs of one
 * document against every query share a tokenization batch, where the document is tokenized once
 * (PairEncoder.encodePairs); all pairs share the engine's batches.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors';
import type { RequestContext } from '../context';
import { resolveOptions, type BodyOptions } from '../options';
import { mapSliced, rank } from '../ranking';
import { multiRerankRequest, validate } from '../schemas';
import { Slicer } from '../slices';
import { checkRankFieldsCount, documentId, documentTexts, type CohereResult } from './cohereRerank';
import { scorePairs } from './scoring';
import { requireRerankerTask } from './teiRerank';

export interface MultiRerankResponse {
  readonly id: string;
  readonly results: ReadonlyArray<{ readonly query_index: number; readonly results: CohereResult[] }>;
  readonly meta: { readonly billed_units: { readonly search_units: number }; readonly tokens: { readonly input_tokens: number } };
  readonly usage: { readonly total_tokens: number };
}

const DOCS_PER_SEARCH_UNIT = 100;

export async function multiRerank(ctx: RequestContext, body: unknown, attributes: BodyOptions): Promise<MultiRerankResponse> {
  checkRankFieldsCount(body, ctx.budgets.maxRankFields);
  const req = validate(multiRerankRequest, body, 'multi-query rerank request');
  if (req.queries.length === 0) throw new AppError('Empty', '`queries` is empty: send at least one query');
  if (req.documents.length === 0) throw new AppError('Empty', '`documents` is empty: send at least one document to rerank');
  requireRerankerTask(ctx);
  // The cross product is refused from its two counts, before any document text or pair is built.
  ctx.checkBatchSize(req.queries.length * req.documents.length);
  const texts = await documentTexts(req.documents, req.rank_fields, ctx);
  const documents = req.documents.map((d) => (typeof d === 'string' ? { text: d } : d));
  const opts = resolveOptions({ ...req, return_text: req.return_documents }, attributes);
  const Q = req.queries.length;
  const D = texts.length;
  const slicer = new Slicer(ctx.signal);
  // Document-major: pair d * Q + q is (queries[q], texts[d]).
  const pairs = new Array<readonly [string, string]>(Q * D);
  for (let d = 0; d < D; d++) {
    for (let q = 0; q < Q; q++) pairs[d * Q + q] = [req.queries[q]!, texts[d]!];
    await slicer.tick();
  }
  const { scores, tokens } = await scorePairs(ctx, pairs, opts);
  const results = [];
  for (let q = 0; q < Q; q++) {
    const own = new Float64Array(D);
    for (let d = 0; d < D; d++) own[d] = scores[d * Q + q]!;
    const ranked = await rank(own, opts.topN, req.min_score, slicer);
    results.push({
      query_index: q,
      results: await mapSliced(
        ranked,
        ({ index, score }) => {
          const id = documentId(documents[index]!);
          return { index, ...(id !== undefined ? { id } : {}), relevance_score: score, ...(opts.returnText ? { document: documents[index]! } : {}) };
        },
        slicer,
      ),
    });
  }
  return {
    id: randomUUID(),
    results,
    meta: { billed_units: { search_units: Q * Math.ceil(D / DOCS_PER_SEARCH_UNIT) }, tokens: { input_tokens: tokens } },
    usage: { total_tokens: tokens },
  };
}
