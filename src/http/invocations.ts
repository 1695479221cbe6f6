/**
 * POST /invocations, SageMaker's single entry point. One JSON object is one request in any
 * dialect. Several records (JSON Lines, a MultiRecord batch sent as application/json, or CSV rows
 * of query,document) give exactly one output line per input line, in order; a bad record gets an
 * error line of its own unless BATCH_STRICT=true.
 */
import type { Request, Response } from 'express';
import { AppError, isAppError } from '../errors';
import type { AppDeps } from './deps';
import { decodeBody, parseJson } from './body';
import { createContext, type RequestContext } from './context';
import { csvRow, parseCsv } from './csv';
import { pickDialect } from './dialects';
import { toAppError } from './errorHandler';
import { scorePairs } from './handlers/scoring';
import { CONTENT_TYPE, requestFormat, responseFormat, type BodyFormat } from './media';
import { parseCustomAttributes, resolveOptions, type BodyOptions } from './options';

type Line = { ok: true; body: unknown; csv: ReadonlyArray<number | string> } | { ok: false; error: AppError };

export async function invocations(deps: AppDeps, req: Request, res: Response): Promise<void> {
  const inFormat = requestFormat(req.get('content-type'));
  const outFormat = responseFormat(req.get('accept'), inFormat);
  const decoded = decodeBody(req);
  const text = decoded.text;
  if (text.trim() === '') throw new AppError('Empty', 'the request body is empty');
  const attrs = parseCustomAttributes(req.get('x-amzn-sagemaker-custom-attributes'));
  const ctx = createContext(deps.state, req, res);
  if (attrs && req.get('x-amzn-sagemaker-custom-attributes')) res.setHeader('X-Amzn-SageMaker-Custom-Attributes', req.get('x-amzn-sagemaker-custom-attributes')!);

  if (inFormat === 'json') {
    const single = tryParse(text);
    if (single.ok) {
      if (decoded.invalid) throw decoded.invalid;
      const d = pickDialect(single.value);
      const r = await d.handle(ctx, single.value as Record<string, unknown>, attrs);
      send(res, outFormat, [{ ok: true, body: r.body, csv: r.csv }], false);
      return;
    }
    if (!text.trim().includes('\n')) throw decoded.invalid ?? single.error;
  }
  // Invalid bytes fail a CSV body as a whole (a quoted field may span lines); in JSON Lines only their own line.
  if (decoded.invalid && (inFormat === 'csv' || !decoded.invalidLines)) throw decoded.invalid;
  const lines = inFormat === 'csv' ? await csvRecords(ctx, text, attrs) : await jsonLinesRecords(ctx, text, attrs, decoded.invalidLines);
  if (deps.config.batchStrict) {
    const bad = lines.findIndex((l) => !l.ok);
    if (bad >= 0) {
      const e = (lines[bad] as { error: AppError }).error;
      throw new AppError(e.errorType, `record ${bad + 1}: ${e.message}`);
    }
  }
  send(res, outFormat, lines, true);
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: AppError } {
  try {
    return { ok: true, value: parseJson(text) };
  } catch (e) {
    return { ok: false, error: toAppError(e, 0) };
  }
}

/** Records of a JSON Lines body; the final newline does not start a record, a blank line inside does. */
function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

async function jsonLinesRecords(ctx: RequestContext, text: string, attrs: BodyOptions, invalidLines?: ReadonlyMap<number, AppError>): Promise<Line[]> {
  return Promise.all(
    splitLines(text).map(async (line, i): Promise<Line> => {
      try {
        const invalid = invalidLines?.get(i);
        if (invalid) throw invalid;
        if (line.trim() === '') throw new AppError('Empty', 'empty record');
        const value = parseJson(line, 'record');
        const r = await pickDialect(value).handle(ctx, value as Record<string, unknown>, attrs);
        return { ok: true, body: r.body, csv: r.csv };
      } catch (e) {
        return { ok: false, error: recordError(e, ctx) };
      }
    }),
  );
}

/** CSV rows of query,document; an optional header row "query,document" is answered by a header row. */
async function csvRecords(ctx: RequestContext, text: string, attrs: BodyOptions): Promise<Line[]> {
  const rows = parseCsv(text);
  // Trailing blank lines are not records; a trailing row of empty fields (",") is.
  while (rows.length > 0 && rows[rows.length - 1]!.fields.length === 1 && rows[rows.length - 1]!.fields[0]!.trim() === '') rows.pop();
  const opts = resolveOptions({}, attrs);
  const out: Line[] = new Array(rows.length);
  const pairs: Array<readonly [string, string]> = [];
  const at: number[] = [];
  rows.forEach((r, i) => {
    const [q, d] = r.fields;
    if (i === 0 && r.fields.length === 2 && q?.trim().toLowerCase() === 'query' && d?.trim().toLowerCase() === 'document') {
      out[i] = { ok: true, body: { header: ['query', 'document'] }, csv: ['score'] };
    } else if (r.fields.length !== 2) {
      out[i] = { ok: false, error: new AppError('Validation', `CSV line ${r.line} has ${r.fields.length} fields; expected 2 (query,document)`) };
    } else {
      pairs.push([q!, d!]);
      at.push(i);
    }
  });
  if (pairs.length > 0) {
    try {
      const { scores } = await scorePairs(ctx, pairs, opts);
      at.forEach((row, k) => (out[row] = { ok: true, body: { score: scores[k]! }, csv: [scores[k]!] }));
    } catch (e) {
      if (!isAppError(e) || e.status >= 500 || e.errorType === 'Overloaded') throw e;
      // One bad pair (e.g. too long with truncate=false) must not fail the file: score rows one by one.
      await Promise.all(
        at.map(async (row, k) => {
          try {
            const { scores } = await scorePairs(ctx, [pairs[k]!], opts);
            out[row] = { ok: true, body: { score: scores[0]! }, csv: [scores[0]!] };
          } catch (err) {
            out[row] = { ok: false, error: recordError(err, ctx) };
          }
        }),
      );
    }
  }
  return out;
}

/** A record's own failure becomes its error line; a failure of the whole server still fails the request. */
function recordError(e: unknown, ctx: RequestContext): AppError {
  const err = toAppError(e, 0);
  if (err.status >= 500 || err.errorType === 'Overloaded' || ctx.signal.aborted) throw err;
  return err;
}

function send(res: Response, format: BodyFormat, lines: Line[], multi: boolean): void {
  res.setHeader('content-type', CONTENT_TYPE[format]);
  if (format === 'csv') {
    res.send(lines.map((l) => (l.ok ? csvRow(l.csv) : csvRow([`error: ${l.error.errorType}: ${l.error.message}`]))).join('\n') + '\n');
    return;
  }
  const encoded = lines.map((l) => JSON.stringify(l.ok ? l.body : l.error.toJSON()));
  if (!multi && format === 'json') res.send(encoded[0]);
  else res.send(encoded.join('\n') + '\n');
}
