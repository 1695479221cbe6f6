/**
 * Decoding of request bodies (raw bytes from express.raw) into values.
 *
 * - Text is decoded in the Content-Type's charset (UTF-8 when none is named; any WHATWG encoding
 *   label such as utf-16le or iso-8859-1 is honoured, an unknown one is a 415). Bytes that are not
 *   valid in that charset are a 422 naming the byte offset, never silently replaced. A leading
 *   byte order mark is dropped.
 * - JSON nested deeper than MAX_JSON_DEPTH arrays/objects is a 422 before it is parsed: no accepted
 *   shape needs more than a few levels, and deeper values would exhaust the stack when validated
 *   or echoed back (the same limit as serde_json, which TEI uses).
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import type { Request } from 'express';
import { AppError } from '../errors';
import { baseType, requestFormat } from './media';
import type { Slicer } from './slices';

export const MAX_JSON_DEPTH = 128;

const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'us-ascii', 'ascii']);

export interface DecodedBody {
  readonly text: string;
  /** Set when the bytes are not valid in their charset: the error for the body as a whole. */
  readonly invalid?: AppError;
  /** UTF-8 only: the error of each line (0-based, split at \n) whose bytes are not valid UTF-8. */
  readonly invalidLines?: ReadonlyMap<number, AppError>;
}

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined when absent. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const v = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').trim().toLowerCase();
    return v === '' ? undefined : v;
  }
  return undefined;
}

/** Offset of the first byte that does not start a valid UTF-8 sequence, or -1 (RFC 3629: no overlongs, no surrogates). */
export function invalidUtf8At(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    const c1 = b[i + 1]!;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

function utf8Error(b: Uint8Array, what: string): AppError {
  const at = invalidUtf8At(b);
  const hex = at >= 0 ? ` (0x${b[at]!.toString(16).padStart(2, '0')})` : '';
  return new AppError(
    'Validation',
    `${what} is not valid UTF-8 at byte ${Math.max(at, 0)}${hex}; send UTF-8 text, or name its charset in Content-Type (e.g. application/json; charset=iso-8859-1)`,
  );
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** Decodes the body in its charset; invalid bytes are reported (see DecodedBody), an unknown charset is a 415. */
export function decodeBody(req: Request): DecodedBody {
  const b = req.body as unknown;
  if (!Buffer.isBuffer(b) || b.length === 0) return { text: '' };
  const charset = charsetOf(req.get('content-type'));
  if (charset === undefined || UTF8_LABELS.has(charset)) {
    const text = stripBom(b.toString('utf8'));
    if (isUtf8(b)) return { text };
    // Lines end where records.ts splits them: \n, \r\n or a lone \r (bytes no UTF-8 sequence contains).
    const invalidLines = new Map<number, AppError>();
    let line = 0;
    for (let start = 0; start <= b.length; line++) {
      let end = start;
      while (end < b.length && b[end] !== 0x0a && b[end] !== 0x0d) end++;
      const lineBytes = b.subarray(start, end);
      if (!isUtf8(lineBytes)) invalidLines.set(line, utf8Error(lineBytes, 'record'));
      start = end + (b[end] === 0x0d && b[end + 1] === 0x0a ? 2 : 1);
    }
    return { text, invalid: utf8Error(b, 'request body'), invalidLines };
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    throw new AppError('UnsupportedMediaType', `charset ${charset} is not supported; send UTF-8 (charset=utf-8), or another WHATWG encoding label such as utf-16le or iso-8859-1`);
  }
  try {
    return { text: decoder.decode(b) };
  } catch {
    const text = stripBom(new TextDecoder(charset).decode(b));
    const invalid = new AppError('Validation', `request body is not valid ${charset}; send UTF-8 text or name the charset it is in`);
    // Per line (JSON Lines): the lines where the lenient decoder had to put U+FFFD are the bad ones.
    const invalidLines = new Map<number, AppError>();
    text.split(/\r\n|\n|\r/).forEach((l, i) => {
      if (l.includes('\ufffd')) invalidLines.set(i, new AppError('Validation', `record is not valid ${charset}`));
    });
    return { text, invalid, invalidLines };
  }
}

/** The body as text; bytes that are not valid in the charset are a 422. */
export function bodyText(req: Request): string {
  const d = decodeBody(req);
  if (d.invalid) throw d.invalid;
  return d.text;
}

/** Scans JSON text for nesting depth, a piece at a time (strings and escapes skipped). Linear, no recursion. */
class DepthScan {
  private depth = 0;
  private inString = false;
  /** Where the scan goes on (an escape at the end of one piece skips the first char of the next). */
  private at = 0;

  constructor(private readonly max: number) {}

  /** Scans text up to `end`; true as soon as the depth passes max. */
  until(text: string, end: number): boolean {
    let i = this.at;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (c === 0x5c) i++;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++this.depth > this.max) return true;
      } else if (c === 0x5d || c === 0x7d) this.depth--;
    }
    this.at = i;
    return false;
  }
}

/** True when arrays/objects nest deeper than `max`. */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  return new DepthScan(max).until(text, text.length);
}

/** Characters scanned between two slice checks. */
const SCAN_STEP = 256 * 1024;

function tooDeepError(what: string): AppError {
  return new AppError('Validation', `${what} is nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects; no accepted shape needs more than a few`);
}

function parseChecked(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('Validation', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export function parseJson(text: string, what = 'request body'): unknown {
  if (jsonTooDeep(text)) throw tooDeepError(what);
  return parseChecked(text, what);
}

/**
 * parseJson for whole bodies: the depth scan runs in slices. JSON.parse itself is one call; at the
 * 6 MB payload limit it takes 10 to 35 ms on a loaded 2-core machine (docs/BENCHMARKS.md).
 */
export async function parseJsonSliced(text: string, slicer: Slicer, what = 'request body'): Promise<unknown> {
  const scan = new DepthScan(MAX_JSON_DEPTH);
  for (let end = Math.min(text.length, SCAN_STEP); ; end = Math.min(text.length, end + SCAN_STEP)) {
    if (scan.until(text, end)) throw tooDeepError(what);
    if (end >= text.length) break;
    await slicer.tick();
  }
  await slicer.tick();
  return parseChecked(text, what);
}

/** JSON-only routes answer application/json: an Accept that rules it out is a 415. */
export function requireJsonAccept(accept: string | undefined): void {
  if (!accept || accept.trim() === '') return;
  for (const part of accept.split(',')) {
    const t = baseType(part);
    if (t === undefined || t === '*/*' || t === 'application/*' || t === 'application/json' || t === 'text/json') return;
  }
  throw new AppError('UnsupportedMediaType', `Accept ${accept} cannot be produced: this route answers application/json (use /invocations for application/jsonlines or text/csv)`);
}

/** For the JSON-only routes (/rerank, /predict, /v1/rerank...): 400 when empty, 415 for other types. */
export async function readJsonBody(req: Request, slicer: Slicer): Promise<unknown> {
  const fmt = requestFormat(req.get('content-type'));
  if (fmt !== 'json') throw new AppError('UnsupportedMediaType', `this route takes application/json, got ${req.get('content-type')}; use /invocations for JSON Lines and CSV`);
  requireJsonAccept(req.get('accept'));
  const text = bodyText(req);
  if (text.trim() === '') throw new AppError('Empty', 'the request body is empty: send a JSON object');
  return parseJsonSliced(text, slicer);
}
