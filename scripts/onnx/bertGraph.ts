// A real BertForSequenceClassification forward pass as an ONNX graph, with seeded random weights.
// Input/output names, dtypes and symbolic dims match what optimum exports for cross-encoders.
import { DataType, GraphBuilder } from './graphBuilder';
import { attentionBias, gelu, layerNorm, linear, selfAttention } from './layers';
import { normalTensor } from './prng';

export interface BertArchitecture {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPosition: number;
  typeVocabSize: number;
  numLabels: number;
  layerNormEps: number;
  /** false: the graph has no token_type_ids input and always uses segment 0, like many exports. */
  tokenTypeIds: boolean;
  seed: number;
}

export const BERT_OPSET = 17;

function embeddings(g: GraphBuilder, a: BertArchitecture, ids: string, tokenTypes: string | undefined): string {
  const w = { seed: a.seed };
  const table = (name: string, rows: number): string =>
    g.initializer(name, [rows, a.hidden], normalTensor(rows * a.hidden, 0.05, a.seed, name));
  const words = g.op('Gather', [table('bert.embeddings.word_embeddings.weight', a.vocabSize), ids], { axis: { int: 0 } });

  // Positions 0..seq-1, the same for every row: right padding never moves a real token.
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.constInt64([1], true)], { axis: { int: 0 } });
  const positionIds = g.op('Range', [g.constInt64([0], true), seqLen, g.constInt64([1], true)]);
  const positions = g.op('Gather', [table('bert.embeddings.position_embeddings.weight', a.maxPosition), positionIds], {
    axis: { int: 0 },
  });

  const typeTable = table('bert.embeddings.token_type_embeddings.weight', a.typeVocabSize);
  const types = tokenTypes
    ? g.op('Gather', [typeTable, tokenTypes], { axis: { int: 0 } })
    : g.op('Gather', [typeTable, g.constInt64([0], true)], { axis: { int: 0 } });

  const sum = g.op('Add', [g.op('Add', [words, positions]), types]);
  return layerNorm(g, w, sum, 'bert.embeddings.LayerNorm', a.hidden, a.layerNormEps);
}

function encoderLayer(g: GraphBuilder, a: BertArchitecture, x: string, bias: string, i: number): string {
  const w = { seed: a.seed };
  const p = `bert.encoder.layer.${i}`;
  const attn = selfAttention(g, w, x, bias, `${p}.attention`, { hidden: a.hidden, heads: a.heads });
  const h = layerNorm(g, w, g.op('Add', [attn, x]), `${p}.attention.output.LayerNorm`, a.hidden, a.layerNormEps);
  const up = gelu(g, linear(g, w, h, `${p}.intermediate.dense`, a.hidden, a.intermediate));
  const down = linear(g, w, up, `${p}.output.dense`, a.intermediate, a.hidden);
  return layerNorm(g, w, g.op('Add', [down, h]), `${p}.output.LayerNorm`, a.hidden, a.layerNormEps);
}

/** Validates the shape so a bad CLI flag fails here, not inside onnxruntime. */
export function checkArchitecture(a: BertArchitecture): void {
  const positive = ['vocabSize', 'hidden', 'layers', 'heads', 'intermediate', 'maxPosition', 'typeVocabSize', 'numLabels'] as const;
  for (const k of positive) {
    if (!Number.isInteger(a[k]) || a[k] < 1) throw new Error(`${k} must be a positive integer, got ${a[k]}`);
  }
  if (a.hidden % a.heads !== 0) throw new Error(`hidden (${a.hidden}) must be divisible by heads (${a.heads})`);
}

/** Returns the serialized ModelProto. */
export function buildBertModel(a: BertArchitecture, producerVersion: string): Uint8Array {
  checkArchitecture(a);
  const g = new GraphBuilder('main_graph');
  const dims = ['batch_size', 'sequence_length'];
  const ids = g.input('input_ids', DataType.INT64, dims);
  const mask = g.input('attention_mask', DataType.INT64, dims);
  const tokenTypes = a.tokenTypeIds ? g.input('token_type_ids', DataType.INT64, dims) : undefined;

  let x = embeddings(g, a, ids, tokenTypes);
  const bias = attentionBias(g, mask);
  for (let i = 0; i < a.layers; i++) x = encoderLayer(g, a, x, bias, i);

  // Pooler: the [CLS] position through dense + tanh, then the classification head.
  const w = { seed: a.seed };
  const first = g.op('Gather', [x, g.constInt64([0], true)], { axis: { int: 1 } });
  const pooled = g.op('Tanh', [linear(g, w, first, 'bert.pooler.dense', a.hidden, a.hidden)]);
  const head = linear(g, w, pooled, 'classifier', a.hidden, a.numLabels);
  g.op('Identity', [head], {}, 'logits');
  g.output('logits', DataType.FLOAT, ['batch_size', a.numLabels]);

  return g.encode({
    producerName: 'sagemaker-reranker/gen-model',
    producerVersion,
    opset: BERT_OPSET,
    docString: `BertForSequenceClassification with seeded random weights (seed ${a.seed}); not a trained model.`,
  });
}
