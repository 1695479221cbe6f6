/**
 * Per-request plumbing: an AbortSignal that fires when the client disconnects or the server-side
 * deadline passes (so the request's queued pairs are dropped), one log line per request with the
 * SageMaker inference id, and the in-flight count used for draining on SIGTERM.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors';
import { logger } from '../log';
import { counter, histogram } from '../metrics';
import type { ServerState } from './state';

const log = logger('http');
const requests = counter('reranker_http_requests_total', 'HTTP requests by route and status', ['route', 'status']);
const latency = histogram('reranker_http_request_seconds', 'HTTP request latency by route', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], ['route']);
const stage = histogram('reranker_request_stage_seconds', 'Per-request time by stage', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ['stage']);

const QUIET = new Set(['/ping', '/health', '/metrics']);

export function requestLifecycle(state: ServerState, requestTimeoutMs: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const t0 = performance.now();
    const controller = new AbortController();
    res.locals.abortSignal = controller.signal;
    const counted = !QUIET.has(req.path);
    if (state.phase === 'draining') res.setHeader('connection', 'close');
    if (counted) state.inFlight++;

    const deadline = setTimeout(() => {
      controller.abort(new AppError('Timeout', `the request did not finish within REQUEST_TIMEOUT=${requestTimeoutMs / 1000}s; send fewer documents or raise the limit`));
    }, requestTimeoutMs);
    deadline.unref();

    res.on('close', () => {
      clearTimeout(deadline);
      if (!res.writableFinished) controller.abort(new AppError('Validation', 'the client disconnected'));
      if (counted) state.inFlight--;
      const ms = performance.now() - t0;
      const route = req.route?.path ?? (typeof req.path === 'string' ? req.path : 'unknown');
      requests.inc({ route: String(route), status: String(res.statusCode) });
      latency.observe({ route: String(route) }, ms / 1000);
      const timings = res.locals.timings as Record<string, number> | undefined;
      if (timings) {
        stage.observe({ stage: 'tokenization' }, (timings.tokenizationMs ?? 0) / 1000);
        stage.observe({ stage: 'queue' }, (timings.queueMs ?? 0) / 1000);
        stage.observe({ stage: 'inference' }, (timings.inferenceMs ?? 0) / 1000);
        stage.observe({ stage: 'total' }, (timings.totalMs ?? 0) / 1000);
      }
      if (!QUIET.has(req.path) || res.statusCode >= 500) {
        const inferenceId = req.get('x-amzn-sagemaker-inference-id');
        log.info('request', {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number(ms.toFixed(2)),
          ...(inferenceId ? { inference_id: inferenceId } : {}),
          ...(res.locals.errorType ? { error_type: res.locals.errorType } : {}),
          ...(res.writableFinished ? {} : { aborted: true }),
        });
      }
    });
    next();
  };
}
