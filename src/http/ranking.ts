/**
 * Orders scored documents for an answer: best first, ties by input index, optionally only those at
 * or above min_score and only the best top_n. Sorting 60,000 scores with a comparator in one go
 * held the event loop for 50 to 90 ms on a loaded 2-core machine, so the sort runs in slices
 * (slices.ts): runs of RUN indices are sorted on their own, then merged pairwise, with a turn of
 * the event loop whenever a slice's time is used up. The order is exactly the plain sort's: the
 * comparator is total (score, then index), so any correct sort gives the same sequence.
 */
import type { Slicer } from './slices';

/** Indices per sorted run: a few milliseconds of sorting at most. */
const RUN = 2048;
/** Elements merged between two slice checks. */
const MERGE_STEP = 4096;

export interface Ranked {
  readonly index: number;
  readonly score: number;
}

export async function rank(scores: Float64Array, topN: number | undefined, minScore: number | undefined, slicer: Slicer): Promise<Ranked[]> {
  let idx = new Uint32Array(scores.length);
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (minScore === undefined || scores[i]! >= minScore) idx[n++] = i;
  idx = idx.subarray(0, n);
  const better = (a: number, b: number): number => scores[b]! - scores[a]! || a - b;
  for (let at = 0; at < n; at += RUN) {
    idx.subarray(at, Math.min(n, at + RUN)).sort(better);
    await slicer.tick();
  }
  let from = idx;
  let to = new Uint32Array(n);
  for (let width = RUN; width < n; width *= 2) {
    let steps = 0;
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        to[k++] = better(from[i]!, from[j]!) <= 0 ? from[i++]! : from[j++]!;
        if (++steps % MERGE_STEP === 0) await slicer.tick();
      }
      while (i < mid) to[k++] = from[i++]!;
      while (j < hi) to[k++] = from[j++]!;
    }
    [from, to] = [to, from];
    await slicer.tick();
  }
  const keep = topN !== undefined ? Math.min(topN, n) : n;
  const out = new Array<Ranked>(keep);
  for (let r = 0; r < keep; r++) {
    const index = from[r]!;
    out[r] = { index, score: scores[index]! };
    if ((r & 4095) === 4095) await slicer.tick();
  }
  return out;
}

/** Array.map in slices: one answer item per document is built for tens of thousands of documents. */
export async function mapSliced<T, U>(items: readonly T[], fn: (item: T) => U, slicer: Slicer): Promise<U[]> {
  const out = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!);
    if ((i & 1023) === 1023) await slicer.tick();
  }
  return out;
}
