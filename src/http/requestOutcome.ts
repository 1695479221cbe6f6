/**
 * How a finished request is counted: success, or failure with one reason from a short, fixed list
 * (a metric label must not grow with every new error message). Pure, so the table is unit-tested.
 */
import { ERROR_TYPES, STATUS_BY_TYPE, type ErrorType } from '../errors';

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

/**
 * A status answered without an AppError (none today: /ping and /health name theirs) counts as the
 * error types that answer with that status (errors.ts); they agree on one reason (unit-tested).
 */
const REASON_BY_STATUS: ReadonlyMap<number, FailureReason> = new Map(ERROR_TYPES.map((t) => [STATUS_BY_TYPE[t], REASON_BY_TYPE[t]]));

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
  const byStatus = REASON_BY_STATUS.get(r.status);
  if (byStatus !== undefined) return byStatus;
  if (r.status >= 500) return 'inference';
  if (r.status >= 400) return 'validation';
  return undefined;
}
