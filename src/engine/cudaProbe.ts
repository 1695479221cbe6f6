/**
 * Whether CUDA can be there at all, from the file system alone (no onnxruntime load, no native
 * error dump): DEVICE=auto on a machine without it picks the CPU layout up front (2 sessions x 1
 * thread on 2 cores, +15 % over 1 x 2 in docs/BENCHMARKS.md) instead of trying CUDA at every start.
 * A GPU that is there but fails to start is still found by trying (inferenceWorker.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * onnxruntime-node loads the CUDA provider from libraries next to its binding; they are only there
 * when its install step fetched them (the GPU image). Returns the missing library's path.
 */
export function missingCudaLibrary(): string | undefined {
  let dir: string;
  try {
    dir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
  const binDir = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
  const lib = path.join(binDir, 'libonnxruntime_providers_cuda.so');
  return fs.existsSync(binDir) && !fs.existsSync(lib) ? lib : undefined;
}

/** A short reason why CUDA cannot work here, or undefined when it might. */
export function noCudaReason(): string | undefined {
  if (process.platform !== 'linux') return `no CUDA provider for ${process.platform}`;
  if (missingCudaLibrary() !== undefined) return 'onnxruntime-node has no CUDA provider library (installed without its CUDA download)';
  if (!fs.existsSync('/proc/driver/nvidia') && !fs.existsSync('/dev/nvidiactl')) return 'no NVIDIA driver';
  return undefined;
}
