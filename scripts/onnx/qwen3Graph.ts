// A real Qwen3 decoder forward pass as an ONNX graph, with seeded random weights: RMSNorm, rotary
// positions from position_ids, grouped-query attention with q/k norms, SwiGLU MLP, and the head
// laid out the three ways exports lay it out (causal LM with or without past_key_values inputs,
// and a *ForSequenceClassification conversion with one score row = lm_head[yes] - lm_head[no]).
// Input/output names and dims follow optimum's text-generation export, so both this server and
// transformers.js' AutoModelForCausalLM can run the same file.
import { DataType, GraphBuilder } from './graphBuilder';
import { normalTensor } from './prng';

export interface Qwen3Architecture {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** true: logits = h @ embed_tokens^T through a Transpose node (how torch exports a tied head). */
  tied: boolean;
  /** 'causal': logits [batch, seq, vocab]; 'causal-past': same plus past_key_values.* inputs and present.* outputs; 'seq-cls': [batch, 1]. */
  layout: 'causal' | 'causal-past' | 'seq-cls';
  /** 'causal' only: name each layer's key/value present.N.key/value and output them (a merged decoder's no-cache branch). */
  presentOutputs?: boolean;
  /** Adds a zero bias after the LM head: same logits, a head shape the load-time rewrite does not recognize (tests its fallback). */
  opaqueHead?: boolean;
  /** Rows of the seq-cls score vector: weight = head[trueId] - head[falseId] (vLLM's from_2_way_softmax). */
  scoreTokens?: readonly [number, number];
  seed: number;
}

export const QWEN3_OPSET = 17;
const NEG = -3.4028234663852886e38;

function rmsNorm(g: GraphBuilder, a: Qwen3Architecture, x: string, name: string, dim: number): string {
  const w = g.initializer(`${name}.weight`, [dim], normalTensor(dim, 0.05, a.seed, `${name}.weight`, 1));
  const meanSq = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
  const inv = g.op('Sqrt', [g.op('Add', [meanSq, g.constFloat(a.rmsNormEps)])]);
  return g.op('Mul', [g.op('Div', [x, inv]), w]);
}

/** x @ W with W stored [in, out] (torch.onnx pre-transposes a Linear without bias). */
function proj(g: GraphBuilder, a: Qwen3Architecture, x: string, name: string, inDim: number, outDim: number): string {
  const std = Math.min(0.1, Math.max(0.02, 1 / Math.sqrt(inDim)));
  const W = g.initializer(`${name}.weight`, [inDim, outDim], normalTensor(inDim * outDim, std, a.seed, `${name}.weight`));
  return g.op('MatMul', [x, W]);
}

/** rotate_half(x) = concat(-x[..., d/2:], x[..., :d/2]) on the last axis. */
function rotateHalf(g: GraphBuilder, x: string, headDim: number): string {
  const half = headDim / 2;
  const axis = g.constInt64([-1]);
  const x1 = g.op('Slice', [x, g.constInt64([0]), g.constInt64([half]), axis]);
  const x2 = g.op('Slice', [x, g.constInt64([half]), g.constInt64([headDim]), axis]);
  return g.op('Concat', [g.op('Neg', [x2]), x1], { axis: { int: -1 } });
}

interface Rope {
  cos: string;
  sin: string;
}

/** cos/sin [batch, 1, seq, head_dim] from position_ids, as transformers' Qwen3RotaryEmbedding computes them. */
function rotary(g: GraphBuilder, a: Qwen3Architecture, positionIds: string): Rope {
  const half = a.headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(a.ropeTheta, (2 * i) / a.headDim);
  const invFreq = g.initializer('rotary_emb.inv_freq', [half], inv);
  const pos = g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: { int: DataType.FLOAT } }), g.constInt64([-1])]);
  const freqs = g.op('Mul', [pos, invFreq]);
  const emb = g.op('Unsqueeze', [g.op('Concat', [freqs, freqs], { axis: { int: -1 } }), g.constInt64([1])]);
  return { cos: g.op('Cos', [emb]), sin: g.op('Sin', [emb]) };
}

function applyRope(g: GraphBuilder, a: Qwen3Architecture, x: string, rope: Rope): string {
  return g.op('Add', [g.op('Mul', [x, rope.cos]), g.op('Mul', [rotateHalf(g, x, a.headDim), rope.sin])]);
}

/**
 * Additive bias [batch, 1, q_len, kv_len]: a key is visible when it is not padding and not after the
 * query (queries sit at the end of the kv axis, after any past).
 */
