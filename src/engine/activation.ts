/** Turns logits into scores per the spec's activation (or returns them as they are for raw_scores). */
import type { Activation } from '../modelSpec/types';

export function activate(logits: Float32Array, numLabels: number, activation: Activation): Float64Array {
  const out = new Float64Array(logits.length);
  if (activation === 'softmax') {
    for (let r = 0; r < logits.length; r += numLabels) {
      let max = -Infinity;
      for (let j = 0; j < numLabels; j++) max = Math.max(max, logits[r + j]!);
      let sum = 0;
      for (let j = 0; j < numLabels; j++) sum += out[r + j] = Math.exp(logits[r + j]! - max);
      for (let j = 0; j < numLabels; j++) out[r + j]! /= sum;
    }
    return out;
  }
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i]!;
    out[i] = activation === 'sigmoid' ? 1 / (1 + Math.exp(-x)) : activation === 'tanh' ? Math.tanh(x) : x;
  }
  return out;
}
