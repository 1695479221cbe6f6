/**
 * Packs encoded pairs into a few flat typed arrays, so a worker can hand them to the main thread
 * by transferring buffers instead of structured-cloning thousands of small arrays.
 */
import type { DocChunks, EncodedPair, PackedChunks, PackedPairs } from './types';

export function packPairs(pairs: readonly EncodedPair[]): PackedPairs {
  const offsets = new Int32Array(pairs.length + 1);
  for (let i = 0; i < pairs.length; i++) offsets[i + 1] = offsets[i]! + pairs[i]!.ids.length;
  const total = offsets[pairs.length]!;
  const ids = new Int32Array(total);
  const typeIds = new Uint8Array(total);
  const truncated = new Uint8Array(pairs.length);
  pairs.forEach((p, i) => {
    ids.set(p.ids, offsets[i]);
    typeIds.set(p.typeIds, offsets[i]);
    truncated[i] = p.truncated ? 1 : 0;
  });
  return { ids, typeIds, offsets, truncated };
}

/** Windows of documents base, base+1, ... flattened; pairIndex holds absolute input indices. */
export function packChunks(docs: readonly DocChunks[], base: number): PackedChunks {
  const pairs = docs.flatMap((d) => d.pairs);
  const pairIndex = new Int32Array(pairs.length);
  const spans = new Int32Array(pairs.length * 2);
  let w = 0;
  docs.forEach((d, i) => {
    d.spans.forEach(([s, e]) => {
      pairIndex[w] = base + i;
      spans[2 * w] = s;
      spans[2 * w + 1] = e;
      w++;
    });
  });
  return { ...packPairs(pairs), pairIndex, spans };
}

/** Pair i of a packed batch (views, no copy). */
export function unpackPair(p: PackedPairs, i: number): EncodedPair {
  const s = p.offsets[i]!;
  const e = p.offsets[i + 1]!;
  return { ids: p.ids.subarray(s, e), typeIds: p.typeIds.subarray(s, e), truncated: p.truncated[i] === 1 };
}

export function pairCount(p: PackedPairs): number {
  return p.offsets.length - 1;
}

/** Joins the packed parts of one request, in order. */
export function concatPacked(parts: readonly PackedPairs[]): PackedPairs {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((k, p) => k + pairCount(p), 0);
  const total = parts.reduce((k, p) => k + p.ids.length, 0);
  const ids = new Int32Array(total);
  const typeIds = new Uint8Array(total);
  const offsets = new Int32Array(n + 1);
  const truncated = new Uint8Array(n);
  let pairAt = 0;
  let tokAt = 0;
  for (const p of parts) {
    const m = pairCount(p);
    ids.set(p.ids, tokAt);
    typeIds.set(p.typeIds, tokAt);
    truncated.set(p.truncated, pairAt);
    for (let i = 1; i <= m; i++) offsets[pairAt + i] = tokAt + p.offsets[i]!;
    pairAt += m;
    tokAt += p.ids.length;
  }
  return { ids, typeIds, offsets, truncated };
}

export function concatChunks(parts: readonly PackedChunks[]): PackedChunks {
  if (parts.length === 1) return parts[0]!;
  const cat = <T extends Int32Array>(xs: T[]): Int32Array => {
    const out = new Int32Array(xs.reduce((k, x) => k + x.length, 0));
    let at = 0;
    for (const x of xs) {
      out.set(x, at);
      at += x.length;
    }
    return out;
  };
  return { ...concatPacked(parts), pairIndex: cat(parts.map((p) => p.pairIndex)), spans: cat(parts.map((p) => p.spans)) };
}

/** Buffers to list in postMessage's transfer list. */
export function transferList(p: PackedPairs | PackedChunks): ArrayBuffer[] {
  const views: ArrayBufferView[] = [p.ids, p.typeIds, p.offsets, p.truncated];
  if ('pairIndex' in p) views.push(p.pairIndex, p.spans);
  return views.map((v) => v.buffer as ArrayBuffer);
}
