/**
 * The ceiling: the same pairs tokenized and scored in this process in a tight loop, no HTTP, no
 * threads of our own, with the same session options as the inference worker. Tokenization is
 * inside the loop (it is part of the work the server does), and a few batch sizes are tried,
 * both in request order and length-sorted (the least padding any batching could reach).
 */
import { encoderIn } from '../scripts/dev/tokenizer';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { pack, type QueuedPair } from '../src/batching/scheduler';
import { PairEncoder } from '../src/tokenize/pairEncoder';
import type { BatchTensors } from '../src/engine/protocol';
import { sequenceFlops, paddedBatchFlops, type ModelShape } from './flops';

export interface RawConfigResult {
  readonly order: 'request' | 'sorted';
  readonly batchSize: number;
  readonly pairsPerSec: number;
  readonly usefulGflops: number;
  readonly executedGflops: number;
  /** real tokens / padded tokens */
  readonly paddingEfficiency: number;
  /** Cores used by other tenants of the machine meanwhile (bench/load.ts cpuMeter). */
  readonly othersCores?: number;
}

export interface RawEngine {
  readonly encoder: PairEncoder;
  readonly session: ort.InferenceSession;
  readonly maxLength: number;
  release(): Promise<void>;
}

export async function openRaw(modelDir: string, onnxFile: string, threads: number, maxLength = 512): Promise<RawEngine> {
  const encoder = await encoderIn(modelDir);
  const session = await ort.InferenceSession.create(path.join(modelDir, onnxFile), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  return { encoder, session, maxLength, release: () => session.release() };
}

function int64(src: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
  return out;
}

/** int64 feeds of one packed batch for these input names (ids, mask and token type ids by name). */
export function feedsOf(t: BatchTensors, names: readonly string[]): Record<string, ort.Tensor> {
  const dims = [t.batch, t.seqLen];
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of names) {
    const src = name.includes('mask') ? t.mask : name.includes('type') ? t.typeIds : t.ids;
    feeds[name] = new ort.Tensor('int64', int64(src), dims);
  }
  return feeds;
}

/** Tokenizes and scores one batch of pairs; returns the logits. */
export async function scoreBatch(e: RawEngine, pairs: ReadonlyArray<readonly [string, string]>): Promise<{ logits: Float32Array; tensors: BatchTensors }> {
  const opts = { truncate: true, direction: 'right' as const, maxLength: e.maxLength };
  const rows: QueuedPair[] = pairs.map(([q, d], i) => {
    const p = e.encoder.encodePair(q, d, opts, i);
    return { index: i, ids: p.ids, typeIds: p.typeIds, length: p.ids.length, requestId: 0, seq: i };
  });
  const t = pack(rows, 0, 'right');
  const out = await e.session.run(feedsOf(t, e.session.inputNames));
  const logits = out[e.session.outputNames[0]!]!.data as Float32Array;
  return { logits, tensors: t };
}

/**
 * Runs batches of `batchSize` over `pairs` (cycling) for `seconds`; lengths[i] is pair i's token
 * count (for the FLOP count of useful work).
 */
export async function measureConfig(
  e: RawEngine,
  shape: ModelShape,
  pairs: ReadonlyArray<readonly [string, string]>,
  lengths: readonly number[],
  batchSize: number,
  order: 'request' | 'sorted',
  seconds: number,
): Promise<RawConfigResult> {
  const idx = pairs.map((_, i) => i);
  if (order === 'sorted') idx.sort((a, b) => lengths[a]! - lengths[b]!);
  const batches: number[][] = [];
  for (let i = 0; i + batchSize <= idx.length; i += batchSize) batches.push(idx.slice(i, i + batchSize));
  // Sorted batches run in a low-discrepancy order over their length rank, so that every prefix of
  // the cycle (what a timed window covers) holds short and long batches in the workload's
  // proportions. A hashed shuffle let a 6 s window of 64-pair batches cover five batches of one
  // length range: 55.7 pairs/s for batch 64 against 45.8 for batch 8 in one run.
  if (order === 'sorted') spreadByRank(batches);
  await scoreBatch(e, batches[0]!.map((i) => pairs[i]!)); // warm the arena for this shape class
  let done = 0;
  let useful = 0;
  let executed = 0;
  let real = 0;
  let padded = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  for (let b = 0; performance.now() < end || b === 0; b++) {
    const batch = batches[b % batches.length]!;
    const { tensors } = await scoreBatch(e, batch.map((i) => pairs[i]!));
    done += batch.length;
    for (const i of batch) {
      useful += sequenceFlops(shape, lengths[i]!);
      real += lengths[i]!;
    }
    executed += paddedBatchFlops(shape, tensors.batch, tensors.seqLen);
    padded += tensors.batch * tensors.seqLen;
  }
  const s = (performance.now() - t0) / 1000;
  return { order, batchSize, pairsPerSec: done / s, usefulGflops: useful / s / 1e9, executedGflops: executed / s / 1e9, paddingEfficiency: real / padded };
}

/** Reorders items (given in rank order) so that every prefix spreads evenly over the ranks (golden-ratio sequence). */
export function spreadByRank<T>(items: T[]): void {
  const phi = (Math.sqrt(5) - 1) / 2;
  const keyed = items.map((item, rank) => ({ item, key: (((rank + 0.5) * phi) % 1) }));
  keyed.sort((a, b) => a.key - b.key);
  keyed.forEach((k, i) => (items[i] = k.item));
}

/**
 * The same work as the server's same-work phase: every one of `pairs` tokenized and scored once,
 * in length-sorted batches of `batchSize` (the last one shorter), after one warm-up batch.
 * Returns the wall seconds of the whole pass.
 */
export async function scoreAll(e: RawEngine, pairs: ReadonlyArray<readonly [string, string]>, lengths: readonly number[], batchSize: number): Promise<number> {
  const idx = pairs.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const batches: number[][] = [];
  for (let i = 0; i < idx.length; i += batchSize) batches.push(idx.slice(i, i + batchSize));
  spreadByRank(batches);
  await scoreBatch(e, batches[0]!.map((i) => pairs[i]!));
  const t0 = performance.now();
  for (const batch of batches) await scoreBatch(e, batch.map((i) => pairs[i]!));
  return (performance.now() - t0) / 1000;
}

/** In-process times (tokenize + score) of one batch of these pairs, after warm-up. */
export async function timeSingle(e: RawEngine, pairs: ReadonlyArray<readonly [string, string]>, runs: number, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await scoreBatch(e, pairs);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await scoreBatch(e, pairs);
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Token counts of each pair, as the server would encode them. */
export function pairLengths(e: RawEngine, pairs: ReadonlyArray<readonly [string, string]>): number[] {
  const opts = { truncate: true, direction: 'right' as const, maxLength: e.maxLength };
  return pairs.map(([q, d], i) => e.encoder.encodePair(q, d, opts, i).ids.length);
}
