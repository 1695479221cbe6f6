/**
 * Pair truncation exactly as the Rust `tokenizers` crate does it (utils/truncation.rs,
 * `truncate_encodings` with LongestFirst), applied to the texts before special tokens are added,
 * so the special tokens always survive.
 */
import type { TruncationSide } from './types';

/**
 * Lengths [n1, n2] the two sequences keep so that n1 + n2 <= max (max already excludes the
 * special tokens). Assuming a <= b: keep a whole and cut b to max - a when that is enough,
 * otherwise split max in half, the odd token going to the longer one.
 */
export function longestFirst(lenA: number, lenB: number, max: number): [number, number] {
  if (lenA + lenB <= max) return [lenA, lenB];
  const swap = lenA > lenB;
  let n1 = swap ? lenB : lenA;
  let n2: number;
  // Rust special-cases n1 > max only to avoid unsigned underflow of max - n1.
  if (n1 > max) n2 = n1;
  else n2 = Math.max(n1, max - n1);
  if (n1 + n2 > max) {
    n1 = Math.floor(max / 2);
    n2 = n1 + (max % 2);
  }
  // Rust's Encoding::truncate never grows a sequence.
  return swap ? [Math.min(n2, lenA), Math.min(n1, lenB)] : [Math.min(n1, lenA), Math.min(n2, lenB)];
}

/** Keep `len` tokens: the first ones (right truncation) or the last ones (left truncation). */
export function cut(ids: Int32Array, len: number, direction: TruncationSide): Int32Array {
  if (ids.length <= len) return ids;
  return direction === 'right' ? ids.subarray(0, len) : ids.subarray(ids.length - len);
}
