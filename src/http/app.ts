/**
 * createApp builds the Express application without listening, so tests can drive it in-process
 * or through a real port. Routes never touch tensors: they validate, call the reranker facade,
 * and encode the answer.
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../errors';
import { registry } from '../metrics';
import { requireApiKey } from './apiKey';
import { createContext, type RequestContext } from './context';
import { errorHandler } from './errorHandler';
import { cohereRerankV1, cohereRerankV2 } from './handlers/cohereRerank';
import { multiRerank } from './handlers/multiRerank';
import { markVariant, modelErrorHandler, onEndpointPath } from './handlers/sagemakerFacade';
import { teiPredict } from './handlers/teiPredict';
import { teiRerank } from './handlers/teiRerank';
import { invocations } from './invocations';
import { buildInfo } from './info';
import { openApiDocument } from './openapi';
import { encodeJsonSliced } from './answer';
import { readJsonBody } from './body';
import { Slicer } from './slices';
import { bodyReader } from './bodyReader';
import { parseCustomAttributes, type BodyOptions } from './options';
import { requestLifecycle } from './requestLifecycle';
import { recordOf } from './requestRecord';
import { ROUTE_PATHS, type PerMethod, type RoutePath } from './routes';
import type { AppDeps } from './deps';
import { UI_PATHS, uiRouter } from './ui';

export type { AppDeps } from './deps';

export function createApp(deps: AppDeps): express.Express {
  const { config, state } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLifecycle(state, config.requestTimeoutMs));
  // Before the body is read: a caller without the key costs no parsing. The UI's pages and the
  // OpenAPI document they render are the same for every deployment and hold no data.
  app.use(requireApiKey(config.apiKeys, (p) => config.ui && (UI_PATHS.has(p) || p === '/openapi.json')));

  const limit = config.maxPayloadBytes === 0 ? Number.MAX_SAFE_INTEGER : config.maxPayloadBytes;
  // Read every body as bytes: the codec is chosen from Content-Type afterwards, so a charset
  // parameter or a JSON Lines body under application/json never trips a parser in front of us.
  // The reader checks the payload, record and memory budgets as the bytes arrive (bodyReader.ts).
  app.use(bodyReader({ maxBytes: config.maxPayloadBytes, budgets: config.budgets }));

  const notReady = (res: Response): void => {
    const err = new AppError('Unhealthy', `not ready: ${state.notReadyReason}`);
    recordOf(res).errorType = err.errorType;
    res.status(err.status).json(err.toJSON());
  };
  const ping = (_req: Request, res: Response): void => {
    if (state.ready) res.status(200).end();
    else notReady(res);
  };

  // The JSON-only scoring routes: a JSON body, options from the body and the custom-attributes header.
  const jsonRoute =
    (handler: (ctx: RequestContext, body: unknown, attributes: BodyOptions) => Promise<unknown>) =>
    async (req: Request, res: Response): Promise<void> => {
      const ctx = createContext(state, req, res, config);
      const slicer = new Slicer(ctx.signal);
      const body = await readJsonBody(req, slicer);
      const answer = await encodeJsonSliced(await handler(ctx, body, parseCustomAttributes(req.get('x-amzn-sagemaker-custom-attributes'))), config.budgets.maxResponseBytes, slicer);
      res.type('application/json').send(answer);
    };
  // Every route of routes.ts, each method with its handlers: the compiler refuses a missing or extra one.
  const handlers: { readonly [P in RoutePath]: PerMethod<P, RequestHandler | readonly RequestHandler[]> } = {
    '/ping': { get: ping, post: ping },
    '/health': {
      get: (_req, res) => {
        if (state.ready) res.status(200).json({ status: 'ok' });
        else notReady(res);
      },
    },
    '/info': { get: (_req, res) => void res.json(buildInfo(deps)) },
    '/metrics': {
      get: async (_req, res) => {
        res.setHeader('content-type', registry.contentType);
        res.send(await registry.metrics());
      },
    },
    // Batch transform asks this first; the answer tells SageMaker how to size and pace mini-batches.
    '/execution-parameters': {
      get: (_req, res) =>
        void res.json({
          MaxConcurrentTransforms: config.maxConcurrentTransforms,
          BatchStrategy: config.batchStrategy,
          MaxPayloadInMB: config.maxPayloadMb,
        }),
    },
    '/openapi.json': { get: (_req, res) => void res.json(openApiDocument(deps.version)) },
    '/rerank': { post: jsonRoute(teiRerank) },
    '/predict': { post: jsonRoute(teiPredict) },
    // Cohere's rerank API (v1 is also Jina's shape): clients switch by changing their base URL.
    '/v1/rerank': { post: jsonRoute(cohereRerankV1) },
    '/v2/rerank': { post: jsonRoute(cohereRerankV2) },
    // Many queries against the same documents (an extension: no other API has this shape).
    '/rerank/multi': { post: jsonRoute(multiRerank) },
    '/invocations': { post: (req, res) => invocations(deps, req, res) },
    // The SageMaker runtime's InvokeEndpoint path, for local development against this container.
    '/endpoints/:name/invocations': { post: [markVariant, (req, res) => invocations(deps, req, res)] },
  };
  for (const path of ROUTE_PATHS) {
    for (const [method, handler] of Object.entries(handlers[path]) as Array<['get' | 'post', RequestHandler | readonly RequestHandler[]]>) {
      app[method](path, ...(Array.isArray(handler) ? handler : [handler]));
    }
  }
  // Matched on the raw path, not a :name pattern: a name that does not decode (%ZZ) must still get
  // the ModelError envelope of this route.
  app.use(onEndpointPath(modelErrorHandler(limit)));

  if (config.ui) app.use(uiRouter());

  app.use((req, _res, next) => next(new AppError('NotFound', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(limit));
  return app;
}
