/**
 * Reads request bodies into a Buffer (req.body) with every limit checked as the bytes arrive,
 * never after the whole body is in memory:
 * - a declared Content-Length over the payload limit is a 413 before any byte is read (what
 *   still arrives is discarded, and the socket closed DISCARD_GRACE_MS after the answer);
 * - Content-Encoding gzip, x-gzip, deflate and br are inflated as they stream; the *decompressed*
 *   bytes count against the payload limit, so a 5 KB gzip bomb stops at the limit too. Any other
 *   encoding is a 415;
 * - JSON Lines and CSV bodies (UTF-8) count their line breaks as they arrive: more than
 *   MAX_RECORDS is a 413 at once (blank lines are records too: each gets an answer line);
 * - all bodies being received at once share MAX_BODY_MEMORY_MB: past it a new body waits for
 *   nobody, it gets a 429 (transient: the memory frees as other bodies finish);
 * - draining (SIGTERM) cuts bodies still arriving with a 503 instead of waiting for slow senders.
 * Express's own express.raw checked the limit only on the compressed bytes' arrival and counted
 * nothing else.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Budgets } from '../config';
import { AppError } from '../errors';
import { charsetOf } from './body';
import { baseType } from './media';

const LINE_TYPES = new Set(['application/jsonlines', 'application/jsonl', 'application/x-jsonlines', 'application/x-ndjson', 'application/ndjson', 'text/csv', 'application/csv']);
const UTF8 = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

export interface BodyLimits {
  /** Payload limit in bytes (decompressed); 0: none. */
  readonly maxBytes: number;
  readonly budgets: Pick<Budgets, 'maxRecords' | 'maxBodyMemoryBytes'>;
}

/** Bytes held by bodies being received now, across requests. */
let heldBytes = 0;
/** Bodies being received now: cut by abortBodyReads() when the server drains. */
const active = new Set<(e: AppError) => void>();

export function bodyBytesHeld(): number {
  return heldBytes;
}

/** Ends every body still arriving with `e` (SIGTERM: senders of slow bodies do not hold the drain). */
export function abortBodyReads(e: AppError): void {
  for (const stop of [...active]) stop(e);
}

export function payloadTooLarge(limitBytes: number, what = 'request body'): AppError {
  const mb = (limitBytes / 1024 / 1024).toFixed(limitBytes % (1024 * 1024) === 0 ? 0 : 2);
  return new AppError('PayloadTooLarge', `${what} is larger than the ${mb} MiB limit (SAGEMAKER_MAX_PAYLOAD_IN_MB / MAX_PAYLOAD_MB; decompressed bytes count); send fewer documents per request`);
}

export function tooManyRecords(max: number): AppError {
  return new AppError('PayloadTooLarge', `the body has more than ${max} records (MAX_RECORDS; every line counts, blank lines too); split it into smaller requests or raise MAX_RECORDS`);
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding) {
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      throw new AppError('UnsupportedMediaType', `Content-Encoding ${encoding} is not supported; send identity, gzip, deflate or br`);
  }
}

/**
 * The check a request must pass before its body is read (also used to answer
 * `Expect: 100-continue` with a 413 instead of a 100).
 */
export function checkDeclaredLength(req: Request | import('node:http').IncomingMessage, limits: BodyLimits): AppError | undefined {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (limits.maxBytes > 0 && Number.isFinite(declared) && declared > limits.maxBytes) return payloadTooLarge(limits.maxBytes);
  if (Number.isFinite(declared) && heldBytes + declared > limits.budgets.maxBodyMemoryBytes) {
    return new AppError('Overloaded', `the server is receiving too many request bodies at once (MAX_BODY_MEMORY_MB=${Math.round(limits.budgets.maxBodyMemoryBytes / 1024 / 1024)}); retry with backoff`);
  }
  return undefined;
}

/** How long a refused body may keep arriving (discarded) after the answer, so the client reads it. */
const DISCARD_GRACE_MS = 2000;

/**
 * The answer goes out at once, while the client may still be sending: closing the socket right
 * away would reset it before the client reads the answer (most clients read only after their
 * upload). Node discards what still arrives; a sender that has not finished DISCARD_GRACE_MS after
 * the answer loses the connection, so a declared 1 GB body holds no socket for long.
 */
function discardRest(req: Request, res: Response): void {
  res.once('finish', () => {
    if (req.complete) return;
    const t = setTimeout(() => req.socket.destroy(), DISCARD_GRACE_MS);
    t.unref();
    req.once('end', () => clearTimeout(t));
    req.socket.once('close', () => clearTimeout(t));
  });
}

export function bodyReader(limits: BodyLimits) {
  const maxBytes = limits.maxBytes === 0 ? Number.MAX_SAFE_INTEGER : limits.maxBytes;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBody(req)) {
      req.body = Buffer.alloc(0);
      next();
      return;
    }
    const early = checkDeclaredLength(req, limits);
    let decoder: ReturnType<typeof decoderFor>;
    try {
      if (early) throw early;
      decoder = decoderFor(String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase() || 'identity');
    } catch (e) {
      discardRest(req, res);
      next(e);
      return;
    }
    const type = baseType(req.get('content-type'));
    const charset = charsetOf(req.get('content-type'));
    const countLines = type !== undefined && LINE_TYPES.has(type) && (charset === undefined || UTF8.has(charset));
    const source: Readable = decoder ? req.pipe(decoder) : req;

    const chunks: Buffer[] = [];
    let size = 0;
    let breaks = 0;
    let lastWasCr = false;
    let done = false;
    const finish = (e?: unknown): void => {
      if (done) return;
      done = true;
      active.delete(stop);
      heldBytes -= size;
      source.off('data', onData);
      if (e === undefined) {
        req.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        next();
        return;
      }
      chunks.length = 0;
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      discardRest(req, res);
      next(e);
    };
    const stop = (e: AppError): void => finish(e);
    active.add(stop);
    const onData = (chunk: Buffer): void => {
      if (done) return;
      size += chunk.length;
      heldBytes += chunk.length;
      if (size > maxBytes) return finish(payloadTooLarge(limits.maxBytes));
      if (heldBytes > limits.budgets.maxBodyMemoryBytes) {
        return finish(new AppError('Overloaded', `the server is receiving too many request bodies at once (MAX_BODY_MEMORY_MB=${Math.round(limits.budgets.maxBodyMemoryBytes / 1024 / 1024)}); retry with backoff`));
      }
      if (countLines) {
        // \n, and \r not followed by \n, end a record (CR-only files are split too).
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk[i]!;
          if (c === 0x0a) {
            if (!lastWasCr) breaks++;
            lastWasCr = false;
          } else if (c === 0x0d) {
            breaks++;
            lastWasCr = true;
          } else lastWasCr = false;
        }
        if (breaks > limits.budgets.maxRecords) return finish(tooManyRecords(limits.budgets.maxRecords));
      }
      chunks.push(chunk);
    };
    source.on('data', onData);
    source.once('end', () => finish());
    source.once('error', (e: Error) => finish(decoder && e !== undefined && !(e instanceof AppError) ? new AppError('Validation', `the ${String(req.headers['content-encoding'])} body cannot be decompressed: ${e.message}`) : e));
    req.once('aborted', () => finish(new AppError('Validation', 'the client closed the request before the body was read')));
    if (decoder) req.once('error', (e) => finish(e));
  };
}
