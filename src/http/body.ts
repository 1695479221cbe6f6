/** Decoding of request bodies (raw bytes from express.raw) into values. */
import type { Request } from 'express';
import { AppError } from '../errors';
import { requestFormat } from './media';

export function bodyText(req: Request): string {
  const b = req.body as unknown;
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  return '';
}

export function parseJson(text: string, what = 'request body'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('Validation', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** For the JSON-only routes (/rerank, /predict, /v1/rerank...): 400 when empty, 415 for other types. */
export function readJsonBody(req: Request): unknown {
  const fmt = requestFormat(req.get('content-type'));
  if (fmt !== 'json') throw new AppError('UnsupportedMediaType', `this route takes application/json, got ${req.get('content-type')}; use /invocations for JSON Lines and CSV`);
  const text = bodyText(req);
  if (text.trim() === '') throw new AppError('Empty', 'the request body is empty: send a JSON object');
  return parseJson(text);
}
