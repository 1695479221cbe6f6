/**
 * How many ONNX Runtime sessions, with how many threads each, and how they hold the weights, from
 * the model's size, the cores and the memory limit (MEMORY_LAYOUT=auto), or as asked:
 *
 * - `per-session`: N sessions, each loads the .onnx and holds its own copy (about 1.5-2x the file
 *   once prepacked). Fastest for small models: two sessions x 1 thread beat one x 2 on 2 cores
 *   (one session's threads wait for each other at every operator).
 * - `shared`: N sessions load one memory-mapped .ort copy of the graph, prepacking off
 *   (ortFormat.ts): the weights are in memory once, sessions start in a fraction of a second, and
 *   GEMMs pack their weights per run (measured 0-20 % slower).
 * - `one-session`: one session with all the cores: one copy, prepacked, no overlap between batches.
 *
 * auto: per-session for small models (under LARGE_MODEL_BYTES) when the memory limit allows;
 * otherwise one-session (it starts as fast as one session can); shared only when even one prepacked
 * copy would not fit (its first start pays for writing the .ort copy: measured 9-10 s for BERT-base
 * against 3.3 s for creating the session). INFERENCE_WORKERS / INTRA_OP_THREADS, when set, give the
 * counts (per-session unless MEMORY_LAYOUT says otherwise). Pure: the caller measures the inputs.
 */
import type { MemoryLayoutRequest } from '../config';

/** At or above this file size auto holds the weights once (BERT-base's 418 MB is above, MiniLM's 87 MB below). */
export const LARGE_MODEL_BYTES = 200 * 1024 * 1024;
/** RSS per session per byte of model file with its own prepacked weights: measured 1.5-2.0 (BERT-base fp32). */
export const SESSION_BYTES_PER_FILE_BYTE = 2;
/** What the process holds besides the weights (Node, tokenizer workers, arenas): measured 250-300 MB. */
export const PROCESS_BASE_BYTES = 300 * 1024 * 1024;
/** Share of the memory limit the estimate may use, leaving room for batches' activations. */
export const MEMORY_HEADROOM = 0.8;

export type LayoutKind = 'per-session' | 'shared' | 'one-session';

export interface LayoutInput {
  readonly request: MemoryLayoutRequest;
  readonly provider: 'cpu' | 'cuda';
  readonly cores: number;
  /** The served .onnx and its external data, in bytes. */
  readonly modelBytes: number;
  /** cgroup memory.max or the machine's memory, whichever is lower; undefined when unknown. */
  readonly memoryLimitBytes: number | undefined;
  /** The counts config.ts derived (the small-model default, or what the variables said). */
  readonly configured: { readonly workers: number; readonly threads: number };
  /** INFERENCE_WORKERS or INTRA_OP_THREADS was set. */
  readonly overridden: boolean;
  /** Whether the memory-mapped .ort copy can be used (made or found), and why not. */
  readonly shareable: { readonly ok: true } | { readonly ok: false; readonly reason: string };
}

export interface MemoryLayout {
  readonly kind: LayoutKind;
  readonly workers: number;
  readonly threads: number;
  /** One sentence: why this layout, with the figures that decided it. */
  readonly reason: string;
  /** Estimated RSS of this layout (process + weights), bytes. */
  readonly estimatedBytes: number;
}

const mb = (b: number): string => `${Math.round(b / 1024 / 1024)} MB`;

export function estimateBytes(kind: LayoutKind, modelBytes: number, workers: number): number {
  const copies = kind === 'per-session' ? workers * SESSION_BYTES_PER_FILE_BYTE : kind === 'shared' ? 1 : SESSION_BYTES_PER_FILE_BYTE;
  return PROCESS_BASE_BYTES + copies * modelBytes;
}

/** Does `shared` need the .ort copy? The caller asks before making it (a large model's first start pays for it). */
export function wantsSharedWeights(input: Omit<LayoutInput, 'shareable'>): boolean {
  return chooseLayout({ ...input, shareable: { ok: true } }).kind === 'shared';
}

export function chooseLayout(input: LayoutInput): MemoryLayout {
  const { configured, modelBytes, memoryLimitBytes, cores, request, shareable } = input;
  const make = (kind: LayoutKind, workers: number, threads: number, reason: string): MemoryLayout => ({ kind, workers, threads, reason, estimatedBytes: estimateBytes(kind, modelBytes, workers) });
  const allCores = Math.max(1, cores);
  const perSession = (why: string): MemoryLayout => make('per-session', configured.workers, configured.threads, why);
  const oneSession = (why: string): MemoryLayout => make('one-session', 1, input.overridden ? configured.threads : allCores, why);
  const shared = (why: string): MemoryLayout =>
    shareable.ok ? make('shared', configured.workers, configured.threads, why) : oneSession(`${why}, but the memory-mapped copy is not available (${shareable.reason})`);

  if (input.provider === 'cuda') return perSession(request === 'auto' ? 'one session owns the GPU' : `MEMORY_LAYOUT=${request} applies to CPU only; one session owns the GPU`);
  if (request === 'per-session') return perSession('MEMORY_LAYOUT=per-session');
  if (request === 'one-session') return oneSession('MEMORY_LAYOUT=one-session');
  if (request === 'shared') return shared('MEMORY_LAYOUT=shared');
  if (input.overridden) return perSession('INFERENCE_WORKERS / INTRA_OP_THREADS set');
  if (configured.workers <= 1) return perSession(`${cores} core(s): one session`);
  const fits = (kind: LayoutKind, workers: number): boolean => memoryLimitBytes === undefined || estimateBytes(kind, modelBytes, workers) <= MEMORY_HEADROOM * memoryLimitBytes;
  const limit = memoryLimitBytes === undefined ? '' : ` of the ${mb(memoryLimitBytes)} memory limit`;
  if (modelBytes < LARGE_MODEL_BYTES && fits('per-session', configured.workers)) {
    return perSession(`model file ${mb(modelBytes)} < ${mb(LARGE_MODEL_BYTES)}: ${configured.workers} sessions x ${configured.threads} thread(s) with their own weights, fastest for small models`);
  }
  const why = modelBytes >= LARGE_MODEL_BYTES ? `model file ${mb(modelBytes)} >= ${mb(LARGE_MODEL_BYTES)}` : `${configured.workers} sessions with their own weights would need about ${mb(estimateBytes('per-session', modelBytes, configured.workers))}, over ${Math.round(MEMORY_HEADROOM * 100)} %${limit}`;
  // One prepacked copy starts as fast as one session can; `shared` first pays for the .ort copy.
  if (fits('one-session', 1)) return oneSession(`${why}: one copy of the weights, prepacked`);
  return shared(`${why}, and one prepacked copy would need about ${mb(estimateBytes('one-session', modelBytes, 1))}, over ${Math.round(MEMORY_HEADROOM * 100)} %${limit}: one memory-mapped copy`);
}

/** The layout as the ready line and /info show it. */
export function memoryLayoutInfo(l: MemoryLayout): Record<string, unknown> {
  return { kind: l.kind, sessions: l.workers, threads_per_session: l.threads, reason: l.reason, estimated_mb: Math.round(l.estimatedBytes / 1024 / 1024) };
}
