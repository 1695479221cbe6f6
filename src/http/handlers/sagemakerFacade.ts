/**
 * POST /endpoints/:name/invocations: the path @aws-sdk/client-sagemaker-runtime's
 * InvokeEndpointCommand calls (ContentType, Accept and CustomAttributes travel as Content-Type,
 * Accept and X-Amzn-SageMaker-Custom-Attributes), so application code runs unchanged against a
 * local container by setting the client's `endpoint`. The request goes to the /invocations
 * handler; errors are wrapped the way the SageMaker runtime wraps a container's error (HTTP 424
 * ModelError carrying the original status and body), so callers see the error class they will
 * see in production. The signature (Authorization) is not checked: this is for local development.
 */
import type { NextFunction, Request, Response } from 'express';
import { toAppError } from '../errorHandler';
import { recordOf } from '../requestRecord';

/** InvokeEndpoint returns the variant that answered; a local container is the only one. */
export function markVariant(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('x-amzn-invoked-production-variant', 'AllTraffic');
  next();
}

export function modelErrorHandler(limitBytes: number) {
  return (e: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const err = toAppError(e, limitBytes);
    recordOf(res).errorType = err.errorType;
    if (res.headersSent) {
      res.end();
      return;
    }
    const original = JSON.stringify(err.toJSON());
    const client = err.status < 500;
    const name = endpointName(req.originalUrl);
    res
      .status(424)
      .setHeader('x-amzn-errortype', 'ModelError')
      .json({
        ErrorCode: client ? 'CLIENT_ERROR_FROM_MODEL' : 'SERVER_ERROR_FROM_MODEL',
        Message: `Received ${client ? 'client' : 'server'} error (${err.status}) from primary with message "${original}". See the container logs for more information.`,
        OriginalStatusCode: err.status,
        OriginalMessage: original,
        LogStreamArn: `arn:aws:logs:local:000000000000:log-group:/aws/sagemaker/Endpoints/${name}`,
      });
  };
}

const ENDPOINT_PATH = /^\/endpoints\/([^/?#]+)\/invocations\/?(?:[?#]|$)/;

/** The endpoint name of an InvokeEndpoint path, decoded when it decodes, as sent otherwise. */
function endpointName(originalUrl: string): string {
  const raw = ENDPOINT_PATH.exec(originalUrl)?.[1] ?? 'local';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

type ErrorMiddleware = (e: unknown, req: Request, res: Response, next: NextFunction) => void;

/** Runs an error handler only for errors of requests to /endpoints/NAME/invocations. */
export function onEndpointPath(handler: ErrorMiddleware): ErrorMiddleware {
  return (e, req, res, next) => (ENDPOINT_PATH.test(req.originalUrl) ? handler(e, req, res, next) : next(e));
}
