/**
 * OpenTelemetry tracing, loaded only when an OTLP endpoint is configured: with
 * OTEL_EXPORTER_OTLP_ENDPOINT unset, no @opentelemetry module is ever required (the imports below
 * are types only, erased at compile time), so the default path costs one `undefined` check.
 *
 * The real OTel SDK (BasicTracerProvider, BatchSpanProcessor, OTLP/HTTP JSON exporter). No global
 * context manager: callers pass parents explicitly, which keeps async hops (worker threads, the
 * batch queue) out of it.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { TracingConfig } from '../config';
import { logger } from '../log';

const log = logger('tracing');

export interface Tracing {
  readonly api: typeof OtelApi;
  readonly tracer: OtelApi.Tracer;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The tracer, or undefined when tracing is off (every span helper returns at once then). */
export function tracing(): Tracing | undefined {
  return active;
}

export function initTracing(cfg: TracingConfig, version: string): void {
  if (!cfg.tracesUrl || active) return;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, see the header */
  const api = require('@opentelemetry/api') as typeof OtelApi;
  const sdk = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const exporter = new OTLPTraceExporter({ url: cfg.tracesUrl, headers: { ...cfg.headers } });
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName, 'service.version': version }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: cfg.scheduleDelayMs })],
  });
  active = {
    api,
    tracer: provider.getTracer('sagemaker-reranker', version),
    shutdown: () => provider.shutdown(),
  };
  log.info('OpenTelemetry tracing on', { url: cfg.tracesUrl.replace(/\?.*$/, ''), service: cfg.serviceName });
}

/** Exports what is buffered and stops; called on shutdown. */
export async function shutdownTracing(): Promise<void> {
  const t = active;
  active = undefined;
  await t?.shutdown().catch((e: unknown) => log.warn('tracing shutdown failed', { error: (e as Error).message }));
}

/** Epoch milliseconds (fractional) as OTel's [seconds, nanoseconds]. */
export function hrTime(epochMs: number): [number, number] {
  const s = Math.floor(epochMs / 1000);
  return [s, Math.round((epochMs - s * 1000) * 1e6)];
}
