/**
 * Chooses the next batch from the queue. Pure and small so it can be tested alone and swapped.
 *
 * Cost model: a batch costs (longest pair) x (pairs) tokens, because every row is padded to the
 * longest one. The oldest waiting pair anchors the batch (no starvation); the batch then grows
 * with the pairs whose lengths are closest to the anchor's, so rows of similar length travel
 * together and little compute is spent on padding, until the token budget or the cap on distinct
 * requests would be exceeded.
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
}

/** Returns indices into `items` (at least one when items is non-empty), in ascending length order. */
export function pickBatch(items: readonly Candidate[], limits: BatchLimits): number[] {
  if (items.length === 0) return [];
  let anchor = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.seq < items[anchor]!.seq) anchor = i;

  const order = items.map((_, i) => i).sort((a, b) => items[a]!.length - items[b]!.length || items[a]!.seq - items[b]!.seq);
  const at = order.indexOf(anchor);
  const anchorLen = items[anchor]!.length;

  let lo = at;
  let hi = at;
  let maxLen = anchorLen;
  const requests = new Set<number>([items[anchor]!.requestId]);

  const fits = (idx: number, newMax: number): boolean => {
    const item = items[idx]!;
    const count = hi - lo + 2;
    if (newMax * count > limits.maxBatchTokens) return false;
    if (limits.maxBatchPairs !== undefined && count > limits.maxBatchPairs) return false;
    return requests.has(item.requestId) || requests.size < limits.maxBatchRequests;
  };

  for (;;) {
    const left = lo > 0 ? order[lo - 1]! : -1;
    const right = hi < order.length - 1 ? order[hi + 1]! : -1;
    const leftOk = left >= 0 && fits(left, maxLen);
    const rightOk = right >= 0 && fits(right, Math.max(maxLen, items[right]!.length));
    if (!leftOk && !rightOk) break;
    const takeLeft =
      leftOk && (!rightOk || anchorLen - items[left]!.length <= items[right]!.length - anchorLen);
    if (takeLeft) {
      lo--;
      requests.add(items[left]!.requestId);
    } else {
      hi++;
      maxLen = Math.max(maxLen, items[right]!.length);
      requests.add(items[right]!.requestId);
    }
  }
  return order.slice(lo, hi + 1);
}
