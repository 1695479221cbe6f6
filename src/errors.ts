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

/** Every error type, in the table's order (the OpenAPI document's enum). */
export const ERROR_TYPES = Object.keys(STATUS_BY_TYPE) as ErrorType[];

/** The distinct statuses of some error types, ascending. */
export function statusesOf(types: readonly ErrorType[]): number[] {
  return [...new Set(types.map((t) => STATUS_BY_TYPE[t]))].sort((a, b) => a - b);
}

/** The table as one line for documentation: '400 Empty, ..., 422 Validation/Tokenizer, ...'. */
export function describeStatuses(): string {
  return statusesOf(ERROR_TYPES)
    .map((s) => `${s} ${ERROR_TYPES.filter((t) => STATUS_BY_TYPE[t] === s).join('/')}`)
    .join(', ');
}

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
