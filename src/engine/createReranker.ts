/**
 * Starts the engine for a decided spec: tokenizer workers and inference workers (CUDA or CPU) side
 * by side, in the memory layout chosen for the model's size (memoryLayout.ts); each session makes one
 * small warm-up run as it starts, and warmUp() then sends one short pair through the whole path.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { maxBatchTokensFor, type BatchingOptions, type EngineOptions } from '../config';
import { AppError } from '../errors';
import { logger } from '../log';
import { tokenizerFilesOf, unservableReason } from '../modelSpec/servable';
import type { ModelFiles, ModelSpec } from '../modelSpec/types';
import { TokenizerPool } from '../tokenize/tokenizerPool';
import { InferencePool } from './inferencePool';
import { prepareYesNoGraph, type PreparedGraph } from './yesNoGraph';
import { Reranker } from './reranker';
import { batchMetrics, watchQueue } from './engineMetrics';
import { chooseLayout, wantsSharedWeights, type MemoryLayout } from './memoryLayout';
import { ensureOrtCopy, MMAP_SESSION_CONFIG, type OrtCopy } from './ortFormat';
import { detectMemoryLimit } from '../memoryLimit';

const log = logger('engine');

/**
 * `options` and `batching` are the engine's and the scheduler's own settings (config.ts settingsOf);
 * `files` is what the model folder's one reader found: the workers load exactly those files.
 */
