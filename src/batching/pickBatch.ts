/**
 * Chooses the next batch from the queue. Pure and small so it can be tested alone and swapped.
 *
 * The queue holds the pairs of every waiting request; they are considered in length order, so a
 * batch mixes requests freely. Cost model: a batch costs (longest pair) x (pairs) tokens, because
 * every row is padded to the longest one, plus a fixed cost per batch (session call, tensors,
 * results), counted as `overheadTokens` (maxBatchTokens / 8 unless given).
 *
 * Age bound: the oldest waiting pair (the anchor) is in every batch, so a pair never waits behind
 * more batches than there are pairs older than it, whatever the lengths of later arrivals.
 *
 * Among the batches that hold the anchor, are contiguous in length order and fit the limits, the
 * one with the most real tokens per unit of cost is taken: real / (overhead + longest x pairs).
 * Every longest pair from the anchor up is tried while the rows between them still fit; for each,
 * rows shorter than the anchor are added while each one raises the ratio (a shorter row raises it
 * less, so the first that does not ends the search: optimal for that longest pair). Compared with
 * growing the batch one nearest neighbour at a time (the previous rule), this leaves out a long
 * row that would pad every other one, and fills the budget from the side where lengths are dense.
 */
export interface Candidate {
  readonly length: number;
  readonly requestId: number;
  /** Lower is older; used to pick the anchor. */
  readonly seq: number;
}

export interface BatchLimits {
  readonly maxBatchTokens: number;
  readonly maxBatchRequests: number;
  /** Pairs per batch at most; unset: no cap (the scheduler sets it to spread work over idle workers). */
  readonly maxBatchPairs?: number;
  /** Fixed cost of one batch in tokens; default maxBatchTokens / 8 (with maxBatchPairs: fill up to it). */
  readonly overheadTokens?: number;
}

const SPREAD_OVERHEAD = 1e12;

/** The cost model's value of a batch: real tokens per unit of cost (higher is better). */
export function batchValue(lengths: readonly number[], overheadTokens: number): number {
  if (lengths.length === 0) return 0;
  const real = lengths.reduce((s, l) => s + l, 0);
  return real / (overheadTokens + Math.max(...lengths) * lengths.length);
}

/** Returns indices into `items` (at least one when items is non-empty), in ascending length order. */
export function pickBatch(items: readonly Candidate[], limits: BatchLimits): number[] {
  if (items.length === 0) return [];
  let anchor = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.seq < items[anchor]!.seq) anchor = i;

  const order = items.map((_, i) => i).sort((a, b) => items[a]!.length - items[b]!.length || items[a]!.seq - items[b]!.seq);
  const len = (pos: number): number => items[order[pos]!]!.length;
  const req = (pos: number): number => items[order[pos]!]!.requestId;
  const at = order.indexOf(anchor);
  // maxBatchPairs set: the scheduler is spreading a small queue over idle workers, so fill each
  // batch up to its share (a huge overhead turns the rule into "most real tokens").
  const overhead = limits.overheadTokens ?? (limits.maxBatchPairs !== undefined ? SPREAD_OVERHEAD : limits.maxBatchTokens / 8);
  const maxPairs = limits.maxBatchPairs ?? Number.POSITIVE_INFINITY;

  let best = { lo: at, hi: at, value: -1 };
  // Requests of the rows [at, hi] (grows with hi), counted so the downward extension can tell new ones.
  const upper = new Map<number, number>();
  let upperReal = 0;
  for (let hi = at; hi < order.length; hi++) {
    const maxLen = len(hi);
    const cap = Math.min(maxPairs, Math.floor(limits.maxBatchTokens / maxLen));
    upper.set(req(hi), (upper.get(req(hi)) ?? 0) + 1);
    upperReal += maxLen;
    const forced = hi - at + 1;
    // The rows [at, hi] must all go in; when they do not fit, no larger hi fits either.
    if (forced > 1 && (forced > cap || upper.size > limits.maxBatchRequests)) break;
    let real = upperReal;
    let count = forced;
    let lo = at;
    const extra = new Set<number>();
    while (lo > 0 && count < cap) {
      const r = req(lo - 1);
      if (!upper.has(r) && !extra.has(r) && upper.size + extra.size >= limits.maxBatchRequests) break;
      // Adding a row of length x raises real / (overhead + maxLen x count) iff x / maxLen exceeds it.
      if (len(lo - 1) * (overhead + maxLen * count) <= real * maxLen) break;
      lo--;
      count++;
      real += len(lo);
      if (!upper.has(r)) extra.add(r);
    }
    const value = real / (overhead + maxLen * count);
    if (value > best.value || (value === best.value && count > best.hi - best.lo + 1)) best = { lo, hi, value };
  }
  return order.slice(best.lo, best.hi + 1);
}
