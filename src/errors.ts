/**
 * One error type for the whole service. Each error carries the `error_type` clients see and the
 * HTTP status it maps to, so a route never chooses a status by itself.
 */
export type ErrorType =
  | 'Empty'
  | 'Unauthorized'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'Validation'
  | 'Tokenizer'
  | 'Backend'
  | 'Overloaded'
  | 'Unhealthy'
  | 'Timeout'
  | 'NotFound'
  | 'Model'
  | 'Artifact'
  | 'Config';

export const STATUS_BY_TYPE: Readonly<Record<ErrorType, number>> = Object.freeze({
  Empty: 400,
  Unauthorized: 401,
  NotFound: 404,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Validation: 422,
  Tokenizer: 422,
  Model: 424,
  Backend: 424,
  Artifact: 424,
  Overloaded: 429,
  Config: 500,
  Unhealthy: 503,
  Timeout: 504,
});

export class AppError extends Error {
  readonly errorType: ErrorType;
  readonly status: number;

  /**
   * The failure came from the inputs of one batch (the session rejected them), not from the engine
   * as a whole: the scheduler retries the batch's requests one by one so only the culprit fails.
   */
  readonly inputDependent: boolean;

  constructor(errorType: ErrorType, message: string, options?: { cause?: unknown; inputDependent?: boolean }) {
    super(message, options);
    this.name = 'AppError';
    this.errorType = errorType;
    this.status = STATUS_BY_TYPE[errorType];
    this.inputDependent = options?.inputDependent ?? false;
  }

  toJSON(): { error: string; error_type: ErrorType } {
    return { error: this.message, error_type: this.errorType };
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Short message of any thrown value, for logs and error bodies. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
