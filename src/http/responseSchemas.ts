/**
 * Response shapes, described with zod for /openapi.json only (responses are built by the handlers;
 * these say what clients get). Request schemas live in schemas.ts, where they also validate.
 */
import { z } from 'zod';
import { describeStatuses, ERROR_TYPES, type ErrorType } from '../errors';

const chunk = z
  .object({ start: z.number().int(), end: z.number().int() })
  .describe('With long_documents=chunk and return_chunk_offsets: UTF-16 offsets of the best-scoring window in the document (widened to whole words).');

export const teiRerankResponse = z
  .array(z.object({ index: z.number().int(), score: z.number(), text: z.string().optional(), chunk: chunk.optional() }))
  .describe('Ranked texts, best first; index is the position in `texts`.');

const labelScore = z.object({ score: z.number(), label: z.string() });
export const teiPredictResponse = z
  .union([z.array(labelScore), z.array(z.array(labelScore))])
  .describe('Labels with scores, best first; a batch gives one list per input.');

export const cohereRerankResponse = z
  .object({
    id: z.string(),
    results: z.array(
      z.object({
        index: z.number().int(),
        id: z.union([z.string(), z.number()]).optional().describe('The document object\'s `id`, when it has one.'),
        relevance_score: z.number(),
        document: z.looseObject({ text: z.string().optional() }).optional().describe('With return_documents: the document as sent ({text} for a string).'),
        chunk: chunk.optional(),
      }),
    ),
    meta: z.object({
      api_version: z.object({ version: z.enum(['1', '2']) }),
      billed_units: z.object({ search_units: z.number().int().describe('ceil(documents or windows / 100)') }),
      tokens: z.object({ input_tokens: z.number().int() }),
    }),
    usage: z.object({ total_tokens: z.number().int() }).describe("Jina's token count."),
    model: z.string().optional().describe('The request\'s model, echoed.'),
  })
  .describe('Cohere / Jina rerank response: results sorted by relevance, best first.');

export const multiRerankResponse = z
  .object({
    id: z.string(),
    results: z.array(
      z.object({
        query_index: z.number().int().describe('Position in `queries`.'),
        results: z.array(
          z.object({
            index: z.number().int(),
            id: z.union([z.string(), z.number()]).optional().describe('The document object\'s `id`, when it has one.'),
            relevance_score: z.number(),
            document: z.looseObject({ text: z.string().optional() }).optional().describe('With return_documents: the document as sent.'),
          }),
        ).describe('This query\'s documents, best first (top_n and min_score applied per query).'),
      }),
    ).describe('One ranked list per query, in query order.'),
    meta: z.object({
      billed_units: z.object({ search_units: z.number().int().describe('queries x ceil(documents / 100)') }),
      tokens: z.object({ input_tokens: z.number().int() }),
    }),
    usage: z.object({ total_tokens: z.number().int() }),
  })
  .describe('Many-query rerank response.');

const hfLabelScore = z.object({ label: z.string(), score: z.number() });
export const hfPairsResponse = z
  .union([z.array(hfLabelScore), hfLabelScore, z.array(z.array(hfLabelScore))])
  .describe('One {label, score} per input in input order; a single object for a single {text, text_pair}; a list per input with parameters.top_k.');

export const errorResponse = z
  .object({
    error: z.string(),
    error_type: z.enum(ERROR_TYPES as [ErrorType, ...ErrorType[]]),
  })
  .describe(`Every error: ${describeStatuses()}.`);

export const sagemakerModelError = z
  .object({
    ErrorCode: z.enum(['CLIENT_ERROR_FROM_MODEL', 'SERVER_ERROR_FROM_MODEL']),
    Message: z.string(),
    OriginalStatusCode: z.number().int(),
    OriginalMessage: z.string().describe('The container\'s own error body ({error, error_type}).'),
    LogStreamArn: z.string(),
  })
  .describe('SageMaker runtime ModelError (HTTP 424, x-amzn-errortype: ModelError), as InvokeEndpoint reports a container error.');

export const healthResponse = z.object({ status: z.literal('ok') });

export const executionParameters = z.object({
  MaxConcurrentTransforms: z.number().int(),
  BatchStrategy: z.enum(['MULTI_RECORD', 'SINGLE_RECORD']),
  MaxPayloadInMB: z.number(),
});

export const infoResponse = z
  .looseObject({
    version: z.string(),
    phase: z.string(),
    model: z.looseObject({ id: z.string(), dir: z.string(), source: z.string(), demo: z.boolean() }).nullable(),
    spec: z.looseObject({}).nullable().describe('The decided model spec with its evidence.'),
    device: z.looseObject({ requested: z.string() }),
    limits: z.looseObject({}),
  })
  .describe('What is served, how it was decided, on what device, under which limits.');
