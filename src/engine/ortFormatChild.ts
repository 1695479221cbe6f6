/**
 * A short-lived child process: loads an .onnx with every graph optimization and saves the optimized
 * graph in ONNX Runtime's own format (ortFormat.ts says why). A process, not a worker thread: the
 * session it builds holds the whole model plus its prepacked copy, and memory freed by a thread
 * stays in the server's heap (measured: 930 MB of anonymous memory left behind for BERT-base);
 * a process gives all of it back when it exits. Usage: node ortFormatChild.js FROM TO
 */
import * as ort from 'onnxruntime-node';

async function main(): Promise<void> {
  const [from, to] = process.argv.slice(2);
  if (!from || !to) throw new Error('usage: ortFormatChild FROM TO');
  const session = await ort.InferenceSession.create(from, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    optimizedModelFilePath: to,
    extra: { session: { save_model_format: 'ORT' } },
  });
  await session.release();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  },
);
