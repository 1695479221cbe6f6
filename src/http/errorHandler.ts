/** Turns anything thrown into `{error, error_type}` with the status its type maps to. */
import type { NextFunction, Request, Response } from 'express';
import { AppError, isAppError } from '../errors';
import { logger } from '../log';
import { recordOf } from './requestRecord';

const log = logger('http');

/** Errors raised by Express's body reader carry `type` and `status`; map them to ours. */
export function toAppError(e: unknown, limitBytes: number): AppError {
  if (isAppError(e)) return e;
  const err = e as { type?: string; status?: number; message?: string };
  if (err?.type === 'entity.too.large') {
    const mb = (limitBytes / 1024 / 1024).toFixed(limitBytes % (1024 * 1024) === 0 ? 0 : 2);
    return new AppError('PayloadTooLarge', `request body is larger than the ${mb} MiB limit (SAGEMAKER_MAX_PAYLOAD_IN_MB / MAX_PAYLOAD_MB); send fewer documents per request`);
  }
  if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported') return new AppError('UnsupportedMediaType', err.message ?? 'unsupported encoding');
  if (err?.type === 'request.aborted') return new AppError('Validation', 'the client closed the request before the body was read');
  if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) return new AppError('Validation', err.message ?? 'bad request');
  return new AppError('Backend', `internal error: ${err?.message ?? String(e)}`);
}

export function errorHandler(limitBytes: number) {
  return (e: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appErr = toAppError(e, limitBytes);
    if (appErr.status >= 500 && appErr.errorType !== 'Unhealthy') log.error('request failed', { path: req.originalUrl.split('?')[0]!.slice(0, 256), error: appErr.message });
    recordOf(res).errorType = appErr.errorType;
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(appErr.status).json(appErr.toJSON());
  };
}
