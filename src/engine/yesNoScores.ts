/**
 * The decoder-reranker half of an inference worker: the extra feeds a decoder export declares
 * (position_ids from the mask, a zero-length past_key_values, use_cache_branch=false) and the
 * reduction of whatever the graph outputs to one log-odds per pair:
 *   'pair'   the rewritten graph's [batch, k]: logit[true] - logit[false], or logit[true]
 *   'vocab'  an unrewritten causal LM's [batch, seq, vocab]: the same two columns at each row's
 *            last real position (the last attention_mask=1 column; padding is on the right)
 *   'score'  a seq-cls conversion's [batch, 1]: already the log-odds
 */
import * as ort from 'onnxruntime-node';
import type { DecoderInputs } from '../modelSpec/yesNoTypes';
import type { BatchTensors } from './protocol';

export type YesNoOutput = 'pair' | 'vocab' | 'score';

export function decoderFeeds(d: DecoderInputs, t: BatchTensors, idType: 'int64' | 'int32'): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const dims = [t.batch, t.seqLen];
  if (d.positionIds) {
    // transformers: cumsum(mask) - 1, and 1 where the mask is 0 (never read for a real token).
    const pos = new Array<number>(t.batch * t.seqLen);
    for (let r = 0; r < t.batch; r++) {
      let c = 0;
      for (let i = 0; i < t.seqLen; i++) {
        const k = r * t.seqLen + i;
        pos[k] = t.mask[k] ? c++ : 1;
      }
    }
    feeds[d.positionIds] = idType === 'int32' ? new ort.Tensor('int32', Int32Array.from(pos), dims) : new ort.Tensor('int64', BigInt64Array.from(pos, (v) => BigInt(v)), dims);
  }
  for (const p of d.past) {
    const shape = [t.batch, p.kvHeads, 0, p.headDim];
    feeds[p.name] = p.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), shape) : new ort.Tensor('float32', new Float32Array(0), shape);
  }
  if (d.useCacheBranch) feeds[d.useCacheBranch] = new ort.Tensor('bool', [false], [1]);
  return feeds;
}

/** One log-odds (or raw true logit) per row. */
export function yesNoLogits(out: ort.Tensor, kind: YesNoOutput, tokenIds: readonly number[], t: BatchTensors): Float32Array {
  const data = asFloat32(out);
  const res = new Float32Array(t.batch);
  const [yes, no] = tokenIds as [number, number | undefined];
  if (kind === 'score') return data.slice(0, t.batch);
  if (kind === 'pair') {
    const k = Number(out.dims[1]);
    for (let r = 0; r < t.batch; r++) res[r] = k === 2 ? data[r * 2]! - data[r * 2 + 1]! : data[r * k]!;
    return res;
  }
  const seq = Number(out.dims[1]);
  const vocab = Number(out.dims[2]);
  for (let r = 0; r < t.batch; r++) {
    let last = 0;
    for (let i = 0; i < t.seqLen; i++) if (t.mask[r * t.seqLen + i]) last = i;
    const base = (r * seq + last) * vocab;
    res[r] = no === undefined ? data[base + yes]! : data[base + yes]! - data[base + no]!;
  }
  return res;
}

function asFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const raw = t.data as unknown as ArrayLike<number>;
    // Float16Array (newer runtimes) reads as numbers already; Uint16Array holds the bits.
    if (raw instanceof Uint16Array) return Float32Array.from(raw, halfToFloat);
    return Float32Array.from(raw);
  }
  throw new Error(`decoder output has element type ${t.type}; expected float32 or float16`);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
