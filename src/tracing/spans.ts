/**
 * The span helpers the request path calls: one call per finished request, one per inference batch,
 * one around the model download at start-up. Each returns at once when tracing is off.
 *
 * A request's stage spans (tokenize, queue wait, inference) are built when the request ends, from
 * the per-request stage timings the engine already measures: tokenization runs from the start of
 * the engine's work, inference ends with it, and the queue wait is the rest (the three add up to
 * the engine's total, as in the request log line). Batches serve several requests at once, so a
 * batch span is its own trace, with the pair and token counts as attributes.
 */
import type * as OtelApi from '@opentelemetry/api';
import { hrTime, tracing } from './tracer';

type Attributes = Record<string, string | number | boolean>;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C traceparent header as a parent context (invalid or all-zero ids: none). */
function parentFrom(api: typeof OtelApi, traceparent: string | undefined): OtelApi.Context {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return api.ROOT_CONTEXT;
  return api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & 1, isRemote: true });
}

export interface FinishedRequestTrace {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  /** Epoch ms when the request arrived, and when it ended. */
  readonly startMs: number;
  readonly endMs: number;
  readonly inferenceId?: string | undefined;
  readonly traceparent?: string | undefined;
  readonly errorType?: string | undefined;
  readonly pairs?: number | undefined;
  readonly timings?: Partial<Record<'tokenizationMs' | 'queueMs' | 'inferenceMs' | 'totalMs', number>> | undefined;
}

export function traceRequest(r: FinishedRequestTrace): void {
  const t = tracing();
  if (!t) return;
  const { api, tracer } = t;
  const attributes: Attributes = { 'http.request.method': r.method, 'http.route': r.route, 'http.response.status_code': r.status };
  if (r.inferenceId) attributes['sagemaker.inference_id'] = r.inferenceId.slice(0, 256);
  if (r.pairs !== undefined) attributes['reranker.pairs'] = r.pairs;
  if (r.errorType) attributes['error.type'] = r.errorType;
  const span = tracer.startSpan(`${r.method} ${r.route}`, { kind: api.SpanKind.SERVER, startTime: hrTime(r.startMs), attributes }, parentFrom(api, r.traceparent));
  if (r.status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
  const tm = r.timings;
  if (tm?.totalMs !== undefined) {
    const ctx = api.trace.setSpan(api.ROOT_CONTEXT, span);
    const engineStart = Math.max(r.startMs, r.endMs - tm.totalMs);
    const stages: Array<[string, number, number]> = [];
    const tok = tm.tokenizationMs ?? 0;
    const inf = tm.inferenceMs ?? 0;
    stages.push(['tokenize', engineStart, engineStart + tok]);
    stages.push(['queue wait', engineStart + tok, engineStart + tm.totalMs - inf]);
    stages.push(['inference', engineStart + tm.totalMs - inf, engineStart + tm.totalMs]);
    for (const [name, a, b] of stages) {
      const s = tracer.startSpan(name, { startTime: hrTime(a), attributes: r.inferenceId ? { 'sagemaker.inference_id': r.inferenceId.slice(0, 256) } : {} }, ctx);
      s.end(hrTime(Math.max(a, b)));
    }
  }
  span.end(hrTime(r.endMs));
}

export interface BatchTrace {
  readonly pairs: number;
  readonly requests?: number | undefined;
  readonly paddedTokens: number;
  readonly realTokens: number;
  readonly runMs: number;
}

export function traceBatch(b: BatchTrace): void {
  const t = tracing();
  if (!t) return;
  const end = performance.timeOrigin + performance.now();
  const span = t.tracer.startSpan('inference batch', {
    startTime: hrTime(end - b.runMs),
    attributes: { 'reranker.batch.pairs': b.pairs, 'reranker.batch.requests': b.requests ?? 0, 'reranker.batch.padded_tokens': b.paddedTokens, 'reranker.batch.real_tokens': b.realTokens },
  });
  span.end(hrTime(end));
}

/** Runs fn inside a span (start-up work such as the S3 download); errors mark the span and pass on. */
export async function withSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, resultAttributes?: (v: T) => Attributes): Promise<T> {
  const t = tracing();
  if (!t) return fn();
  const span = t.tracer.startSpan(name, { attributes });
  try {
    const v = await fn();
    if (resultAttributes) span.setAttributes(resultAttributes(v));
    return v;
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: t.api.SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}
