/**
 * One decoder benchmark configuration in its own process, so its peak RSS is its own:
 *   node dist/bench/decoderChild.js MODEL_ONNX SEQ_LEN BATCH RUNS THREADS
 * Prints one JSON line: pairs/s over RUNS timed runs (after one warm-up run), RSS after the session
 * loaded, and peak RSS.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

async function main(): Promise<void> {
  const [model, seqArg, batchArg, runsArg, threadsArg] = process.argv.slice(2);
  const seq = Number(seqArg);
  const batch = Number(batchArg);
  const runs = Number(runsArg);
  const session = await ort.InferenceSession.create(model!, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(threadsArg),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const loadedRss = process.memoryUsage().rss;
  let state = 12345;
  const rand = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % 151000;
  const ids = BigInt64Array.from({ length: batch * seq }, () => BigInt(rand()));
  const dims = [batch, seq];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), dims),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(i % seq)), dims),
  };
  const out = session.outputNames[0]!;
  await session.run(feeds, [out]);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds, [out]);
  const seconds = (performance.now() - t0) / 1000;
  const peak = peakRssBytes();
  console.log(JSON.stringify({ output: out, pairsPerSec: (runs * batch) / seconds, secondsPerRun: seconds / runs, loadedRssMb: loadedRss / 2 ** 20, peakRssMb: peak / 2 ** 20 }));
  await session.release();
}

/**
 * This process's own peak RSS: VmHWM belongs to the address space exec made, whereas getrusage's
 * maxRSS carries over the parent's peak at fork (the bench parent reads the whole model file when it
 * rewrites it, which showed up as the children's "peak").
 */
function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
