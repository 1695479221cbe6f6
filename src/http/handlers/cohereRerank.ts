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
import { mapSliced, rank } from '../ranking';
import { Slicer } from '../slices';
import { cohereV1RerankRequest, cohereV2RerankRequest, validate, type CohereV1RerankRequest, type CohereV2RerankRequest } from '../schemas';
import { scoreDocuments } from './scoreDocuments';
import { requireRerankerTask } from './teiRerank';

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
  checkRankFieldsCount(body, ctx.budgets.maxRankFields);
  const req = validate(cohereV1RerankRequest, body, 'rerank request (Cohere v1 / Jina)');
  const texts = await documentTexts(req.documents, req.rank_fields, ctx);
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
  const slicer = new Slicer(ctx.signal);
  const results = await mapSliced(
    await rank(scored.scores, opts.topN, req.min_score, slicer),
    ({ index, score }) => ({
      index,
      ...(documentId(documents[index]!) !== undefined ? { id: documentId(documents[index]!)! } : {}),
      relevance_score: score,
      ...(opts.returnText ? { document: documents[index]! } : {}),
      ...(scored.chunks ? { chunk: scored.chunks[index]! } : {}),
    }),
    slicer,
  );
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

/** Before validation, so a list of 700,000 names costs nothing: MAX_RANK_FIELDS. */
export function checkRankFieldsCount(body: unknown, max: number): void {
  const fields = body !== null && typeof body === 'object' ? (body as { rank_fields?: unknown }).rank_fields : undefined;
  if (Array.isArray(fields) && fields.length > max) {
    throw new AppError('Validation', `rank_fields has ${fields.length} names, more than MAX_RANK_FIELDS=${max}; name only the fields to rank on`);
  }
}

/**
 * The texts v1 documents are ranked on, built in slices (slices.ts) and within the payload limit:
 * rank_fields repeats each field name in every document, so the joined texts can outgrow the body.
 */
export async function documentTexts(docs: ReadonlyArray<string | Record<string, unknown>>, rankFields: readonly string[] | undefined, ctx: RequestContext): Promise<string[]> {
  const slicer = new Slicer(ctx.signal);
  const max = ctx.maxPayloadBytes === 0 ? Number.POSITIVE_INFINITY : ctx.maxPayloadBytes;
  const out = new Array<string>(docs.length);
  let chars = 0;
  for (let i = 0; i < docs.length; i++) {
    const text = documentText(docs[i]!, i, rankFields);
    chars += text.length;
    if (chars > max) {
      throw new AppError('Validation', `the texts built from the documents${rankFields ? ' and rank_fields' : ''} are longer than the ${(max / 1024 / 1024).toFixed(1)} MiB payload limit (SAGEMAKER_MAX_PAYLOAD_IN_MB / MAX_PAYLOAD_MB); send fewer documents or fields`);
    }
    out[i] = text;
    if ((i & 63) === 0) await slicer.tick();
  }
  return out;
}

/** A document object's own `id` (string or number), if it has one. */
export function documentId(doc: Record<string, unknown>): string | number | undefined {
  const id = Object.hasOwn(doc, 'id') ? doc.id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * The text a v1 document is ranked on: a string as is; an object's `text`, or with rank_fields
 * its named fields as "field: value" lines in that order (Cohere's semi-structured format). Only
 * the document's own fields count: `constructor` or `toString` must not read Object.prototype.
 */
export function documentText(doc: string | Record<string, unknown>, i: number, rankFields: readonly string[] | undefined): string {
  if (typeof doc === 'string') return doc;
  if (rankFields) {
    const lines: string[] = [];
    for (const f of rankFields) {
      if (!Object.hasOwn(doc, f)) continue;
      const v = doc[f];
      if (v === undefined || v === null) continue;
      lines.push(`${f}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    if (lines.length === 0) throw new AppError('Validation', `documents.${i} has none of the rank_fields (${rankFields.slice(0, 8).join(', ')}${rankFields.length > 8 ? ', ...' : ''})`);
    return lines.join('\n');
  }
  if (!Object.hasOwn(doc, 'text') || typeof doc.text !== 'string') throw new AppError('Validation', `documents.${i} is an object without a string "text" field; add one or name the fields to rank with rank_fields`);
  return doc.text;
}
