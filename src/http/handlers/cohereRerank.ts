/**
 * POST /v1/rerank and /v2/rerank: Cohere's rerank API (Jina's is the v1 shape), so the cohere-ai
 * SDK, LangChain's CohereRerank and Jina clients work by changing their base URL.
 *   v1: documents are strings or objects (`text`, or `rank_fields`), `return_documents` gives the
 *       document back as sent (an object stays an object), `max_chunks_per_doc` chunks.
 *   v2: documents are strings; results carry no document unless the legacy return_documents is set.
 * Scores are the same numbers /rerank gives (activated; relevance_score in [0, 1] for sigmoid models).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors';
import type { RequestContext } from '../context';
import { resolveOptions, type BodyOptions } from '../options';
import { cohereV1RerankRequest, cohereV2RerankRequest, validate, type CohereV1RerankRequest, type CohereV2RerankRequest } from '../schemas';
import { scoreDocuments } from './scoreDocuments';
import { rank, requireRerankerTask } from './teiRerank';

export interface CohereResult {
  readonly index: number;
  /** The document object's own `id`, echoed. */
  readonly id?: string | number;
  readonly relevance_score: number;
  readonly document?: Record<string, unknown>;
  readonly chunk?: { readonly start: number; readonly end: number };
}

export interface CohereRerankResponse {
  readonly id: string;
  readonly results: CohereResult[];
  readonly meta: {
    readonly api_version: { readonly version: '1' | '2' };
    readonly billed_units: { readonly search_units: number };
    readonly tokens: { readonly input_tokens: number };
  };
  /** Jina's usage block, so Jina clients find their token count too. */
  readonly usage: { readonly total_tokens: number };
  readonly model?: string;
}

/** Cohere bills one search unit per query and up to 100 documents (windows, when chunked). */
const DOCS_PER_SEARCH_UNIT = 100;

export async function cohereRerankV1(ctx: RequestContext, body: unknown, attributes: BodyOptions): Promise<CohereRerankResponse> {
  const req = validate(cohereV1RerankRequest, body, 'rerank request (Cohere v1 / Jina)');
  const texts = req.documents.map((d, i) => documentText(d, i, req.rank_fields));
  const documents = req.documents.map((d) => (typeof d === 'string' ? { text: d } : d));
  return respond(ctx, req, texts, documents, attributes, '1');
}

export async function cohereRerankV2(ctx: RequestContext, body: unknown, attributes: BodyOptions): Promise<CohereRerankResponse> {
  const req = validate(cohereV2RerankRequest, body, 'rerank request (Cohere v2)');
  return respond(ctx, req, req.documents, req.documents.map((text) => ({ text })), attributes, '2');
}

async function respond(
  ctx: RequestContext,
  req: CohereV1RerankRequest | CohereV2RerankRequest,
  texts: readonly string[],
  documents: ReadonlyArray<Record<string, unknown>>,
  attributes: BodyOptions,
  version: '1' | '2',
): Promise<CohereRerankResponse> {
  if (texts.length === 0) throw new AppError('Empty', '`documents` is empty: send at least one document to rerank');
  requireRerankerTask(ctx);
  const opts = resolveOptions({ ...req, return_text: req.return_documents }, attributes);
  const scored = await scoreDocuments(ctx, req.query, texts, opts, req);
  const results = rank(scored.scores, opts.topN, req.min_score).map(({ index, score }) => ({
    index,
    ...(documentId(documents[index]!) !== undefined ? { id: documentId(documents[index]!)! } : {}),
    relevance_score: score,
    ...(opts.returnText ? { document: documents[index]! } : {}),
    ...(scored.chunks ? { chunk: scored.chunks[index]! } : {}),
  }));
  return {
    id: randomUUID(),
    results,
    meta: {
      api_version: { version },
      billed_units: { search_units: Math.ceil(scored.units / DOCS_PER_SEARCH_UNIT) },
      tokens: { input_tokens: scored.tokens },
    },
    usage: { total_tokens: scored.tokens },
    ...(req.model !== undefined ? { model: req.model } : {}),
  };
}

/** A document object's own `id` (string or number), if it has one. */
export function documentId(doc: Record<string, unknown>): string | number | undefined {
  const id = Object.hasOwn(doc, 'id') ? doc.id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * The text a v1 document is ranked on: a string as is; an object's `text`, or with rank_fields
 * its named fields as "field: value" lines in that order (Cohere's semi-structured format).
 */
export function documentText(doc: string | Record<string, unknown>, i: number, rankFields: readonly string[] | undefined): string {
  if (typeof doc === 'string') return doc;
  if (rankFields) {
    const lines = rankFields.filter((f) => doc[f] !== undefined && doc[f] !== null).map((f) => `${f}: ${typeof doc[f] === 'string' ? doc[f] : JSON.stringify(doc[f])}`);
    if (lines.length === 0) throw new AppError('Validation', `documents.${i} has none of the rank_fields (${rankFields.join(', ')})`);
    return lines.join('\n');
  }
  if (typeof doc.text !== 'string') throw new AppError('Validation', `documents.${i} is an object without a string "text" field; add one or name the fields to rank with rank_fields`);
  return doc.text;
}
