/**
 * Request schemas: the same objects validate requests and generate /openapi.json, so the
 * documentation cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { AppError } from '../errors';

/**
 * An optional field that also takes null, read as absent: TEI (serde Option) accepts null, and the
 * cohere-ai SDK sends null for options left undefined (e.g. max_chunks_per_doc from LangChain).
 */
function omittable<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}

const direction = z.enum(['right', 'left', 'Right', 'Left']).describe('Which end of the longer text loses tokens when a pair is too long (default: the truncation_side of the tokenizer of the model, usually right).');
const truncate = z.boolean().describe('Cut pairs that exceed the model window with longest_first, keeping special tokens (default true). false: a too-long pair is a 422.');
const rawScores = z.boolean().describe('Return logits instead of activated scores (default false).');
const topN = z.number().int().min(1).describe('Return only the best N results (default all).');
const instruction = omittable(z.string().max(8192)).describe('Decoder LLM rerankers (e.g. Qwen3-Reranker): the instruction placed in the prompt (default: the model\'s, see /info). Ignored by models without an instruction slot.');
const minScore = z.number().describe('Leave out results whose score (as returned: activated, or the logit with raw_scores) is below this. With top_n: the best top_n of those at or above min_score, so fewer than top_n may come back.');

/** Extensions shared by every rerank shape (TEI, Cohere/Jina): what to do with documents longer than the window. */
const longDocumentFields = {
  long_documents: omittable(z.enum(['truncate', 'chunk'])).describe('truncate (default): a pair longer than the model window is cut. chunk: the document is covered by overlapping windows, each scored; the document gets its best window\'s score.'),
  return_chunk_offsets: omittable(z.boolean()).describe('With long_documents=chunk: add `chunk: {start, end}`, the UTF-16 character offsets of the winning window in the document.'),
  chunk_stride: omittable(z.number().int().min(0)).describe('With long_documents=chunk: document tokens shared by consecutive windows (default min(64, window/4)).'),
};

export const teiRerankRequest = z
  .object({
    query: z.string(),
    texts: z.array(z.string()),
    raw_scores: omittable(rawScores),
    return_text: omittable(z.boolean()).describe('Include each text in the result (default false).'),
    truncate: omittable(truncate),
    truncation_direction: omittable(direction),
    top_n: omittable(topN).describe('Return only the best N results (extension to TEI).'),
    instruction,
    min_score: omittable(minScore),
    ...longDocumentFields,
  })
  .describe('Text Embeddings Inference rerank request');

const predictSequence = z.union([z.string(), z.array(z.string()).min(1).max(2)]);
export const teiPredictRequest = z
  .object({
    inputs: z.union([z.string(), z.array(predictSequence)]).describe('A text, a [text, text_pair] pair, or a batch of texts or pairs.'),
    raw_scores: omittable(rawScores),
    truncate: omittable(truncate),
    truncation_direction: omittable(direction),
    instruction,
  })
  .describe('Text Embeddings Inference predict request');

/** Fields of both Cohere versions (and Jina, whose API is Cohere v1's shape). */
const cohereCommon = {
  model: omittable(z.string()).describe('Accepted and echoed for client compatibility; the served model is always the loaded one.'),
  query: z.string(),
  top_n: omittable(topN),
  min_score: omittable(minScore),
  max_tokens_per_doc: omittable(z.number().int().min(2)).describe('Cut each document to its longest prefix of whole words with at most this many tokens before scoring (default: no cut beyond the model window).'),
  raw_scores: omittable(rawScores).describe('Extension: relevance_score is the logit instead of the activated score.'),
  truncate: omittable(truncate),
  truncation_direction: omittable(direction),
  instruction,
  ...longDocumentFields,
};

const documentId = z.union([z.string(), z.number()]).describe('Echoed as `id` in this document\'s result, so results join to your records by id.');
const cohereDocument = z
  .looseObject({ id: documentId.optional(), text: z.string().optional() })
  .describe('A document object: `text` is ranked unless rank_fields names other fields; `id` (string or number) is echoed in its result; all fields come back as sent with return_documents.');

export const cohereV1RerankRequest = z
  .object({
    ...cohereCommon,
    documents: z.array(z.union([z.string(), cohereDocument])).describe('Texts, or objects with a text field (or the fields named by rank_fields).'),
    return_documents: omittable(z.boolean()).describe('Include each document in its result (default false).'),
    rank_fields: omittable(z.array(z.string()).min(1)).describe('For object documents: rank on these fields, joined as "field: value" lines in this order.'),
    max_chunks_per_doc: omittable(z.number().int().min(1)).describe('Score long documents by up to this many overlapping windows (implies long_documents=chunk).'),
  })
  .describe('Cohere v1 / Jina rerank request');

