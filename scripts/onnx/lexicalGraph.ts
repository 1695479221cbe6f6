// The demo model: an honest, untrained lexical-overlap cross-encoder.
//
// A random-weight BERT cannot rank "Paris is the capital of France." first for "What is the capital
// of France?", so the demo scores a pair by how much weighted vocabulary the two segments share:
//   q, d  = bags of tokens of segment 0 / segment 1 (token_type_ids), weighted by tokenWeights
//           (0 for special tokens, punctuation and stopwords) and by attention_mask
//   exact = cos(q, d) over token ids, computed without a vocab-sized vector as
//           q·M·d / sqrt(q·M·q * d·M·d), with M[i][j] = (input_ids[i] == input_ids[j])
//   dense = cos of the q- and d-weighted sums of seeded random token vectors; its small weight only
//           keeps unrelated documents from all tying at the same score
//   logit = scale * exact + denseScale * dense + bias
// Padding adds zero weight everywhere, so a pair scores the same alone or in a padded batch.
import { DataType, GraphBuilder } from './graphBuilder';
import { normalTensor } from './prng';

export interface LexicalOverlapOptions {
  /** weight per vocabulary id; its length is the vocabulary size */
  tokenWeights: Float32Array;
  denseDim: number;
  scale: number;
  denseScale: number;
  bias: number;
  seed: number;
}

export const LEXICAL_OPSET = 17;

export const DEFAULT_LEXICAL = { denseDim: 16, scale: 8, denseScale: 0.5, bias: -4 } as const;

/** sum over axes [1, 2] of a [b, 1, n] product, giving [b]. */
function dot3(g: GraphBuilder, a: string, b: string): string {
  return g.op('ReduceSum', [g.op('Mul', [a, b]), g.constInt64([1, 2])], { keepdims: { int: 0 } });
}

function cosine(g: GraphBuilder, ab: string, aa: string, bb: string): string {
  // eps keeps an all-stopword segment at cosine 0 instead of NaN.
  const denom = g.op('Sqrt', [g.op('Add', [g.op('Mul', [aa, bb]), g.constFloat(1e-12)])]);
  return g.op('Div', [ab, denom]);
}

export function buildLexicalOverlapModel(o: LexicalOverlapOptions, producerVersion: string): Uint8Array {
  const vocab = o.tokenWeights.length;
  const g = new GraphBuilder('lexical_overlap');
  const dims = ['batch_size', 'sequence_length'];
  const ids = g.input('input_ids', DataType.INT64, dims);
  const mask = g.input('attention_mask', DataType.INT64, dims);
  const types = g.input('token_type_ids', DataType.INT64, dims);
  const toFloat = (x: string): string => g.op('Cast', [x], { to: { int: DataType.FLOAT } });

  const weightTable = g.initializer('token_weight', [vocab], o.tokenWeights);
  const w = g.op('Mul', [g.op('Gather', [weightTable, ids], { axis: { int: 0 } }), toFloat(mask)]);
  const docSide = toFloat(types);
  const querySide = g.op('Sub', [g.constFloat(1), docSide]);
  const row = g.constInt64([1]);
  const qw = g.op('Unsqueeze', [g.op('Mul', [w, querySide]), row]); // [b, 1, s]
  const dw = g.op('Unsqueeze', [g.op('Mul', [w, docSide]), row]);

  const same = g.op('Equal', [g.op('Unsqueeze', [ids, g.constInt64([2])]), g.op('Unsqueeze', [ids, row])]);
  const M = toFloat(same); // [b, s, s]
  const qM = g.op('MatMul', [qw, M]);
  const dM = g.op('MatMul', [dw, M]);
  const exact = cosine(g, dot3(g, qM, dw), dot3(g, qM, qw), dot3(g, dM, dw));

  const table = normalTensor(vocab * o.denseDim, 1, o.seed, 'token_vectors');
  const vectors = g.op('Gather', [g.initializer('token_vectors', [vocab, o.denseDim], table), ids], { axis: { int: 0 } });
  const qv = g.op('MatMul', [qw, vectors]); // [b, 1, D]
  const dv = g.op('MatMul', [dw, vectors]);
  const dense = cosine(g, dot3(g, qv, dv), dot3(g, qv, qv), dot3(g, dv, dv));

  const mixed = g.op('Add', [g.op('Mul', [exact, g.constFloat(o.scale)]), g.op('Mul', [dense, g.constFloat(o.denseScale)])]);
  const logit = g.op('Add', [mixed, g.constFloat(o.bias)]);
  g.op('Unsqueeze', [logit, row], {}, 'logits');
  g.output('logits', DataType.FLOAT, ['batch_size', 1]);

  return g.encode({
    producerName: 'sagemaker-reranker/gen-model',
    producerVersion,
    opset: LEXICAL_OPSET,
    docString:
      'Demo lexical-overlap cross-encoder: weighted token-overlap cosine between the query segment ' +
      '(token_type_ids 0) and the document segment (token_type_ids 1). Untrained; for demos and tests only.',
    metadata: { sagemaker_reranker_demo: 'lexical-overlap' },
  });
}