function causalBias(g: GraphBuilder, ids: string, mask: string): string {
  const zero = g.constInt64([0], true);
  const one = g.constInt64([1], true);
  const qLen = g.op('Gather', [g.op('Shape', [ids]), one], { axis: { int: 0 } });
  const kvLen = g.op('Gather', [g.op('Shape', [mask]), one], { axis: { int: 0 } });
  const qPos = g.op('Add', [g.op('Range', [zero, qLen, one]), g.op('Sub', [kvLen, qLen])]);
  const kPos = g.op('Range', [zero, kvLen, one]);
  const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [kPos, g.constInt64([0])]), g.op('Unsqueeze', [qPos, g.constInt64([1])])]);
  const keep = g.op('Cast', [g.op('Unsqueeze', [mask, g.constInt64([1, 2])])], { to: { int: DataType.BOOL } });
  const allowed = g.op('And', [keep, causal]);
  return g.op('Where', [allowed, g.constFloat(0), g.constFloat(NEG)]);
}

function attention(g: GraphBuilder, a: Qwen3Architecture, x: string, bias: string, rope: Rope, i: number, past: boolean): string {
  const p = `model.layers.${i}.self_attn`;
  const heads = (t: string, n: number): string => g.op('Reshape', [t, g.constInt64([0, 0, n, a.headDim])]);
  const toBhsd = (t: string): string => g.op('Transpose', [t], { perm: { ints: [0, 2, 1, 3] } });
  const q = applyRope(g, a, toBhsd(rmsNorm(g, a, heads(proj(g, a, x, `${p}.q_proj`, a.hidden, a.heads * a.headDim), a.heads), `${p}.q_norm`, a.headDim)), rope);
  let k = applyRope(g, a, toBhsd(rmsNorm(g, a, heads(proj(g, a, x, `${p}.k_proj`, a.hidden, a.kvHeads * a.headDim), a.kvHeads), `${p}.k_norm`, a.headDim)), rope);
  let v = toBhsd(heads(proj(g, a, x, `${p}.v_proj`, a.hidden, a.kvHeads * a.headDim), a.kvHeads));
  if (past) {
    const dims = ['batch_size', a.kvHeads, 'past_sequence_length', a.headDim];
    k = g.op('Concat', [g.input(`past_key_values.${i}.key`, DataType.FLOAT, dims), k], { axis: { int: 2 } }, `present.${i}.key`);
    v = g.op('Concat', [g.input(`past_key_values.${i}.value`, DataType.FLOAT, dims), v], { axis: { int: 2 } }, `present.${i}.value`);
    const total = ['batch_size', a.kvHeads, 'total_sequence_length', a.headDim];
    g.output(`present.${i}.key`, DataType.FLOAT, total);
    g.output(`present.${i}.value`, DataType.FLOAT, total);
  } else if (a.presentOutputs) {
    k = g.op('Identity', [k], {}, `present.${i}.key`);
    v = g.op('Identity', [v], {}, `present.${i}.value`);
    const dims = ['batch_size', a.kvHeads, 'sequence_length', a.headDim];
    g.output(`present.${i}.key`, DataType.FLOAT, dims);
    g.output(`present.${i}.value`, DataType.FLOAT, dims);
  }
  // Grouped-query attention: each kv head serves heads / kvHeads query heads.
  const rep = a.heads / a.kvHeads;
  const repeat = (t: string): string =>
    g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [t, g.constInt64([2])]), g.constInt64([1, 1, rep, 1, 1])]), g.constInt64([0, a.heads, -1, a.headDim])]);
  const kT = g.op('Transpose', [repeat(k)], { perm: { ints: [0, 1, 3, 2] } });
  const scores = g.op('Add', [g.op('Div', [g.op('MatMul', [q, kT]), g.constFloat(Math.sqrt(a.headDim))]), bias]);
  const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: { int: -1 } }), repeat(v)]);
  const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: { ints: [0, 2, 1, 3] } }), g.constInt64([0, 0, a.heads * a.headDim])]);
  return proj(g, a, merged, `${p}.o_proj`, a.heads * a.headDim, a.hidden);
}

