/**
 * Request schemas: the same objects validate requests and generate /openapi.json, so the
 * documentation cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { AppError } from '../errors';

const direction = z.enum(['right', 'left', 'Right', 'Left']).describe('Which end of the longer text loses tokens when a pair is too long (default right).');
const truncate = z.boolean().describe('Cut pairs that exceed the model window with longest_first, keeping special tokens (default true). false: a too-long pair is a 422.');
const rawScores = z.boolean().describe('Return logits instead of activated scores (default false).');

export const teiRerankRequest = z
  .object({
    query: z.string(),
    texts: z.array(z.string()),
    raw_scores: rawScores.optional(),
    return_text: z.boolean().optional().describe('Include each text in the result (default false).'),
    truncate: truncate.optional(),
    truncation_direction: direction.optional(),
    top_n: z.number().int().min(1).optional().describe('Return only the best N results (extension to TEI).'),
  })
  .describe('Text Embeddings Inference rerank request');

const predictSequence = z.union([z.string(), z.array(z.string()).min(1).max(2)]);
export const teiPredictRequest = z
  .object({
    inputs: z.union([z.string(), z.array(predictSequence)]).describe('A text, a [text, text_pair] pair, or a batch of texts or pairs.'),
    raw_scores: rawScores.optional(),
    truncate: truncate.optional(),
    truncation_direction: direction.optional(),
  })
  .describe('Text Embeddings Inference predict request');

export type TeiRerankRequest = z.infer<typeof teiRerankRequest>;
export type TeiPredictRequest = z.infer<typeof teiPredictRequest>;

/** Validates or throws a 422 whose message lists each problem with its path. */
export function validate<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
  throw new AppError('Validation', `invalid ${what}: ${problems.join('; ')}`);
}
