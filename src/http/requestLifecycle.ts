/**
 * Per-request plumbing: an AbortSignal that fires when the client disconnects or the server-side
 * deadline passes (so the request's queued pairs are dropped), the request metrics, one log line
 * per request with the SageMaker inference id, and the in-flight count used for draining on SIGTERM.
 */
import { setMaxListeners } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors';
import { logger } from '../log';
import { counter, histogram } from '../metrics';
import { traceRequest } from '../tracing/spans';
import { failureReason } from './requestOutcome';
import { openRecord } from './requestRecord';
import { QUIET_PATHS, routeOfPath } from './routes';
import type { ServerState } from './state';
import { UI_PATHS } from './ui';

const log = logger('http');
const httpRequests = counter('reranker_http_requests_total', 'HTTP requests by route and status, every route', ['route', 'status']);
const latency = histogram('reranker_http_request_seconds', 'HTTP request latency by route (whole request: body read to last byte written)', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], ['route']);
const stage = histogram('reranker_request_stage_seconds', 'Per-request time by stage (tokenization, queue, inference, total in the engine)', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ['stage']);
const requests = counter('reranker_requests_total', 'Scoring requests (POST to a scoring route), counted when they end', ['route']);
const successes = counter('reranker_request_success_total', 'Scoring requests answered with a 2xx', ['route']);
const failures = counter('reranker_request_failure_total', 'Scoring requests that failed, by reason: validation, overloaded, inference, unavailable, timeout, dropped (client left before the answer)', ['route', 'reason']);
const requestPairs = histogram('reranker_request_pairs', 'Pairs (or long-document windows) scored per successful request', [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]);

/** The path as sent: req.path is relative to a mount point while a mounted handler runs. */
function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0]!;
}

function routeOf(req: Request): string {
  const routed = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof routed === 'string') return routed;
  // Failed before routing (413, 415 ...): a fixed route name, never any path a client sends.
  const path = pathOf(req);
  return routeOfPath(path) ?? (UI_PATHS.has(path) ? path : 'other');
}

const ms = (v: number | undefined): number | undefined => (v === undefined ? undefined : Number(v.toFixed(2)));

export function requestLifecycle(state: ServerState, requestTimeoutMs: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const t0 = performance.now();
    const controller = new AbortController();
    // Every record of a multi-record body in flight (at most 64, records.ts) listens on this one
    // signal and stops listening when it ends: past Node's default of 10 that is not a leak, so
    // no MaxListenersExceededWarning on stderr.
    setMaxListeners(0, controller.signal);
    // What the handlers add for the request line and the metrics (requestRecord.ts).
    const record = openRecord(res, controller.signal);
    const counted = !QUIET_PATHS.has(req.path);
    if (state.phase === 'draining') res.setHeader('connection', 'close');
    if (counted) state.inFlight++;

    const deadline = setTimeout(() => {
      controller.abort(new AppError('Timeout', `the request did not finish within REQUEST_TIMEOUT=${requestTimeoutMs / 1000}s; send fewer documents or raise the limit`));
    }, requestTimeoutMs);
    deadline.unref();

    res.on('close', () => {
      clearTimeout(deadline);
      const finished = res.writableFinished;
      if (!finished) controller.abort(new AppError('Validation', 'the client disconnected'));
      if (counted) state.inFlight--;
      const seconds = (performance.now() - t0) / 1000;
      const route = routeOf(req);
      // 499 (nginx's "client closed request"): the client left before the answer was written.
      const status = finished ? res.statusCode : 499;
      httpRequests.inc({ route, status: String(status) });
      latency.observe({ route }, seconds);

      const { timings, usage, errorType } = record;
      if (timings) {
        stage.observe({ stage: 'tokenization' }, timings.tokenizationMs / 1000);
        stage.observe({ stage: 'queue' }, timings.queueMs / 1000);
        stage.observe({ stage: 'inference' }, timings.inferenceMs / 1000);
        stage.observe({ stage: 'total' }, timings.totalMs / 1000);
      }

      const scoring = req.method === 'POST' && counted;
      const reason = failureReason({ finished, status: res.statusCode, errorType });
      if (scoring) {
        requests.inc({ route });
        if (reason === undefined) {
          successes.inc({ route });
          if (usage) requestPairs.observe(usage.pairs);
        } else failures.inc({ route, reason });
      }

      if (counted) {
        const endMs = performance.timeOrigin + performance.now();
        const inferenceId = req.get('x-amzn-sagemaker-inference-id');
        traceRequest({ method: req.method, route, status, startMs: performance.timeOrigin + t0, endMs, inferenceId, traceparent: req.get('traceparent'), errorType, pairs: usage?.pairs, timings });
      }
      if (counted || res.statusCode >= 500) {
        const inferenceId = req.get('x-amzn-sagemaker-inference-id');
        log.info('request', {
          method: req.method,
          route,
          path: pathOf(req).slice(0, 256),
          status,
          total_ms: ms(seconds * 1000),
          ...(usage ? { pairs: usage.pairs, tokens: usage.tokens } : {}),
          ...(timings
            ? { tokenization_ms: ms(timings.tokenizationMs), queue_ms: ms(timings.queueMs), inference_ms: ms(timings.inferenceMs), engine_ms: ms(timings.totalMs) }
            : {}),
          ...(inferenceId ? { inference_id: inferenceId.slice(0, 256) } : {}),
          ...(errorType ? { error_type: errorType } : {}),
          ...(reason ? { reason } : {}),
        });
      }
    });
    next();
  };
}
