/**
 * Steps every scoring path of the reranker shares (reranker.ts for pairs, chunkedScoring.ts for
 * long documents' windows): packed token rows into queue items, the error a cancelled request
 * fails with, and the per-stage timings of a call.
 */
import { AppError } from '../errors';
import type { PackedPairs } from '../tokenize/types';
import type { StageTimings } from './scoreTypes';

export interface QueueItem {
  readonly index: number;
  readonly ids: Int32Array;
  readonly typeIds: Uint8Array;
}

/** Row i of a packed batch becomes queue item base + i. */
export function queueItems(p: PackedPairs, base = 0): QueueItem[] {
  const out: QueueItem[] = [];
  for (let i = 0; i + 1 < p.offsets.length; i++) {
    const a = p.offsets[i]!;
    const b = p.offsets[i + 1]!;
    out.push({ index: base + i, ids: p.ids.subarray(a, b), typeIds: p.typeIds.subarray(a, b) });
  }
  return out;
}

/** Why a request's queued work was dropped: the signal's reason (client gone, deadline), else a timeout. */
export function abortError(signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new AppError('Timeout', 'the request was cancelled');
}

/** Timings of a call that started at t0 and finished tokenizing at tokenizedAt; queue time is the rest. */
export function stageTimings(t0: number, tokenizedAt: number, inferenceMs: number): StageTimings {
  const totalMs = performance.now() - t0;
  const tokenizationMs = tokenizedAt - t0;
  return { tokenizationMs, inferenceMs, queueMs: Math.max(0, totalMs - tokenizationMs - inferenceMs), totalMs };
}
