/**
 * Owns one ONNX Runtime session. session.run blocks its thread for the whole run, so it lives
 * here, in a worker_thread, and the main thread's event loop stays free for /ping and HTTP.
 * This folder (engine/) is the only one that imports onnxruntime-node.
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { missingCudaLibrary } from './cudaProbe';
import type { BatchTensors, FromWorker, Provider, ToWorker, WorkerInit } from './protocol';
import { decoderFeeds, yesNoLogits } from './yesNoScores';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('inferenceWorker must run in a worker thread');

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

async function createSession(provider: Provider): Promise<ort.InferenceSession> {
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === 'cuda' ? { name: 'cuda', deviceId: init.cudaDeviceId } : { name: 'cpu' };
  return ort.InferenceSession.create(init.modelPath, {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Every batch has its own shape (pairs x longest pair), so a memory pattern, planned and kept
    // per input shape, is rarely reused and only adds to the arena: off on CPU (BERT-base, one
    // session, batches of 2,048 tokens: 173 -> 97 MB over the session's size, same speed;
    // docs/BENCHMARKS.md "One copy of the weights").
    ...(provider === 'cpu' ? { enableMemPattern: false } : {}),
    logSeverityLevel: 3,
    ...(init.sessionConfig && provider === 'cpu' ? { extra: { session: { ...init.sessionConfig } } } : {}),
  });
}

/** auto: try CUDA, fall back to CPU with the reason; cuda: CUDA or nothing. */
async function start(): Promise<{ session: ort.InferenceSession; provider: Provider; fallbackReason?: string }> {
  if (init.device === 'cpu') return { session: await createSession('cpu'), provider: 'cpu', ...(init.cpuReason !== undefined ? { fallbackReason: init.cpuReason } : {}) };
  const missing = process.platform === 'linux' ? missingCudaLibrary() : undefined;
  if (missing !== undefined) {
    const reason = `the CUDA provider library is not installed (${missing}); onnxruntime-node was installed without its CUDA download`;
    if (init.device === 'cuda') throw new Error(`DEVICE=cuda but ${reason}`);
    return { session: await createSession('cpu'), provider: 'cpu', fallbackReason: reason };
  }
  try {
    return { session: await createSession('cuda'), provider: 'cuda' };
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    if (init.device === 'cuda') throw new Error(`DEVICE=cuda but the CUDA execution provider could not start: ${reason}`);
    return { session: await createSession('cpu'), provider: 'cpu', fallbackReason: reason };
  }
}

function toInt64(src: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
  return out;
}

function toInt32(src: ArrayLike<number>): Int32Array {
  return Int32Array.from(src);
}

function feedsFor(t: BatchTensors, declared: readonly string[]): Record<string, ort.Tensor> {
  const dims = [t.batch, t.seqLen];
  const make = (src: ArrayLike<number>): ort.Tensor =>
    init.inputs.idType === 'int32' ? new ort.Tensor('int32', toInt32(src), dims) : new ort.Tensor('int64', toInt64(src), dims);
  const feeds: Record<string, ort.Tensor> = { [init.inputs.inputIds]: make(t.ids) };
  if (init.inputs.attentionMask) feeds[init.inputs.attentionMask] = make(t.mask);
  if (init.inputs.tokenTypeIds) feeds[init.inputs.tokenTypeIds] = make(t.typeIds);
  if (init.inputs.decoder) {
    // Only what the session declares: a merged decoder's rewritten graph no longer has use_cache_branch.
    for (const [name, tensor] of Object.entries(decoderFeeds(init.inputs.decoder, t, init.inputs.idType))) if (declared.includes(name)) feeds[name] = tensor;
  }
  return feeds;
}

/**
 * FAULT_INJECTION=worker-exit:PATH, a testing knob (off unless set): while PATH exists this thread
 * ends itself with process.exit, the way a native crash or an out-of-memory kill ends a worker.
 * At a run it removes the file first (one crash per file); a file that says `always` stays and
 * also ends every new worker at start (a crash loop, for the restart back-off).
 */
function injectedExit(at: 'start' | 'run'): void {
  const file = init.faultExitFile;
  if (file === undefined) return;
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const always = content.trim() === 'always';
  if (at === 'start' && !always) return;
  if (!always) {
    try {
      fs.unlinkSync(file); // only the worker that removes it exits
    } catch {
      return;
    }
  }
  process.exit(70);
}

async function main(): Promise<void> {
  injectedExit('start');
  let session: ort.InferenceSession;
  try {
    const t0 = performance.now();
    const started = await start();
    session = started.session;
    const t1 = performance.now();
    await warmRun(session);
    post({
      type: 'ready',
      provider: started.provider,
      ...(started.fallbackReason !== undefined ? { fallbackReason: started.fallbackReason } : {}),
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      sessionMs: t1 - t0,
      warmupMs: performance.now() - t1,
    });
  } catch (e) {
    post({ type: 'init-error', message: e instanceof Error ? e.message : String(e) });
    return;
  }

  let queue: Promise<void> = Promise.resolve();
  port!.on('message', (msg: ToWorker) => {
    if (msg.type === 'close') {
      void session.release().finally(() => process.exit(0));
      return;
    }
    // One run at a time, in arrival order: session.run blocks this thread anyway, and chaining
    // starts a batch's clock when its run starts, not when it arrived behind another one (runMs is
    // the request's x-inference-time).
    const { id, tensors } = msg;
    queue = queue.then(() => runOne(session, id, tensors));
  });
}

/**
 * One small run (1 x 8 tokens) before the worker says ready: the first run of a session pays for
 * kernel selection and arena set-up, and every session pays it once, in parallel with the others and
 * with the tokenizer's loading. Bigger buffers are allocated by the first batch that needs them.
 */
async function warmRun(session: ort.InferenceSession): Promise<void> {
  const n = 8;
  const t: BatchTensors = { batch: 1, seqLen: n, ids: new Int32Array(n).fill(1), typeIds: new Uint8Array(n), mask: new Uint8Array(n).fill(1) };
  await session.run(feedsFor(t, session.inputNames), [init.outputName]);
}

async function runOne(session: ort.InferenceSession, id: number, t: BatchTensors): Promise<void> {
  injectedExit('run');
  const t0 = performance.now();
  try {
    const out = await session.run(feedsFor(t, session.inputNames), [init.outputName]);
    const logits = out[init.outputName];
    if (!logits) throw new Error(`the graph returned no output named ${init.outputName}`);
    const data = init.yesNo ? yesNoLogits(logits, init.yesNo.output, init.yesNo.tokenIds, t) : new Float32Array(logits.data as Float32Array);
    const numLabels = init.yesNo ? 1 : logits.dims.length >= 2 ? Number(logits.dims[logits.dims.length - 1]) : 1;
    post({ type: 'result', id, logits: data, numLabels, runMs: performance.now() - t0 }, [data.buffer as ArrayBuffer]);
  } catch (e) {
    post({ type: 'run-error', id, message: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
  }
}

void main();
