/**
 * One-shot worker: loads an .onnx with every graph optimization and saves the optimized graph in
 * ONNX Runtime's own format (ortFormat.ts explains why). InferenceSession.create blocks its thread
 * for seconds on a large model, so it runs here and /ping keeps answering.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

interface ConvertJob {
  readonly from: string;
  readonly to: string;
}

async function main(): Promise<void> {
  const job = workerData as ConvertJob;
  try {
    const session = await ort.InferenceSession.create(job.from, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
      optimizedModelFilePath: job.to,
      extra: { session: { save_model_format: 'ORT' } },
    });
    await session.release();
    parentPort!.postMessage({ ok: true });
  } catch (e) {
    parentPort!.postMessage({ ok: false, message: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
  }
}

void main();
