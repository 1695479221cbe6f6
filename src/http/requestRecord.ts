/**
 * The typed record of one HTTP request, shared by the request lifecycle (which opens it and reads
 * it when the response closes) and whatever answers the request: the abort signal, the scoring
 * calls' usage and stage timings, and the error type the answer carried. Kept beside the
 * response object, not under string keys on `res.locals`.
 */
import type { Response } from 'express';
import type { StageTimings } from '../engine/scoreTypes';
import type { ErrorType } from '../errors';

export interface RequestUsage {
  readonly pairs: number;
  readonly tokens: number;
}

export interface RequestRecord {
  /** Fires when the client disconnects or the deadline passes (requestLifecycle.ts). */
  readonly signal: AbortSignal;
  /** Pairs and tokens scored, summed over the request's scoring calls (context.ts). */
  usage?: RequestUsage;
  /** Stage timings, summed over the request's scoring calls (context.ts). */
  timings?: StageTimings;
  /** The AppError type the answer carried (error handlers, /ping and /health when not ready). */
  errorType?: ErrorType;
}

const records = new WeakMap<Response, RequestRecord>();

/** Opens the record of a request; requestLifecycle.ts calls it first thing. */
export function openRecord(res: Response, signal: AbortSignal): RequestRecord {
  const record: RequestRecord = { signal };
  records.set(res, record);
  return record;
}

/** The request's record (one with a signal that never fires when no lifecycle opened it, as in a bare app). */
export function recordOf(res: Response): RequestRecord {
  return records.get(res) ?? openRecord(res, new AbortController().signal);
}
