/**
 * POST /invocations, SageMaker's single entry point. One JSON object is one request in any
 * dialect. Several records (JSON Lines, a MultiRecord batch sent as application/json, or CSV rows
 * of query,document) give exactly one output line per input line, in order; a bad record gets an
 * error line of its own unless BATCH_STRICT=true.
 *
 * Under application/json a body that is not one JSON value is read as MultiRecord JSON Lines only
 * when its first line is a JSON value by itself: a pretty-printed object with a syntax error is a
 * 422 for the body, not a 200 with an error per line. Splitting, CSV parsing, running the records
 * and encoding the answer all stay within the budgets (MAX_RECORDS, MAX_RESPONSE_MB) and yield to
 * the event loop between slices (records.ts, answer.ts).
 */
import type { Request, Response } from 'express';
import { AppError, isAppError } from '../errors';
import { encodeJsonSliced, encodeLines } from './answer';
import type { AppDeps } from './deps';
import { decodeBody, parseJson, parseJsonSliced } from './body';
import { createContext, type RequestContext } from './context';
import { csvRow, parseCsv } from './csv';
import { pickDialect } from './dialects';
import { toAppError } from './errorHandler';
import { scorePairs } from './handlers/scoring';
import { CONTENT_TYPE, requestFormat, responseFormat, type BodyFormat } from './media';
import { parseCustomAttributes, resolveOptions, type BodyOptions } from './options';
import { pairsOf, runRecords, splitRecords } from './records';
import { Slicer } from './slices';

type Line = { ok: true; body: unknown; csv: ReadonlyArray<number | string> } | { ok: false; error: AppError; id?: string | number };

