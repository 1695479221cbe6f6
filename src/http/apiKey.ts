/**
 * API_KEY: every route but the health checks needs `Authorization: Bearer <key>` (the scheme the
 * cohere-ai SDK, TEI, Infinity and vLLM clients use). Off when no key is configured: on SageMaker
 * IAM authenticates callers before the container, and the platform strips Authorization anyway.
 *
 * The presented token and each key are compared as SHA-256 digests with timingSafeEqual, and every
 * key is compared (no early exit), so the time taken says nothing about how much of a key matched
 * or which key was close. The token is never logged or echoed.
 */
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors';
import { counter } from '../metrics';

const rejected = counter('reranker_auth_rejected_total', 'Requests refused with 401 because API_KEY is set: no bearer token (missing) or a wrong one (invalid)', ['reason']);

/** Paths a load balancer or SageMaker calls without credentials. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/ping', '/health', '/execution-parameters']);

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

/** The bearer token of an Authorization header, or undefined (scheme matched case-insensitively, RFC 9110). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** Whether token is one of the keys, in time independent of where (or whether) it differs. */
export function keyMatches(token: string, keyDigests: readonly Buffer[]): boolean {
  const presented = digest(token);
  let ok = false;
  for (const k of keyDigests) ok = crypto.timingSafeEqual(presented, k) || ok;
  return ok;
}

/**
 * Middleware; `isPublic` marks further paths that need no key (the static UI pages, which hold no
 * data and whose API calls send the key themselves).
 */
export function requireApiKey(keys: readonly string[], isPublic: (path: string) => boolean = () => false) {
  const keyDigests = keys.map(digest);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (keyDigests.length === 0 || OPEN_PATHS.has(req.path) || isPublic(req.path)) return next();
    const token = bearerToken(req.get('authorization'));
    if (token !== undefined && keyMatches(token, keyDigests)) return next();
    const reason = token === undefined ? 'missing' : 'invalid';
    rejected.inc({ reason });
    res.setHeader('www-authenticate', 'Bearer');
    next(
      new AppError(
        'Unauthorized',
        reason === 'missing' ? 'this server requires an API key: send "Authorization: Bearer <key>"' : 'the API key in the Authorization header is not valid',
      ),
    );
  };
}
