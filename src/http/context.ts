/**
 * Everything a handler needs for one request: the ready reranker, an abort signal that fires when
 * the client goes away or the deadline passes, and a place to put per-stage timings.
 */
import type { Request, Response } from 'express';
import type { Budgets } from '../config';
import { AppError } from '../errors';
import type { Reranker, StageTimings } from '../engine/reranker';
import type { ResultCache } from '../engine/resultCache';
import { recordOf } from './requestRecord';
import type { ServerState } from './state';

export interface RequestContext {
  readonly reranker: Reranker;
  readonly signal: AbortSignal;
  /** Limits on this request's work (config.budgets): handlers check them before doing it. */
  readonly budgets: Budgets;
  /** The payload limit in bytes (0: none): also bounds text a handler builds from the body. */
  readonly maxPayloadBytes: number;
  /**
   * A 422 for a request of more pairs than MAX_CLIENT_BATCH_SIZE: the one check of that limit, made
   * here at the HTTP edge before any work per pair (building pairs, hashing them for the cache).
   */
  checkBatchSize(pairs: number): void;
  /** The result cache, unless it is off (RESULT_CACHE_MB=0) or the request said Cache-Control: no-cache / no-store. */
  readonly cache: ResultCache | undefined;
  /**
   * Adds a scoring call's timings to the response headers, and its pairs and tokens to the request
   * log line and metrics (requestRecord.ts); summed when a request makes several calls.
   */
  addTimings(t: StageTimings, usage?: { readonly pairs: number; readonly tokens: number }): void;
}

export function requireReranker(state: ServerState): Reranker {
  if (state.phase === 'draining') throw new AppError('Unhealthy', 'the server is shutting down');
  const engineProblem = state.engineProblem;
  if (engineProblem !== undefined) throw new AppError('Unhealthy', engineProblem);
  if (!state.ready || !state.reranker) throw new AppError('Unhealthy', `the model is not ready yet (phase: ${state.phase})`);
  return state.reranker;
}

const TIMING_HEADERS: ReadonlyArray<[keyof StageTimings, string]> = [
  ['tokenizationMs', 'x-tokenization-time'],
  ['queueMs', 'x-queue-time'],
  ['inferenceMs', 'x-inference-time'],
  ['totalMs', 'x-total-time'],
];

export function createContext(state: ServerState, req: Request, res: Response, limits: { budgets: Budgets; maxPayloadBytes: number; maxClientBatchSize: number }): RequestContext {
  const reranker = requireReranker(state);
  const record = recordOf(res);
  const signal = record.signal;
  const sum: Record<keyof StageTimings, number> = { tokenizationMs: 0, queueMs: 0, inferenceMs: 0, totalMs: 0 };
  const bypass = /\bno-(cache|store)\b/i.test(req.get('cache-control') ?? '');
  return {
    reranker,
    signal,
    budgets: limits.budgets,
    maxPayloadBytes: limits.maxPayloadBytes,
    cache: bypass ? undefined : state.resultCache,
    checkBatchSize(pairs) {
      if (pairs > limits.maxClientBatchSize) {
        throw new AppError('Validation', `${pairs} documents is more than MAX_CLIENT_BATCH_SIZE=${limits.maxClientBatchSize}`);
      }
    },
    addTimings(t, usage) {
      if (usage) {
        const u = record.usage;
        const total = { pairs: (u?.pairs ?? 0) + usage.pairs, tokens: (u?.tokens ?? 0) + usage.tokens };
        record.usage = total;
        // Usage for every shape, also those whose body is a bare array (TEI): what was scored.
        if (!res.headersSent) {
          res.setHeader('x-input-tokens', String(total.tokens));
          res.setHeader('x-scored-pairs', String(total.pairs));
        }
      }
      for (const [k, header] of TIMING_HEADERS) {
        sum[k] += t[k];
        if (!res.headersSent) res.setHeader(header, sum[k].toFixed(2));
      }
      record.timings = { ...sum };
    },
  };
}
