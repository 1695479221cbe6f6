/**
 * Which API a JSON body speaks on /invocations (and per line of JSON Lines), decided from its shape
 * alone, first match wins (documented in docs/api.md):
 *   {query, texts}                                     TEI rerank
 *   {query, documents}                                 Cohere / Jina rerank (v1 shape)
 *   {queries, documents}                               many queries (POST /rerank/multi's shape)
 *   {inputs: [[q, d], ...]} or {inputs: [{text, text_pair?}, ...]} or {inputs: {text, ...}}
 *                                                      Hugging Face toolkit pairs
 *   any other {inputs}                                 TEI predict
 * The HF rule needs every element to be a two-string array or an object with `text`, so TEI
 * predict keeps its own batches (`["a", "b"]`, `[["a"], ["b", "c"]]`, texts). Each dialect returns
 * its JSON answer and the scores in input order (one CSV row; with top_n, the cells of documents
 * left out are empty).
 */
import { AppError } from '../errors';
import type { RequestContext } from './context';
import { cohereRerankV1 } from './handlers/cohereRerank';
import { hfPairs } from './handlers/hfPairs';
import { multiRerank } from './handlers/multiRerank';
import { teiPredict } from './handlers/teiPredict';
import { teiRerank } from './handlers/teiRerank';
import type { BodyOptions } from './options';

export interface DialectResult {
  readonly body: unknown;
  /** One CSV row: scores in input order. */
  readonly csv: ReadonlyArray<number | string>;
}

type Handler = (ctx: RequestContext, body: Record<string, unknown>, attrs: BodyOptions) => Promise<DialectResult>;

export type DialectName = 'tei-rerank' | 'cohere-rerank' | 'multi-rerank' | 'hf-pairs' | 'tei-predict';

interface Dialect {
  readonly name: DialectName;
  readonly shape: string;
  matches(body: Record<string, unknown>): boolean;
  readonly handle: Handler;
}

function isTextObject(x: unknown): boolean {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && 'text' in x;
}

function isStringPair(x: unknown): boolean {
  return Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string';
}

/** HF toolkit pairs: a non-empty list of [q, d] pairs or {text, text_pair} objects, or one such object. */
export function isHfPairsInput(inputs: unknown): boolean {
  if (isTextObject(inputs)) return true;
  return Array.isArray(inputs) && inputs.length > 0 && inputs.every((x) => isStringPair(x) || isTextObject(x));
}

export const DIALECTS: readonly Dialect[] = [
  {
    name: 'tei-rerank',
    shape: '{"query": string, "texts": string[]} (TEI rerank)',
    matches: (b) => 'query' in b && 'texts' in b,
    handle: async (ctx, b, a) => {
      const ranked = await teiRerank(ctx, b, a);
      return { body: ranked, csv: inInputOrder(ranked.map((r) => [r.index, r.score]), (b.texts as unknown[]).length) };
    },
  },
  {
    name: 'cohere-rerank',
    shape: '{"query": string, "documents": (string | {"text": string})[]} (Cohere / Jina rerank)',
    matches: (b) => 'query' in b && 'documents' in b,
    handle: async (ctx, b, a) => {
      const out = await cohereRerankV1(ctx, b, a);
      return { body: out, csv: inInputOrder(out.results.map((r) => [r.index, r.relevance_score]), (b.documents as unknown[]).length) };
    },
  },
  {
    name: 'multi-rerank',
    shape: '{"queries": string[], "documents": (string | {"text": string})[]} (many queries)',
    matches: (b) => 'queries' in b && 'documents' in b && !('query' in b),
    handle: async (ctx, b, a) => {
      const out = await multiRerank(ctx, b, a);
      // One CSV row: every query's scores in document order, query after query.
      const csv = out.results.flatMap((r) => [...r.results].sort((x, y) => x.index - y.index).map((x) => x.relevance_score));
      return { body: out, csv };
    },
  },
  {
    name: 'hf-pairs',
    shape: '{"inputs": [[string, string], ...] | [{"text": string, "text_pair": string}, ...]} (Hugging Face toolkit pairs)',
    matches: (b) => 'inputs' in b && isHfPairsInput(b.inputs),
    handle: async (ctx, b, a) => {
      const out = await hfPairs(ctx, b, a);
      return { body: out.body, csv: out.best };
    },
  },
  {
    name: 'tei-predict',
    shape: '{"inputs": string | [string, string] | [...]} (TEI predict)',
    matches: (b) => 'inputs' in b,
    handle: async (ctx, b, a) => {
      const out = await teiPredict(ctx, b, a);
      const rows = Array.isArray(out[0]) ? (out as Array<Array<{ score: number; label: string }>>) : [out as Array<{ score: number; label: string }>];
      // One cell per input: the score of a one-label model; label and score of the best label otherwise.
      return { body: out, csv: rows.flatMap((r) => (r.length === 1 ? [r[0]!.score] : [r[0]?.label ?? '', r[0]?.score ?? ''])) };
    },
  },
];

/**
 * A CSV row in input order: cell i is document i's score, empty for a document that top_n left
 * out, so the position still says which document each score belongs to.
 */
function inInputOrder(scored: ReadonlyArray<readonly [number, number]>, documents: number): Array<number | string> {
  const row = new Array<number | string>(documents).fill('');
  for (const [index, score] of scored) row[index] = score;
  return row;
}

/** The accepted shapes, for 422 messages and docs. */
export const ACCEPTED_SHAPES = DIALECTS.map((d) => d.shape).join('; ');

export function pickDialect(body: unknown): Dialect {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('Validation', `the body must be a JSON object; accepted shapes: ${ACCEPTED_SHAPES}`);
  }
  const d = DIALECTS.find((x) => x.matches(body as Record<string, unknown>));
  if (!d) throw new AppError('Validation', `the body matches no accepted shape; accepted: ${ACCEPTED_SHAPES}`);
  return d;
}