function decoderLayer(g: GraphBuilder, a: Qwen3Architecture, x: string, bias: string, rope: Rope, i: number, past: boolean): string {
  const p = `model.layers.${i}`;
  const h = g.op('Add', [x, attention(g, a, rmsNorm(g, a, x, `${p}.input_layernorm`, a.hidden), bias, rope, i, past)]);
  const n = rmsNorm(g, a, h, `${p}.post_attention_layernorm`, a.hidden);
  const gate = proj(g, a, n, `${p}.mlp.gate_proj`, a.hidden, a.intermediate);
  const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
  const up = proj(g, a, n, `${p}.mlp.up_proj`, a.hidden, a.intermediate);
  return g.op('Add', [h, proj(g, a, g.op('Mul', [silu, up]), `${p}.mlp.down_proj`, a.intermediate, a.hidden)]);
}

export function checkQwen3(a: Qwen3Architecture): void {
  for (const k of ['vocabSize', 'hidden', 'layers', 'heads', 'kvHeads', 'headDim', 'intermediate'] as const) {
    if (!Number.isInteger(a[k]) || a[k] < 1) throw new Error(`${k} must be a positive integer, got ${a[k]}`);
  }
  if (a.heads % a.kvHeads !== 0) throw new Error(`heads (${a.heads}) must be a multiple of kvHeads (${a.kvHeads})`);
  if (a.headDim % 2 !== 0) throw new Error(`headDim (${a.headDim}) must be even (rotary halves)`);
  if (a.layout === 'seq-cls' && !a.scoreTokens) throw new Error('the seq-cls layout needs scoreTokens [true, false]');
}

/** Returns the GraphBuilder holding the whole model (the caller encodes it, inline or with external data). */
export function buildQwen3Graph(a: Qwen3Architecture): GraphBuilder {
  checkQwen3(a);
  const g = new GraphBuilder('main_graph');
  const dims = ['batch_size', 'sequence_length'];
  const ids = g.input('input_ids', DataType.INT64, dims);
  const mask = g.input('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', DataType.INT64, dims);
  const embedData = normalTensor(a.vocabSize * a.hidden, 0.05, a.seed, 'model.embed_tokens.weight');
  const embed = g.initializer('model.embed_tokens.weight', [a.vocabSize, a.hidden], embedData);

  let x = g.op('Gather', [embed, ids], { axis: { int: 0 } });
  const bias = causalBias(g, ids, mask);
  const rope = rotary(g, a, positionIds);
  for (let i = 0; i < a.layers; i++) x = decoderLayer(g, a, x, bias, rope, i, a.layout === 'causal-past');
  const h = rmsNorm(g, a, x, 'model.norm', a.hidden);

  const headRows = a.tied ? embedData : normalTensor(a.vocabSize * a.hidden, 0.05, a.seed, 'lm_head.weight');
  if (a.layout === 'seq-cls') {
    // Qwen3ForSequenceClassification pools the last non-padding token; the score row is the
    // difference of the two LM-head rows, so the score equals the causal LM's log-odds.
    const [t, f] = a.scoreTokens!;
    const row = new Float32Array(a.hidden);
    for (let j = 0; j < a.hidden; j++) row[j] = headRows[t * a.hidden + j]! - headRows[f * a.hidden + j]!;
    const W = g.initializer('score.weight', [a.hidden, 1], row);
    const last = lastRealIndex(g, mask);
    const pooled = g.op('GatherND', [h, last], { batch_dims: { int: 1 } });
    g.op('MatMul', [pooled, W], {}, 'logits');
    g.output('logits', DataType.FLOAT, ['batch_size', 1]);
    return g;
  }
  const W = a.tied
    ? g.op('Transpose', [embed], { perm: { ints: [1, 0] } })
    : g.initializer('onnx::MatMul_lm_head', [a.hidden, a.vocabSize], transpose(headRows, a.vocabSize, a.hidden));
  if (a.opaqueHead) g.op('Add', [g.op('MatMul', [h, W]), g.initializer('lm_head.bias', [a.vocabSize], new Float32Array(a.vocabSize))], {}, 'logits');
  else g.op('MatMul', [h, W], {}, 'logits');
  g.output('logits', DataType.FLOAT, ['batch_size', 'sequence_length', a.vocabSize]);
  return g;
}

/** [batch, 1] index of each row's last attention_mask=1 position, for any padding side. */
function lastRealIndex(g: GraphBuilder, mask: string): string {
  const one = g.constInt64([1], true);
  const len = g.op('Gather', [g.op('Shape', [mask]), one], { axis: { int: 0 } });
  const pos1 = g.op('Range', [one, g.op('Add', [len, one]), one]);
  return g.op('ArgMax', [g.op('Mul', [mask, pos1])], { axis: { int: 1 }, keepdims: { int: 1 } });
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c]!;
  return out;
}