export const cohereV2RerankRequest = z
  .object({
    ...cohereCommon,
    documents: z.array(z.string()).describe('Texts to rank against the query (v2 takes strings only; format structured data as YAML text).'),
    return_documents: omittable(z.boolean()).describe('Include `document: {text}` in each result (v2 no longer documents it; kept for older clients; default false).'),
    priority: omittable(z.number().int()).describe('Accepted for compatibility and ignored.'),
  })
  .describe('Cohere v2 rerank request');

export const multiRerankRequest = z
  .object({
    queries: z.array(z.string()).describe('Queries, each ranked against every document; one ranked list per query, in query order.'),
    documents: z.array(z.union([z.string(), cohereDocument])).describe('Texts, or objects with a text field (or the fields named by rank_fields) and an optional id.'),
    top_n: omittable(topN).describe('Per query: return only the best N results.'),
    min_score: omittable(minScore),
    return_documents: omittable(z.boolean()).describe('Include each document in its results (default false).'),
    rank_fields: omittable(z.array(z.string()).min(1)).describe('For object documents: rank on these fields, joined as "field: value" lines in this order.'),
    raw_scores: omittable(rawScores),
    truncate: omittable(truncate),
    truncation_direction: omittable(direction),
  })
  .describe('Many queries against the same documents in one call (extension). Each document is tokenized once per request and reused for every query.');

const hfTextPair = z.object({ text: z.string(), text_pair: omittable(z.string()) }).describe('A text and its optional text_pair (Hugging Face text-classification input).');
const hfInput = z.union([z.tuple([z.string(), z.string()]).describe('[text, text_pair]'), hfTextPair]);

export const hfPairsRequest = z
  .object({
    inputs: z.union([z.array(hfInput).min(1), hfTextPair]).describe('[[query, document], ...] or [{text, text_pair}, ...]; a single {text, text_pair} gives a single result.'),
    parameters: z
      .object({
        function_to_apply: omittable(z.enum(['sigmoid', 'softmax', 'none'])).describe('Activation of the logits (default: the model\'s own, decided by the spec).'),
        top_k: z.number().int().min(1).nullable().optional().describe('Labels per input: absent gives the best label per input (a flat list); a number or null (all) gives a list per input.'),
        truncation: omittable(z.union([z.boolean(), z.enum(['longest_first', 'do_not_truncate'])])).describe('longest_first / true (default) or do_not_truncate / false (a too-long pair is a 422).'),
      })
      .nullish()
      .describe('Hugging Face pipeline parameters; others are ignored.'),
    raw_scores: omittable(rawScores),
    truncate: omittable(truncate),
    truncation_direction: omittable(direction),
    instruction,
  })
  .describe('Hugging Face inference toolkit text-classification request (pairs)');

export type TeiRerankRequest = z.infer<typeof teiRerankRequest>;
export type TeiPredictRequest = z.infer<typeof teiPredictRequest>;
export type CohereV1RerankRequest = z.infer<typeof cohereV1RerankRequest>;
export type CohereV2RerankRequest = z.infer<typeof cohereV2RerankRequest>;
export type HfPairsRequest = z.infer<typeof hfPairsRequest>;
export type MultiRerankRequest = z.infer<typeof multiRerankRequest>;

/** Validates or throws a 422 whose message lists each problem with its path. */
export function validate<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const problems = r.error.issues.flatMap((i) => explain(i, [])).slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
  throw new AppError('Validation', `invalid ${what}: ${problems.join('; ')}`);
}

type Problem = { path: PropertyKey[]; message: string };

/**
 * A union's own message is only "Invalid input"; report the problems of the alternative that got
 * furthest (longest path) instead, so `inputs.0.text_pair: expected string` names the real fault.
 */
function explain(issue: z.core.$ZodIssue, prefix: PropertyKey[]): Problem[] {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ path, message: issue.message }];
  const branches = issue.errors.map((branch) => branch.flatMap((i) => explain(i, path)));
  const depth = (ps: Problem[]): number => Math.max(...ps.map((p) => p.path.length));
  const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  return best.length > 0 && depth(best) > path.length ? best : [{ path, message: issue.message }];
}
