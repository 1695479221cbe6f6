/**
 * How much arithmetic the model does, and how much this CPU could do.
 *
 * Counting (multiply-add = 2 FLOPs), per BERT encoder layer of width h and FFN width i:
 *   dense: Q, K, V, output projections (4 h^2) and the FFN (2 h i) weights, 2 FLOPs per weight
 *          per token -> 2 (4h^2 + 2hi) per token; the ~"2 x params per token" rule;
 *   attention: Q K^T and A V, each 2 h L^2 per sequence of L tokens -> 4 h L^2.
 * Embeddings, layer norms, softmax and GELU are elementwise and ignored (< 2 %); so is the
 * pooler/classifier, which runs once per sequence. MiniLM-L6-H384: 21.2 MFLOP per token dense,
 * plus ~1.4 MFLOP per token of attention at L = 150, i.e. the "about 22 MFLOP per token".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../scripts/onnx/graphBuilder';
import { normalTensor } from '../scripts/onnx/prng';

export interface ModelShape {
  readonly layers: number;
  readonly hidden: number;
  readonly intermediate: number;
}

export function readShape(modelDir: string): ModelShape {
  const c = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
  return { layers: c.num_hidden_layers!, hidden: c.hidden_size!, intermediate: c.intermediate_size! };
}

export function denseFlopsPerToken(s: ModelShape): number {
  return 2 * s.layers * (4 * s.hidden * s.hidden + 2 * s.hidden * s.intermediate);
}

/** FLOPs of one sequence of `len` tokens (useful work: no padding). */
export function sequenceFlops(s: ModelShape, len: number): number {
  return len * denseFlopsPerToken(s) + s.layers * 4 * s.hidden * len * len;
}

/** FLOPs the engine executes for a padded batch of `rows` x `seqLen`. */
export function paddedBatchFlops(s: ModelShape, rows: number, seqLen: number): number {
  return rows * sequenceFlops(s, seqLen);
}

export interface CpuInfo {
  readonly model: string;
  readonly cores: number;
  readonly mhz: number;
  readonly simd: 'avx512' | 'avx2' | 'other';
  /** fp32 FLOPs per cycle per core assumed for the SIMD level (2 FMA pipes). */
  readonly flopsPerCycle: number;
  /** cores x MHz x FLOPs/cycle: the paper peak at the nominal clock. */
  readonly peakGflops: number;
}

export function cpuInfo(): CpuInfo {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux: fall back to os.cpus() */
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)$/m.exec(text)?.[1] ?? os.cpus()[0]?.speed ?? 0);
  const flags = /^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '';
  const simd = /\bavx512f\b/.test(flags) ? 'avx512' : /\bavx2\b/.test(flags) ? 'avx2' : 'other';
  // Two FMA pipes per core: 2 x 2 FLOPs x lanes. AVX-512 counted at 16 fp32 lanes; on cores that
  // run 512-bit ops as two 256-bit halves (Zen 4) the real figure is half, hence the GEMM probe.
  const flopsPerCycle = simd === 'avx512' ? 64 : simd === 'avx2' ? 32 : 8;
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return { model, cores, mhz, simd, flopsPerCycle, peakGflops: (cores * mhz * flopsPerCycle) / 1000 };
}

/**
 * Measured ceiling of the BLAS ONNX Runtime uses: a [M, K] x [K, N] MatMul with M = 512 and
 * K = N = 384..1536 (the shapes of this model's projections), best of a few runs.
 */
export async function gemmProbe(threads: number, seconds: number, k = 384, n = 1536, m = 512): Promise<number> {
  const g = new GraphBuilder('gemm');
  const x = g.input('x', DataType.FLOAT, ['m', k]);
  const w = g.initializer('w', [k, n], normalTensor(k * n, 0.05, 1, 'w'));
  g.op('MatMul', [x, w], {}, 'y');
  g.output('y', DataType.FLOAT, ['m', n]);
  const bytes = g.encode({ producerName: 'bench', producerVersion: '1', opset: 17 });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const feed = { x: new ort.Tensor('float32', normalTensor(m * k, 1, 2, 'x'), [m, k]) };
    const flops = 2 * m * k * n;
    for (let i = 0; i < 3; i++) await session.run(feed);
    let best = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      await session.run(feed);
      best = Math.max(best, flops / ((performance.now() - t0) / 1000) / 1e9);
    }
    return best;
  } finally {
    await session.release();
  }
}
