/** GET /info: what is being served, how it was decided, on what device, under which limits. */
import type { AppDeps } from './deps';
import { scoringInfo } from './scoringInfo';
import { memoryLayoutInfo } from '../engine/memoryLayout';

export function buildInfo({ config, state, version }: AppDeps): Record<string, unknown> {
  const spec = state.spec;
  const engine = state.reranker?.engineInfo;
  return {
    version,
    phase: state.phase,
    ...(state.failure ? { failure: state.failure } : {}),
    model: state.model
      ? {
          id: spec?.nameHint ?? state.model.dir,
          dir: state.model.dir,
          source: state.model.source,
          source_reason: state.model.reason,
          ...(state.model.uri ? { uri: state.model.uri } : {}),
          demo: state.model.demo,
          ...(state.modelSha256 ? { onnx_sha256: state.modelSha256 } : {}),
          ...(state.model.demo ? { note: 'embedded demo model (lexical overlap); set MODEL_DIR or MODEL_URI to serve a real reranker' } : {}),
        }
      : null,
    spec: spec ?? null,
    scoring: spec ? scoringInfo(spec, state.reranker?.decoderGraph) : null,
    files: state.files ? { filesRead: state.files.read ?? {}, onnxFiles: state.files.onnxFiles ?? [] } : null,
    device: engine
      ? { requested: config.device, provider: engine.provider, ...(engine.fallbackReason ? { fallback_reason: engine.fallbackReason } : {}), inference_workers: engine.workers, intra_op_threads: state.reranker?.memoryLayout?.threads ?? config.intraOpThreads, ...(state.reranker?.memoryLayout ? { memory_layout: memoryLayoutInfo(state.reranker.memoryLayout) } : {}) }
      : { requested: config.device },
    limits: {
      max_input_length: spec?.maxInputLength ?? null,
      max_batch_tokens: state.reranker?.limitsInUse.maxBatchTokens ?? config.maxBatchTokens ?? 'auto',
      max_batch_requests: config.maxBatchRequests,
      max_concurrent_requests: config.maxConcurrentRequests,
      max_client_batch_size: config.maxClientBatchSize,
      max_payload_mb: config.maxPayloadMb,
      request_timeout_s: config.requestTimeoutMs / 1000,
    },
    result_cache: state.resultCache
      ? { max_mb: config.resultCacheBytes / 1024 / 1024, entries: state.resultCache.size, bytes: state.resultCache.sizeBytes }
      : config.resultCacheBytes > 0 && state.phase === 'ready'
        ? { enabled: false, pending: 'hashing the model file; the cache turns on when it is done' }
        : { enabled: false },
    ui: config.ui,
    auth: config.apiKeys.length > 0 ? 'api-key' : 'none',
    batch: { enabled: config.batchMode, strategy: config.batchStrategy, strict: config.batchStrict },
    warmup_ms: state.warmupMs ?? null,
    load_ms: state.loadMs ? Object.fromEntries(Object.entries(state.loadMs).map(([k, v]) => [k, Math.round(v)])) : null,
    uptime_s: Math.round((Date.now() - state.startedAt) / 1000),
  };
}
