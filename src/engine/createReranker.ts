/**
 * Starts the engine for a decided spec: tokenizer workers, inference workers (CUDA or CPU),
 * then a warm-up so the first real request does not pay for arena allocation.
 */
import path from 'node:path';
import { maxBatchTokensFor, type Config } from '../config';
import { AppError } from '../errors';
import { logger } from '../log';
import { tokenizerFilesOf, unservableReason } from '../modelSpec/servable';
import type { ModelFiles, ModelSpec } from '../modelSpec/types';
import { TokenizerPool } from '../tokenize/tokenizerPool';
import { InferencePool } from './inferencePool';
import { prepareYesNoGraph, type PreparedGraph } from './yesNoGraph';
import { Reranker } from './reranker';
import { batchMetrics, watchQueue } from './engineMetrics';

const log = logger('engine');

/** What the engine reads of the configuration (config.ts decided and checked all of it). */
export type EngineOptions = Pick<
  Config,
  'tokenizerWorkers' | 'modelCacheDir' | 'autoCpuReason' | 'device' | 'cudaDeviceId' | 'intraOpThreads' | 'faultInjection' | 'inferenceWorkers' | 'maxBatchTokens' | 'maxBatchRequests' | 'maxConcurrentRequests'
>;

/** `files` is what the model folder's one reader found: the workers load exactly those files. */
export async function createReranker(config: EngineOptions, spec: ModelSpec, files: ModelFiles): Promise<Reranker> {
  const unservable = unservableReason(files, spec);
  if (unservable !== undefined || !spec.inputs || !spec.outputName || !spec.onnxFile) {
    throw new AppError('Model', unservable ?? `no ONNX graph was found in ${files.dir}`);
  }
  // The decided default instruction (INSTRUCTION, config_sentence_transformers.json, or the template's) is what a request without one gets.
  const y = spec.yesNo;
  const prompt = y && y.instruction !== undefined ? { ...y.template, defaultInstruction: y.instruction } : y?.template;
  const tokenizer = await TokenizerPool.create({ tokenizer: tokenizerFilesOf(files, spec), workers: config.tokenizerWorkers, ...(prompt ? { prompt } : {}) });
  let engine: InferencePool;
  let decoder: PreparedGraph | undefined;
  try {
    if (spec.yesNo) decoder = await prepareYesNoGraph(spec, files.dir, config.modelCacheDir, (m) => log.warn(m));
    engine = await InferencePool.create(
      {
        modelPath: decoder?.modelPath ?? path.join(files.dir, spec.onnxFile),
        device: config.autoCpuReason !== undefined ? 'cpu' : config.device,
        ...(config.autoCpuReason !== undefined ? { cpuReason: config.autoCpuReason } : {}),
        cudaDeviceId: config.cudaDeviceId,
        intraOpThreads: config.intraOpThreads,
        inputs: spec.inputs,
        outputName: decoder?.outputName ?? spec.outputName,
        ...(decoder ? { yesNo: decoder.yesNo } : {}),
        ...(config.faultInjection.workerExitFile !== undefined ? { faultExitFile: config.faultInjection.workerExitFile } : {}),
      },
      config.inferenceWorkers,
    );
  } catch (e) {
    await tokenizer.close();
    throw e;
  }
  const info = engine.info;
  if (config.autoCpuReason !== undefined) {
    // Expected on a CPU machine: one short line, not a warning.
    log.info(`DEVICE=auto: ${config.autoCpuReason}; running on CPU, ${info.workers} worker(s) x ${config.intraOpThreads} thread(s)`);
  } else if (info.fallbackReason !== undefined) {
    log.warn(`DEVICE=auto: CUDA is not available, running on CPU (${info.fallbackReason})`);
  }
  const configured = maxBatchTokensFor(config, info.provider);
  const maxBatchTokens = decoder?.info.maxBatchTokens !== undefined ? Math.min(configured, decoder.info.maxBatchTokens) : configured;
  if (decoder) log.info('decoder reranker graph', { ...decoder.info });
  log.info('engine started', { provider: info.provider, workers: info.workers, intraOpThreads: config.intraOpThreads, tokenizerWorkers: config.tokenizerWorkers, maxBatchTokens });
  const limits = {
    maxBatchTokens,
    maxBatchRequests: config.maxBatchRequests,
    maxConcurrentRequests: config.maxConcurrentRequests,
  };
  const reranker = new Reranker(spec, tokenizer, engine, limits, batchMetrics);
  if (decoder) reranker.decoderGraph = { ...decoder.info, ...(tokenizer.promptIds ? { promptIds: tokenizer.promptIds } : {}) };
  watchQueue(reranker);
  return reranker;
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
    { truncate: true },
  );
  return performance.now() - t0;
}
