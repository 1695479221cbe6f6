/**
 * How a finished request is counted: success, or failure with one reason from a short, fixed list
 * (a metric label must not grow with every new error message). Pure, so the table is unit-tested.
 */
import type { ErrorType } from '../errors';

export type FailureReason = 'unauthorized' | 'validation' | 'overloaded' | 'inference' | 'unavailable' | 'timeout' | 'dropped';

export const FAILURE_REASONS: readonly FailureReason[] = ['unauthorized', 'validation', 'overloaded', 'inference', 'unavailable', 'timeout', 'dropped'];

const REASON_BY_TYPE: Readonly<Record<ErrorType, FailureReason>> = Object.freeze({
  // No or a wrong API key (API_KEY): counted apart, so a misconfigured client stands out.
  Unauthorized: 'unauthorized',
  // The caller sent something we cannot score: fix the request, do not retry it as is.
  Empty: 'validation',
  PayloadTooLarge: 'validation',
  UnsupportedMediaType: 'validation',
  Validation: 'validation',
  Tokenizer: 'validation',
  NotFound: 'validation',
  // At capacity right now: retry with backoff.
  Overloaded: 'overloaded',
  // The model or the engine failed on a valid request.
  Model: 'inference',
  Backend: 'inference',
  Artifact: 'inference',
  Config: 'inference',
  // Not ready yet, or shutting down.
  Unhealthy: 'unavailable',
  Timeout: 'timeout',
});

export interface FinishedRequest {
  /** Whether the whole response was written before the connection closed. */
  readonly finished: boolean;
  readonly status: number;
  /** The AppError type the error handler answered with, if any. */
  readonly errorType?: ErrorType | undefined;
}

/** undefined: a success. 'dropped': the client went away before the answer was written. */
export function failureReason(r: FinishedRequest): FailureReason | undefined {
  if (!r.finished) return 'dropped';
  if (r.errorType !== undefined) return REASON_BY_TYPE[r.errorType] ?? 'inference';
  // Statuses that name their reason even when no AppError went through the error handler
  // (/ping and /health answer 503 themselves while loading or draining).
  if (r.status === 503) return 'unavailable';
  if (r.status === 504) return 'timeout';
  if (r.status >= 500) return 'inference';
  if (r.status >= 400) return 'validation';
  return undefined;
}
