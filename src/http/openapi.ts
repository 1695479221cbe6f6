/**
 * GET /openapi.json: an OpenAPI 3.1 document generated from the zod schemas that validate requests
 * (schemas.ts), so the documentation cannot drift from what the server accepts. Built once per
 * process: the schemas never change at run time.
 */
import { z } from 'zod';
import { ERROR_TYPES, STATUS_BY_TYPE, statusesOf } from '../errors';
import { ACCEPTED_SHAPES } from './dialects';
import { openApiPath, ROUTE_PATHS, type PerMethod, type RoutePath } from './routes';
import * as res from './responseSchemas';
import * as req from './schemas';

const COMPONENTS = {
  TeiRerankRequest: req.teiRerankRequest,
  TeiPredictRequest: req.teiPredictRequest,
  CohereV1RerankRequest: req.cohereV1RerankRequest,
  CohereV2RerankRequest: req.cohereV2RerankRequest,
  HfPairsRequest: req.hfPairsRequest,
  MultiRerankRequest: req.multiRerankRequest,
  MultiRerankResponse: res.multiRerankResponse,
  TeiRerankResponse: res.teiRerankResponse,
  TeiPredictResponse: res.teiPredictResponse,
  CohereRerankResponse: res.cohereRerankResponse,
  HfPairsResponse: res.hfPairsResponse,
  Error: res.errorResponse,
  SageMakerModelError: res.sagemakerModelError,
  Health: res.healthResponse,
  ExecutionParameters: res.executionParameters,
  Info: res.infoResponse,
} satisfies Record<string, z.ZodType>;

type ComponentName = keyof typeof COMPONENTS;

/** The request schema each JSON route validates with, by path (tests check the doc against this). */
export const REQUEST_SCHEMAS: Readonly<Partial<Record<RoutePath, ComponentName>>> = {
  '/rerank': 'TeiRerankRequest',
  '/predict': 'TeiPredictRequest',
  '/v1/rerank': 'CohereV1RerankRequest',
  '/v2/rerank': 'CohereV2RerankRequest',
  '/rerank/multi': 'MultiRerankRequest',
};

const ref = (name: ComponentName): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, example?: unknown): object => ({ 'application/json': { schema, ...(example !== undefined ? { example } : {}) } });
const errors = (...codes: number[]): Record<string, object> =>
  Object.fromEntries(codes.map((c) => [String(c), { description: 'Error', content: json(ref('Error')) }]));
/** What a scoring route can answer (errors.ts): every error type but NotFound (no route) and Config (start-up only). */
const REQUEST_ERRORS = statusesOf(ERROR_TYPES.filter((t) => t !== 'NotFound' && t !== 'Config'));

const customAttributes = {
  name: 'X-Amzn-SageMaker-Custom-Attributes',
  in: 'header',
  required: false,
  description: 'Options as `key=value` pairs separated by `;` (raw_scores, truncate, truncation_direction, return_text, top_n); body fields win. Echoed back on /invocations.',
  schema: { type: 'string', example: 'top_n=3;raw_scores=false' },
};

const cacheControl = {
  name: 'Cache-Control',
  in: 'header',
  required: false,
  description: '`no-cache` (or `no-store`): score every pair again instead of using the result cache (RESULT_CACHE_MB).',
  schema: { type: 'string', example: 'no-cache' },
};

const QUERY = 'What is the capital of France?';
const DOCS = ['The Great Wall of China is visible from space.', 'Paris is the capital and largest city of France.'];
export const EXAMPLES = {
  TeiRerankRequest: { query: QUERY, texts: DOCS, return_text: true },
  TeiPredictRequest: { inputs: [QUERY, DOCS[1]] },
  CohereV1RerankRequest: { model: 'rerank', query: QUERY, documents: DOCS, top_n: 1, return_documents: true },
  CohereV2RerankRequest: { model: 'rerank', query: QUERY, documents: DOCS, top_n: 1 },
  HfPairsRequest: { inputs: [[QUERY, DOCS[0]], { text: QUERY, text_pair: DOCS[1] }] },
  MultiRerankRequest: { queries: [QUERY, 'Where is the Great Wall?'], documents: [{ id: 'wall', text: DOCS[0] }, { id: 'paris', text: DOCS[1] }], top_n: 1 },
} as const;

function post(summary: string, description: string, body: ComponentName, response: ComponentName, extraErrors: number[] = []): { post: object } {
  return {
    post: {
      summary,
      description,
      parameters: [customAttributes, cacheControl],
      requestBody: { required: true, content: json(ref(body), EXAMPLES[body as keyof typeof EXAMPLES]) },
      responses: { '200': { description: 'OK', content: json(ref(response)) }, ...errors(...REQUEST_ERRORS, ...extraErrors) },
    },
  };
}

