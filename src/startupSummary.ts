/**
 * The one line an operator reads first: what is served, from where, on which device, with which
 * limits, and how long loading took; plus the same facts as metrics (reranker_model_info,
 * reranker_model_load_seconds). No secrets: the S3 endpoint loses any user:password@.
 */
import type { StartupSummaryOptions } from './config';
import { modelLoaded } from './engine/engineMetrics';
import type { Reranker } from './engine/reranker';
import { memoryLayoutInfo } from './engine/memoryLayout';
import type { ServedModel } from './http/state';
import { logger, redactUrl } from './log';
import { VERSION } from './version';

const log = logger('main');

export function reportReady(config: StartupSummaryOptions, model: ServedModel, reranker: Reranker, phasesMs: Readonly<Record<string, number>>): void {
  const spec = reranker.spec;
  const engine = reranker.engineInfo;
  const limits = reranker.limitsInUse;
  modelLoaded({ device: engine.provider, task: spec.task, family: spec.family, activation: spec.activation, maxInputLength: spec.maxInputLength, source: model.source }, phasesMs);
  const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms));
  log.info('ready', {
    version: VERSION,
    model: {
      source: model.source,
      reason: model.reason,
      dir: model.dir,
      ...(model.uri ? { uri: model.uri } : {}),
      ...(config.s3.endpoint && model.uri ? { s3_endpoint: redactUrl(config.s3.endpoint) } : {}),
    },
    spec: { task: spec.task, family: spec.family, max_input_length: spec.maxInputLength, activation: spec.activation, num_labels: spec.numLabels, onnx: spec.onnxFile, ...(spec.variant ? { dtype: spec.variant.requested, variant: spec.variant.kind, variant_reason: spec.variant.reason } : {}) },
    // Defaults that change scores (activation, labels, window) are spec warnings: repeated here.
    ...(spec.warnings.length ? { spec_warnings: spec.warnings } : {}),
    device: engine.provider,
    device_requested: config.device,
    ...(engine.provider === 'cuda' ? { cuda_device_id: config.cudaDeviceId } : {}),
    ...(engine.fallbackReason !== undefined ? { fallback_reason: engine.fallbackReason } : {}),
    inference_workers: engine.workers,
    intra_op_threads: reranker.memoryLayout?.threads ?? config.intraOpThreads,
    ...(reranker.memoryLayout ? { memory_layout: memoryLayoutInfo(reranker.memoryLayout) } : {}),
    tokenizer_workers: config.tokenizerWorkers,
    limits: {
      max_batch_tokens: limits.maxBatchTokens,
      max_batch_tokens_source: config.maxBatchTokens === undefined ? `default for ${engine.provider}` : 'MAX_BATCH_TOKENS',
      max_batch_requests: limits.maxBatchRequests,
      max_concurrent_pairs: limits.maxConcurrentRequests,
      max_client_batch_size: config.maxClientBatchSize,
      max_payload_mb: config.maxPayloadMb,
      request_timeout_s: config.requestTimeoutMs / 1000,
    },
    ...(config.batchMode ? { batch_transform: { strategy: config.batchStrategy, max_concurrent_transforms: config.maxConcurrentTransforms } } : {}),
    load_ms: Object.fromEntries(Object.entries(phasesMs).map(([k, v]) => [k, round(v)])),
  });
}