export async function createReranker(options: EngineOptions, batching: BatchingOptions, spec: ModelSpec, files: ModelFiles): Promise<Reranker> {
  const unservable = unservableReason(files, spec);
  if (unservable !== undefined || !spec.inputs || !spec.outputName || !spec.onnxFile) {
    throw new AppError('Model', unservable ?? `no ONNX graph was found in ${files.dir}`);
  }
  const inputs = spec.inputs;
  const outputName = spec.outputName;
  const onnxPath = path.join(files.dir, spec.onnxFile);
  // The decided default instruction (INSTRUCTION, config_sentence_transformers.json, or the template's) is what a request without one gets.
  const y = spec.yesNo;
  const prompt = y && y.instruction !== undefined ? { ...y.template, defaultInstruction: y.instruction } : y?.template;
  const t0 = performance.now();
  // The tokenizer loads while the sessions are created: start-up waits for the slower of the two.
  let tokenizerMs = 0;
  const tokenizing = TokenizerPool.create({ tokenizer: tokenizerFilesOf(files, spec), workers: options.tokenizerWorkers, ...(prompt ? { prompt } : {}) }).then((p) => {
    tokenizerMs = performance.now() - t0;
    return p;
  });
  let decoder: PreparedGraph | undefined;
  let layout: MemoryLayout | undefined;
  let ortCopyMs = 0;
  const starting = (async (): Promise<InferencePool> => {
    if (spec.yesNo) decoder = await prepareYesNoGraph(spec, files.dir, options.modelCacheDir, (m) => log.warn(m));
    const device = options.autoCpuReason !== undefined ? 'cpu' : options.device;
    const graphPath = decoder?.modelPath ?? onnxPath;
    const layoutInput = {
      request: options.memoryLayout,
      provider: device === 'cpu' ? ('cpu' as const) : ('cuda' as const),
      cores: options.cores,
      modelBytes: await modelBytesOf(onnxPath),
      memoryLimitBytes: detectMemoryLimit().bytes,
      configured: { workers: options.inferenceWorkers, threads: options.intraOpThreads },
      overridden: options.layoutOverridden,
    };
    let ortCopy: OrtCopy | undefined;
    if (wantsSharedWeights(layoutInput)) {
      ortCopy = await ensureOrtCopy(graphPath, options.modelCacheDir);
      ortCopyMs = ortCopy.ok ? ortCopy.ms : 0;
      if (ortCopy.ok) log.info(ortCopy.cached ? 'memory-mapped .ort copy found' : 'memory-mapped .ort copy made', { file: ortCopy.path, ms: Math.round(ortCopy.ms) });
      else log.warn(`the memory-mapped .ort copy could not be made: ${ortCopy.reason}`);
    }
    layout = chooseLayout({ ...layoutInput, shareable: ortCopy === undefined || ortCopy.ok ? { ok: true } : { ok: false, reason: ortCopy.reason } });
    const shared = layout.kind === 'shared' && ortCopy?.ok === true ? ortCopy.path : undefined;
    return InferencePool.create(
      {
        modelPath: shared ?? graphPath,
        device,
        ...(options.autoCpuReason !== undefined ? { cpuReason: options.autoCpuReason } : {}),
        cudaDeviceId: options.cudaDeviceId,
        intraOpThreads: layout.threads,
        ...(shared !== undefined ? { sessionConfig: MMAP_SESSION_CONFIG } : {}),
        inputs,
        outputName: decoder?.outputName ?? outputName,
        ...(decoder ? { yesNo: decoder.yesNo } : {}),
        ...(options.faultInjection.workerExitFile !== undefined ? { faultExitFile: options.faultInjection.workerExitFile } : {}),
      },
      layout.workers,
    );
  })();
  const [tok, eng] = await Promise.allSettled([tokenizing, starting]);
  if (tok.status === 'rejected' || eng.status === 'rejected') {
    if (tok.status === 'fulfilled') await tok.value.close();
    if (eng.status === 'fulfilled') await eng.value.close();
    throw tok.status === 'rejected' ? tok.reason : (eng as PromiseRejectedResult).reason;
  }
  const tokenizer = tok.value;
  const engine = eng.value;
  const memoryLayout = layout!;
  const info = engine.info;
  if (options.autoCpuReason !== undefined) {
    // Expected on a CPU machine: one short line, not a warning.
    log.info(`DEVICE=auto: ${options.autoCpuReason}; running on CPU, ${info.workers} worker(s) x ${memoryLayout.threads} thread(s)`);
  } else if (info.fallbackReason !== undefined) {
    log.warn(`DEVICE=auto: CUDA is not available, running on CPU (${info.fallbackReason})`);
  }
  const configured = maxBatchTokensFor(batching, info.provider);
  const maxBatchTokens = decoder?.info.maxBatchTokens !== undefined ? Math.min(configured, decoder.info.maxBatchTokens) : configured;
  if (decoder) log.info('decoder reranker graph', { ...decoder.info });
  log.info('engine started', { provider: info.provider, workers: info.workers, intraOpThreads: memoryLayout.threads, layout: memoryLayout.kind, layoutReason: memoryLayout.reason, tokenizerWorkers: options.tokenizerWorkers, maxBatchTokens });
  const limits = {
    maxBatchTokens,
    maxBatchRequests: batching.maxBatchRequests,
    maxConcurrentRequests: batching.maxConcurrentRequests,
  };
  const reranker = new Reranker(spec, tokenizer, engine, limits, batchMetrics);
  reranker.memoryLayout = memoryLayout;
  reranker.startupMs = { tokenizer: tokenizerMs, ortCopy: ortCopyMs, sessions: info.sessionMs ?? 0, sessionWarmup: info.sessionWarmupMs ?? 0 };
  if (decoder) reranker.decoderGraph = { ...decoder.info, ...(tokenizer.promptIds ? { promptIds: tokenizer.promptIds } : {}) };
  watchQueue(reranker);
  return reranker;
}

/**
 * The served graph and its external data files (`model.onnx_data`, `model.onnx.data`, `model.data`
 * beside it), in bytes: what each session holds a copy of.
 */
export async function modelBytesOf(onnxPath: string): Promise<number> {
  const dir = path.dirname(onnxPath);
  const base = path.basename(onnxPath);
  const stem = base.replace(/\.onnx$/i, '');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const data = names.filter((n) => n !== base && (n.startsWith(`${base}_data`) || n.startsWith(`${base}.data`) || n === `${stem}.data`));
  const sizes = await Promise.all([base, ...data].map((n) => fsp.stat(path.join(dir, n)).then((st) => st.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * One short pair through the whole path (tokenizer workers, scheduler, a session): proves the parts
 * fit together before /ping says 200. Every session already made its own small warm-up run when it
 * was created (inferenceWorker.ts), so this is all the warm-up there is.
 */
export async function warmUp(reranker: Reranker): Promise<number> {
  const t0 = performance.now();
  await reranker.score([['warm up', 'warm up']], { truncate: true });
  return performance.now() - t0;
}
