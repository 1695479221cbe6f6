/**
 * One copy of the weights for several sessions. onnxruntime-node 1.30 cannot share initializers or
 * prepacked weights across sessions (the C API's AddInitializer and prepacked-weights container are
 * not reachable from JavaScript), but it can load a model saved in ONNX Runtime's own format (.ort)
 * memory-mapped, with the initializers pointing into the mapping (`session.use_memory_mapped_ort_model`,
 * `session.use_ort_model_bytes_for_initializers`) and prepacking off (a prepacked copy would be one
 * per session again). Every session then reads the same page-cache pages: measured with BERT-base
 * (418 MB), two sessions hold 485 MB PSS instead of 1,345 MB, and a session starts in 0.1-0.2 s
 * instead of 2-3 s (docs/BENCHMARKS.md, "One copy of the weights").
 *
 * The .ort copy is made once per model file (a session at optimization level `all`, saved by
 * onnxruntime itself, in a child process: ortFormatChild.ts) into MODEL_CACHE_DIR/ort-format/, keyed by the file's path,
 * size, modification time, the onnxruntime version and this CPU's features (level `all` may pick
 * CPU-specific kernels), and reused on later starts. Written to a temporary name and renamed, so a
 * mapped file is never changed under a running session.
 */
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { detectCpuFeatures } from '../cpuFeatures';
import { messageOf } from '../errors';

const CHILD_FILE = path.join(__dirname, 'ortFormatChild' + path.extname(__filename));

/** Session config entries that load an .ort file memory-mapped, weights not copied. */
export const MMAP_SESSION_CONFIG: Readonly<Record<string, string>> = {
  use_memory_mapped_ort_model: '1',
  use_ort_model_bytes_directly: '1',
  use_ort_model_bytes_for_initializers: '1',
  disable_prepacking: '1',
};

function ortVersion(): string {
  try {
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function ortCachePath(onnxPath: string, cacheDir: string): Promise<string> {
  const st = await fsp.stat(onnxPath);
  const key = createHash('sha256')
    .update(JSON.stringify({ file: path.resolve(onnxPath), size: st.size, mtimeMs: st.mtimeMs, ort: ortVersion(), cpu: detectCpuFeatures(), level: 'all' }))
    .digest('hex')
    .slice(0, 20);
  return path.join(cacheDir, 'ort-format', `${path.basename(onnxPath, '.onnx')}-${key}.ort`);
}

export type OrtCopy = { readonly ok: true; readonly path: string; readonly cached: boolean; readonly ms: number } | { readonly ok: false; readonly reason: string };

/** The .ort copy of `onnxPath`, made now when it is not in the cache; never throws (the caller falls back). */
export async function ensureOrtCopy(onnxPath: string, cacheDir: string): Promise<OrtCopy> {
  const t0 = performance.now();
  let target: string;
  try {
    target = await ortCachePath(onnxPath, cacheDir);
    if ((await fsp.stat(target).catch(() => undefined))?.isFile()) return { ok: true, path: target, cached: true, ms: performance.now() - t0 };
    await fsp.mkdir(path.dirname(target), { recursive: true });
  } catch (e) {
    return { ok: false, reason: `cannot use ${cacheDir}: ${messageOf(e)}` };
  }
  const tmp = `${target}.partial-${process.pid}`;
  try {
    await convert(onnxPath, tmp);
    await fsp.rename(tmp, target);
    return { ok: true, path: target, cached: false, ms: performance.now() - t0 };
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    return { ok: false, reason: messageOf(e) };
  }
}

function convert(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_FILE, from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`onnxruntime could not save it in its own format: ${stderr.trim().split('\n').pop() || `exit ${code ?? signal}`}`));
    });
  });
}
