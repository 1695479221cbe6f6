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

/**
 * Longest-pair candidates tried per pick. Each distinct length from the anchor's up is one; the
 * batch's row cap usually ends the search long before (38 rows at 2048 tokens of 53-token pairs).
 */
const MAX_CANDIDATES = 64;

/** Returns indices into `items` (at least one when items is non-empty), in ascending length order. */
export function pickBatch(items: readonly Candidate[], limits: BatchLimits): number[] {
  if (items.length === 0) return [];
  let anchor = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.seq < items[anchor]!.seq) anchor = i;

  const order = items.map((_, i) => i).sort((a, b) => items[a]!.length - items[b]!.length || items[a]!.seq - items[b]!.seq);
  const n = order.length;
  const len = order.map((i) => items[i]!.length);
  const req = order.map((i) => items[i]!.requestId);
  // The anchor is the oldest pair, so it comes first among the pairs of its length: a run start.
  const at = order.indexOf(anchor);
  const runStart = new Int32Array(n);
  for (let p = 1; p < n; p++) runStart[p] = len[p - 1] === len[p] ? runStart[p - 1]! : p;
  // maxBatchPairs set: the scheduler is spreading a small queue over idle workers, so fill each
  // batch up to its share (a huge overhead turns the rule into "most real tokens").
  const overhead = limits.overheadTokens ?? (limits.maxBatchPairs !== undefined ? SPREAD_OVERHEAD : limits.maxBatchTokens / 8);
  const maxPairs = limits.maxBatchPairs ?? Number.POSITIVE_INFINITY;
  const maxRequests = limits.maxBatchRequests;
  const capFor = (longest: number): number => Math.max(1, Math.min(maxPairs, Math.floor(limits.maxBatchTokens / longest)));

  let best = { lo: at, hi: at, value: -1 };
  // Rows [at, hi] are in the batch whatever is added below the anchor; their requests and tokens.
  const upper = new Set<number>();
  let upperReal = 0;
  let hi = at - 1;

  /** The best batch whose longest row is hi's: add rows below the anchor while each raises the value. */
  const evaluate = (): void => {
    const longest = len[hi]!;
    const cap = capFor(longest);
    // Distinct requests never exceed rows, so the request cap only needs tracking when it is the lower one.
    const trackRequests = maxRequests < cap;
    const extra = new Set<number>();
    let lo = at;
    let count = hi - at + 1;
    let real = upperReal;
    while (lo > 0 && count < cap) {
      const x = len[lo - 1]!;
      // A row of length x raises real / (overhead + longest x count) iff x / longest exceeds it; the
      // new value stays below x / longest, so every other row of that length raises it too.
      if (x * (overhead + longest * count) <= real * longest) break;
      if (!trackRequests) {
        const take = Math.min(lo - runStart[lo - 1]!, cap - count);
        lo -= take;
        count += take;
        real += take * x;
      } else {
        const r = req[lo - 1]!;
        if (!upper.has(r) && !extra.has(r) && upper.size + extra.size >= maxRequests) break;
        lo--;
        count++;
        real += x;
        if (!upper.has(r)) extra.add(r);
      }
    }
    const value = real / (overhead + longest * count);
    if (value > best.value || (value === best.value && count > best.hi - best.lo + 1)) best = { lo, hi, value };
  };

  for (let tried = 0; hi < n - 1 && tried < MAX_CANDIDATES; tried++) {
    // Next candidate: all rows of the next length (rows of the longest length only raise the value),
    // as far as the row cap for that length allows.
    const longest = len[hi + 1]!;
    let runEnd = hi + 1;
    while (runEnd + 1 < n && len[runEnd + 1] === longest) runEnd++;
    const target = Math.min(runEnd, at + capFor(longest) - 1);
    if (target <= hi) break;
    let blocked = false;
    while (hi < target) {
      const r = req[hi + 1]!;
      if (hi >= at && !upper.has(r) && upper.size >= maxRequests) {
        blocked = true;
        break;
      }
      hi++;
      upper.add(r);
      upperReal += len[hi]!;
    }
    evaluate();
    // A longer row would lower the row cap or add a request over the cap: nothing larger fits.
    if (blocked || hi < runEnd) break;
  }
  return order.slice(best.lo, best.hi + 1);
}
