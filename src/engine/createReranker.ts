/**
 * Starts the engine for a decided spec: tokenizer workers, inference workers (CUDA or CPU),
 * then a warm-up so the first real request does not pay for arena allocation.
 */
import path from 'node:path';
import type { Config } from '../config';
import { AppError } from '../errors';
import { logger } from '../log';
import type { ModelSpec } from '../spec/types';
import { TokenizerPool } from '../tokenize/tokenizerPool';
import { InferencePool } from './inferencePool';
import { Reranker } from './reranker';
import { batchMetrics } from './engineMetrics';

const log = logger('engine');

export async function createReranker(config: Config, spec: ModelSpec, modelDir: string): Promise<Reranker> {
  if (!spec.inputs || !spec.outputName || !spec.onnxFile) {
    throw new AppError('Model', `no ONNX graph was found in ${modelDir}; put model.onnx at the root or under onnx/, or set MODEL_ONNX_FILE`);
  }
  const tokenizer = await TokenizerPool.create({ modelDir, workers: config.tokenizerWorkers });
  let engine: InferencePool;
  try {
    engine = await InferencePool.create(
      {
        modelPath: path.join(modelDir, spec.onnxFile),
        device: config.device,
        cudaDeviceId: config.cudaDeviceId,
        intraOpThreads: config.intraOpThreads,
        inputs: spec.inputs,
        outputName: spec.outputName,
      },
      config.inferenceWorkers,
    );
  } catch (e) {
    await tokenizer.close();
    throw e;
  }
  const info = engine.info;
  if (info.fallbackReason !== undefined) {
    log.warn(`DEVICE=auto: CUDA is not available, running on CPU (${info.fallbackReason})`);
  }
  log.info('engine started', { provider: info.provider, workers: info.workers, intraOpThreads: config.intraOpThreads, tokenizerWorkers: config.tokenizerWorkers });
  return new Reranker(spec, tokenizer, engine, config, batchMetrics);
}

/** One short and one full-window pair, so both small and large buffers are allocated before /ping says 200. */
export async function warmUp(reranker: Reranker): Promise<number> {
  const t0 = performance.now();
  const long = 'warm up '.repeat(Math.min(reranker.spec.maxInputLength, 512));
  await reranker.score(
    [
      ['warm up', 'warm up'],
      ['warm up', long],
    ],
    { truncate: true, direction: 'right' },
  );
  return performance.now() - t0;
}
