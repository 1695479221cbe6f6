// Building blocks shared by the BERT graph: the same shapes and op patterns as a PyTorch export.
import { GraphBuilder } from './graphBuilder';
import { normalTensor } from './prng';

export interface WeightSource {
  seed: number;
}

/** y = x @ W + b, with W stored [in, out] as torch.onnx exports a transposed Linear. */
export function linear(g: GraphBuilder, w: WeightSource, x: string, name: string, inDim: number, outDim: number): string {
  // Roughly variance-preserving (1/sqrt(fan_in)), clamped to BERT-like 0.02..0.1 so activations
  // neither vanish nor saturate tanh/softmax in small or wide models.
  const std = Math.min(0.1, Math.max(0.02, 1 / Math.sqrt(inDim)));
  const W = g.initializer(`${name}.weight`, [inDim, outDim], normalTensor(inDim * outDim, std, w.seed, `${name}.weight`));
  const b = g.initializer(`${name}.bias`, [outDim], normalTensor(outDim, 0.02, w.seed, `${name}.bias`));
  return g.op('Add', [g.op('MatMul', [x, W]), b]);
}

/** LayerNormalization over the last axis (opset 17), gamma near 1 and beta near 0. */
export function layerNorm(g: GraphBuilder, w: WeightSource, x: string, name: string, dim: number, eps: number): string {
  const gamma = g.initializer(`${name}.weight`, [dim], normalTensor(dim, 0.05, w.seed, `${name}.weight`, 1));
  const beta = g.initializer(`${name}.bias`, [dim], normalTensor(dim, 0.02, w.seed, `${name}.bias`));
  return g.op('LayerNormalization', [x, gamma, beta], { axis: { int: -1 }, epsilon: eps });
}

/** Exact GELU as in BERT: 0.5 * x * (1 + erf(x / sqrt(2))). */
export function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Div', [x, g.constFloat(Math.SQRT2)])]);
  const onePlus = g.op('Add', [erf, g.constFloat(1)]);
  return g.op('Mul', [g.op('Mul', [x, onePlus]), g.constFloat(0.5)]);
}

/**
 * The additive attention bias [batch, 1, 1, seq]: 0 where attention_mask is 1, float32 lowest
 * where it is 0, as transformers builds it. Padded keys then get exactly zero probability, which
 * keeps a pair's logits independent of how much padding its batch needs.
 */
export function attentionBias(g: GraphBuilder, attentionMask: string): string {
  const m = g.op('Cast', [attentionMask], { to: { int: 1 } });
  const inverted = g.op('Sub', [g.constFloat(1), m]);
  const bias = g.op('Mul', [inverted, g.constFloat(-3.4028234663852886e38)]);
  return g.op('Unsqueeze', [bias, g.constInt64([1, 2])]);
}

export interface AttentionShape {
  hidden: number;
  heads: number;
}

/** Multi-head self-attention: Q/K/V projections, scaled dot product, masked softmax, output projection. */
export function selfAttention(g: GraphBuilder, w: WeightSource, x: string, bias: string, name: string, s: AttentionShape): string {
  const headDim = s.hidden / s.heads;
  const splitShape = g.constInt64([0, 0, s.heads, headDim]);
  const split = (t: string, perm: number[]): string =>
    g.op('Transpose', [g.op('Reshape', [t, splitShape])], { perm: { ints: perm } });
  const q = split(linear(g, w, x, `${name}.self.query`, s.hidden, s.hidden), [0, 2, 1, 3]);
  const kT = split(linear(g, w, x, `${name}.self.key`, s.hidden, s.hidden), [0, 2, 3, 1]);
  const v = split(linear(g, w, x, `${name}.self.value`, s.hidden, s.hidden), [0, 2, 1, 3]);
  const scores = g.op('Div', [g.op('MatMul', [q, kT]), g.constFloat(Math.sqrt(headDim))]);
  const probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: { int: -1 } });
  const ctx = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: { ints: [0, 2, 1, 3] } });
  const merged = g.op('Reshape', [ctx, g.constInt64([0, 0, s.hidden])]);
  return linear(g, w, merged, `${name}.output.dense`, s.hidden, s.hidden);
}
