/**
 * Media types the service reads and writes. Parameters (charset, etc.) are accepted and ignored:
 * bodies are always decoded as UTF-8.
 */
import { AppError } from '../errors';

export type BodyFormat = 'json' | 'jsonlines' | 'csv';

const BY_TYPE: Record<string, BodyFormat> = {
  'application/json': 'json',
  'text/json': 'json',
  'application/jsonlines': 'jsonlines',
  'application/jsonl': 'jsonlines',
  'application/x-jsonlines': 'jsonlines',
  'application/x-ndjson': 'jsonlines',
  'application/ndjson': 'jsonlines',
  'text/csv': 'csv',
  'application/csv': 'csv',
};

export const ACCEPTED_TYPES = Object.keys(BY_TYPE);

export function baseType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const t = header.split(';')[0]!.trim().toLowerCase();
  return t === '' ? undefined : t;
}

/** Format of a request body; a missing Content-Type is read as JSON (curl -d sends form type, handled too). */
export function requestFormat(contentType: string | undefined): BodyFormat {
  const t = baseType(contentType);
  if (t === undefined || t === 'application/x-www-form-urlencoded' || t === 'application/octet-stream') return 'json';
  const f = BY_TYPE[t];
  if (!f) {
    throw new AppError('UnsupportedMediaType', `Content-Type ${t} is not supported; use one of ${ACCEPTED_TYPES.join(', ')}`);
  }
  return f;
}

/** Format of the response from Accept; falls back to the request's own format. */
export function responseFormat(accept: string | undefined, fallback: BodyFormat): BodyFormat {
  if (!accept) return fallback;
  for (const part of accept.split(',')) {
    const t = baseType(part);
    if (t === undefined || t === '*/*' || t === 'application/*') return fallback;
    const f = BY_TYPE[t];
    if (f) return f;
  }
  throw new AppError('UnsupportedMediaType', `Accept ${accept} cannot be produced; use one of application/json, application/jsonlines, text/csv`);
}

export const CONTENT_TYPE: Record<BodyFormat, string> = {
  json: 'application/json',
  jsonlines: 'application/jsonlines',
  csv: 'text/csv',
};