function invocationsOperation(facade: boolean): object {
  const jsonBodies = ['TeiRerankRequest', 'CohereV1RerankRequest', 'MultiRerankRequest', 'HfPairsRequest', 'TeiPredictRequest'] as const;
  return {
    summary: facade ? 'SageMaker runtime facade (InvokeEndpoint against a local container)' : 'SageMaker entry point: every shape, JSON Lines, CSV, MultiRecord batches',
    description:
      `The dialect is picked from the JSON body's shape, first match wins: ${ACCEPTED_SHAPES}. ` +
      'JSON Lines (or a MultiRecord batch of newline-separated records) uses the same rule per line and answers one line per record, in order; ' +
      'CSV rows are query,document and answer one score per row. Accept chooses the output format (default: the request\'s).' +
      (facade ? ' Same handler as /invocations; errors come back as SageMaker ModelError (424), as InvokeEndpoint reports them; the endpoint name is ignored.' : ''),
    parameters: [
      ...(facade ? [{ name: 'name', in: 'path', required: true, description: 'Endpoint name (ignored).', schema: { type: 'string' } }] : []),
      customAttributes,
      cacheControl,
      { name: 'Accept', in: 'header', required: false, schema: { type: 'string', enum: ['application/json', 'application/jsonlines', 'text/csv'] } },
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { oneOf: jsonBodies.map(ref) }, example: EXAMPLES.CohereV1RerankRequest },
        'application/jsonlines': { schema: { type: 'string', description: 'One JSON object per line, each in any JSON shape.' } },
        'text/csv': { schema: { type: 'string', description: 'Rows of query,document; an optional header row "query,document".' } },
      },
    },
    responses: {
      '200': {
        description: 'The dialect\'s answer; JSON Lines and CSV give one line per input record (a bad record gets an error line unless BATCH_STRICT=true).',
        content: {
          'application/json': { schema: { oneOf: (['TeiRerankResponse', 'CohereRerankResponse', 'MultiRerankResponse', 'HfPairsResponse', 'TeiPredictResponse'] as const).map(ref) } },
          'application/jsonlines': { schema: { type: 'string' } },
          'text/csv': { schema: { type: 'string' } },
        },
      },
      ...(facade
        ? { '424': { description: 'Any container error, wrapped as SageMaker does', content: json(ref('SageMakerModelError')) } }
        : errors(...REQUEST_ERRORS)),
    },
  };
}

const get = (summary: string, content: object, extra: Record<string, object> = {}): { get: object } => ({ get: { summary, responses: { '200': { description: 'OK', content }, ...extra } } });

function build(version: string): Record<string, unknown> {
  const generated = z.toJSONSchema(registry(), { uri: (id) => `#/components/schemas/${id}`, io: 'input' }) as { schemas: Record<string, Record<string, unknown>> };
  // Each component is a plain schema object inside the document, not a standalone JSON Schema.
  const schemas = Object.fromEntries(Object.entries(generated.schemas).map(([k, v]) => [k, strip(v)]));
  const unhealthy = errors(STATUS_BY_TYPE.Unhealthy);
  const ping = { summary: 'Health check for SageMaker: 200 with an empty body when ready', security: [], responses: { '200': { description: 'Ready' }, ...unhealthy } };
  const open = (op: { get: object }): { get: object } => ({ get: { ...op.get, security: [] } });
  // One entry per route and method of routes.ts: the compiler refuses a missing or extra one.
  const operations: { readonly [P in RoutePath]: PerMethod<P, object> } = {
    '/ping': { get: ping, post: ping },
    '/health': open(get('Readiness as JSON', json(ref('Health')), unhealthy)),
    '/info': get('Model, decided spec with evidence, device, limits, version', json(ref('Info'))),
    '/metrics': get('Prometheus metrics', { 'text/plain': { schema: { type: 'string' } } }),
    '/execution-parameters': open(get('Batch transform parameters', json(ref('ExecutionParameters')))),
    '/openapi.json': get('This document', { 'application/json': { schema: { type: 'object' } } }),
    '/rerank': post('TEI rerank', 'Ranks `texts` against `query`, best first.', 'TeiRerankRequest', 'TeiRerankResponse'),
    '/predict': post('TEI predict', 'Scores a text, a [text, text_pair], or a batch of them.', 'TeiPredictRequest', 'TeiPredictResponse'),
    '/v1/rerank': post('Cohere v1 / Jina rerank', 'Cohere v1 shape (also Jina\'s): string or object documents, return_documents, rank_fields.', 'CohereV1RerankRequest', 'CohereRerankResponse'),
    '/v2/rerank': post('Cohere v2 rerank', 'Cohere v2 shape: string documents.', 'CohereV2RerankRequest', 'CohereRerankResponse'),
    '/rerank/multi': post('Many queries, one call', 'Ranks `documents` against each of `queries`: one ranked list per query, in query order; documents are tokenized once and reused across queries.', 'MultiRerankRequest', 'MultiRerankResponse'),
    '/invocations': { post: invocationsOperation(false) },
    '/endpoints/:name/invocations': { post: invocationsOperation(true) },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'sagemaker-reranker', version, description: 'Cross-encoder reranker serving on Amazon SageMaker. Shapes, dialect rule and examples: docs/api.md.' },
    paths: Object.fromEntries(ROUTE_PATHS.map((p) => [openApiPath(p), operations[p]])),
    // API_KEY: when set, every operation but the health checks needs the bearer key; when not, none does.
    security: [{ bearerAuth: [] }, {}],
    components: {
      schemas,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'Only when the server sets API_KEY (or API_KEY_FILE): `Authorization: Bearer <key>`; a missing or wrong key is a 401 Unauthorized.' } },
    },
  };
}

function registry(): z.core.$ZodRegistry<{ id: string }> {
  const r = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) r.add(schema, { id });
  return r;
}

function strip(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

let cached: { version: string; doc: Record<string, unknown> } | undefined;

export function openApiDocument(version: string): Record<string, unknown> {
  if (!cached || cached.version !== version) cached = { version, doc: build(version) };
  return cached.doc;
}