/** A JSON Lines record's own `id` (string or number), echoed on its output line. */
function recordId(value: unknown): string | number | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, 'id')) return undefined;
  const id = (value as { id: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * The output line of a record with an id: an object answer gets `id` (Cohere's own response id
 * gives way to it); an array answer (TEI, HF) is wrapped as {id, results}.
 */
function withRecordId(body: unknown, id: string | number | undefined): unknown {
  if (id === undefined) return body;
  return Array.isArray(body) ? { id, results: body } : { ...(body as object), id };
}

export async function invocations(deps: AppDeps, req: Request, res: Response): Promise<void> {
  const inFormat = requestFormat(req.get('content-type'));
  const outFormat = responseFormat(req.get('accept'), inFormat);
  const decoded = decodeBody(req);
  const text = decoded.text;
  if (text.trim() === '') throw new AppError('Empty', 'the request body is empty');
  const attrs = parseCustomAttributes(req.get('x-amzn-sagemaker-custom-attributes'));
  const ctx = createContext(deps.state, req, res, deps.config);
  if (attrs && req.get('x-amzn-sagemaker-custom-attributes')) res.setHeader('X-Amzn-SageMaker-Custom-Attributes', req.get('x-amzn-sagemaker-custom-attributes')!);
  const { budgets } = deps.config;
  const slicer = new Slicer(ctx.signal);

  if (inFormat === 'json') {
    const single = await tryParseSliced(text, slicer);
    if (single.ok) {
      if (decoded.invalid) throw decoded.invalid;
      const d = pickDialect(single.value);
      const r = await d.handle(ctx, single.value as Record<string, unknown>, attrs);
      await send(res, outFormat, [{ ok: true, body: r.body, csv: r.csv }], false, budgets.maxResponseBytes, slicer);
      return;
    }
    if (!looksLikeJsonLines(text)) throw decoded.invalid ?? single.error;
  }
  // Invalid bytes fail a CSV body as a whole (a quoted field may span lines); in JSON Lines only their own line.
  if (decoded.invalid && (inFormat === 'csv' || !decoded.invalidLines)) throw decoded.invalid;
  const capacity = Math.max(1, Math.floor(deps.config.maxConcurrentRequests / 2));
  const lines =
    inFormat === 'csv'
      ? await csvRecords(ctx, text, attrs, budgets.maxRecords, capacity, deps.config.maxClientBatchSize, slicer)
      : await jsonLinesRecords(ctx, await splitRecords(text, budgets.maxRecords, slicer), attrs, capacity, slicer, decoded.invalidLines);
  if (deps.config.batchStrict) {
    const bad = lines.findIndex((l) => !l.ok);
    if (bad >= 0) {
      const e = (lines[bad] as { error: AppError }).error;
      throw new AppError(e.errorType, `record ${bad + 1}: ${e.message}`);
    }
  }
  await send(res, outFormat, lines, true, budgets.maxResponseBytes, slicer);
}

async function tryParseSliced(text: string, slicer: Slicer): Promise<{ ok: true; value: unknown } | { ok: false; error: AppError }> {
  try {
    return { ok: true, value: await parseJsonSliced(text, slicer) };
  } catch (e) {
    // Only a parse failure is an answer here; a cancelled request (the slicer's abort) stops.
    if (!(e instanceof AppError) || e.errorType !== 'Validation') throw e;
    return { ok: false, error: e };
  }
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: AppError } {
  try {
    return { ok: true, value: parseJson(text) };
  } catch (e) {
    return { ok: false, error: toAppError(e, 0) };
  }
}

/** MultiRecord JSON Lines under application/json: several lines, the first non-blank one a JSON value of its own. */
function looksLikeJsonLines(text: string): boolean {
  const re = /\r\n|\n|\r/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const line = text.slice(start, m.index);
    start = m.index + m[0].length;
    if (line.trim() !== '') return tryParse(line).ok && text.slice(start).trim() !== '';
  }
  return false;
}

async function jsonLinesRecords(ctx: RequestContext, lines: string[], attrs: BodyOptions, capacity: number, slicer: Slicer, invalidLines?: ReadonlyMap<number, AppError>): Promise<Line[]> {
  const parsed = new Array<{ value: unknown; id: string | number | undefined } | { error: AppError }>(lines.length);
  const prepare = (i: number): number => {
    const line = lines[i]!;
    try {
      const invalid = invalidLines?.get(i);
      if (invalid) throw invalid;
      if (line.trim() === '') throw new AppError('Empty', 'empty record');
      const value = parseJson(line, 'record');
      parsed[i] = { value, id: recordId(value) };
      return pairsOf(value);
    } catch (e) {
      parsed[i] = { error: toAppError(e, 0) };
      return 0;
    }
  };
  return runRecords(
    lines.length,
    prepare,
    async (i): Promise<Line> => {
      const p = parsed[i]!;
      parsed[i] = undefined as never; // the parsed value is not needed after this record
      if ('error' in p) return { ok: false, error: p.error };
      const id = p.id;
      try {
        const r = await pickDialect(p.value).handle(ctx, p.value as Record<string, unknown>, attrs);
        return { ok: true, body: withRecordId(r.body, id), csv: r.csv };
      } catch (e) {
        return { ok: false, error: recordError(e, ctx), ...(id !== undefined ? { id } : {}) };
      }
    },
    capacity,
    slicer,
  );
}

/** CSV rows of query,document; an optional header row "query,document" is answered by a header row. */
async function csvRecords(ctx: RequestContext, text: string, attrs: BodyOptions, maxRecords: number, capacity: number, maxBatch: number, slicer: Slicer): Promise<Line[]> {
  const rows = await parseCsv(text, maxRecords, slicer);
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
  // Rows are scored in slices the server can hold at once (never more than one request may send).
  const slice = Math.max(1, Math.min(capacity, maxBatch));
  for (let from = 0; from < pairs.length; from += slice) {
    const part = pairs.slice(from, from + slice);
    const rowsOf = at.slice(from, from + slice);
    try {
      const { scores } = await scorePairs(ctx, part, opts);
      rowsOf.forEach((row, k) => (out[row] = { ok: true, body: { score: scores[k]! }, csv: [scores[k]!] }));
    } catch (e) {
      if (!isAppError(e) || e.status >= 500 || e.errorType === 'Overloaded' || ctx.signal.aborted) throw e;
      // One bad pair (e.g. too long with truncate=false) must not fail the file: score rows one by one.
      await runRecords(
        part.length,
        () => 1,
        async (k) => {
          try {
            const { scores } = await scorePairs(ctx, [part[k]!], opts);
            out[rowsOf[k]!] = { ok: true, body: { score: scores[0]! }, csv: [scores[0]!] };
          } catch (err) {
            out[rowsOf[k]!] = { ok: false, error: recordError(err, ctx) };
          }
        },
        capacity,
        slicer,
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

/** A failed record's output line: the error, with the record's id when it had one. */
function errorLine(l: Extract<Line, { ok: false }>): unknown {
  return { ...l.error.toJSON(), ...(l.id !== undefined ? { id: l.id } : {}) };
}

async function send(res: Response, format: BodyFormat, lines: Line[], multi: boolean, maxBytes: number, slicer: Slicer): Promise<void> {
  let body: string;
  if (format === 'csv') {
    body = await encodeLines(lines, (l) => (l.ok ? csvRow(l.csv) : csvRow([`error: ${l.error.errorType}: ${l.error.message}`])), maxBytes, slicer);
  } else if (!multi && format === 'json') {
    const l = lines[0]!;
    body = await encodeJsonSliced(l.ok ? l.body : errorLine(l), maxBytes, slicer);
  } else {
    body = await encodeLines(lines, (l) => JSON.stringify(l.ok ? l.body : errorLine(l)), maxBytes, slicer);
  }
  res.setHeader('content-type', CONTENT_TYPE[format]);
  res.send(body);
}
