/**
 * Starts what reports on the server from outside the request path: CloudWatch EMF lines
 * (METRICS_EMF) and OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT); stops both on shutdown,
 * after a last EMF line and a flush of the buffered spans.
 */
import { startEmfReporter, modelLabelOf, type EmfReporter } from './cloudwatch/emfReporter';
import type { ObservabilityOptions } from './config';
import type { ServerState } from './http/state';
import { initTracing, shutdownTracing } from './tracing/tracer';

export interface Observability {
  /** EMF lines start once the model is ready: start-up and warm-up are not traffic. */
  metricsFrom(ready: Promise<void>): void;
  stop(): Promise<void>;
}

export function startObservability(config: ObservabilityOptions, state: ServerState, version: string): Observability {
  initTracing(config.tracing, version);
  let emf: EmfReporter | undefined;
  let stopped = false;
  return {
    metricsFrom(ready) {
      if (!config.emf.enabled) return;
      ready.then(
        () => {
          if (stopped) return;
          emf = startEmfReporter(config.emf, {
            maxBatchTokens: () => state.reranker?.limitsInUse.maxBatchTokens,
            queue: () => (state.reranker ? { queued: state.reranker.queuedPairs, inFlight: state.reranker.pairsInFlight } : undefined),
            modelLabel: () => modelLabelOf(state.model?.uri ?? state.model?.dir),
            version,
          });
        },
        () => undefined,
      );
    },
    async stop() {
      stopped = true;
      await emf?.stop();
      await shutdownTracing();
    },
  };
}
