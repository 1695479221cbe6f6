/**
 * What the ONNX graph's declared output says about the task. The graph is the strongest evidence
 * short of an override: it is what the engine will actually run, and re-saves never touch it.
 *
 * The output named `logits` is preferred (exporters may add others), else the first output.
 *   [batch, 1] or [batch]     one score per pair: a reranker
 *   [batch, N > 1]            N labels: a classifier
 *   [batch, symbolic]         undecided here; the config decides
 *   [batch, seq, N]           per-token outputs (token classification, language model): refused
 *   last_hidden_state, sentence_embedding, ... : an embedding model: refused
 */
import { formatDims, onnxSource } from './notes';
import type { GraphTensor, OnnxGraphInfo } from './types';

export type GraphVerdict =
  | { readonly kind: 'scores'; readonly output: GraphTensor; readonly numLabels: number; readonly source: string }
  | { readonly kind: 'undecided'; readonly output: GraphTensor; readonly source: string }
  | { readonly kind: 'embedding'; readonly output: GraphTensor; readonly source: string }
  | { readonly kind: 'per-token'; readonly output: GraphTensor; readonly source: string }
  | { readonly kind: 'unsupported'; readonly output?: GraphTensor; readonly source: string; readonly why: string };

const EMBEDDING_OUTPUTS = /^(last_hidden_state|sentence_embeddings?|token_embeddings|pooler_output|embeddings?|hidden_states)$/i;
const FLOAT_TYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);

export function readGraphOutput(graph: OnnxGraphInfo, onnxFile: string | undefined): GraphVerdict {
  const file = onnxSource(onnxFile);
  const output = graph.outputs.find((o) => o.name === 'logits') ?? graph.outputs[0];
  if (!output) return { kind: 'unsupported', source: `${file} outputs`, why: 'the graph declares no outputs' };
  const source = `${file} outputs.${output.name} dims ${formatDims(output.dims)}`;
  if (EMBEDDING_OUTPUTS.test(output.name)) return { kind: 'embedding', output, source };
  if (!FLOAT_TYPES.has(output.type)) {
    return { kind: 'unsupported', output, source, why: `output ${output.name} has element type ${output.type}, not float` };
  }
  const rank = output.dims.length;
  if (rank === 1) return { kind: 'scores', output, numLabels: 1, source };
  if (rank === 2) {
    const n = output.dims[1];
    if (typeof n === 'number' && n >= 1) return { kind: 'scores', output, numLabels: n, source };
    return { kind: 'undecided', output, source };
  }
  if (rank === 3) return { kind: 'per-token', output, source };
  const why = rank === 0 ? `output ${output.name} declares no shape` : `output ${output.name} has ${rank} dims`;
  // A graph without shape information (rank 0) is undecided rather than wrong: the config decides.
  return rank === 0 ? { kind: 'undecided', output, source } : { kind: 'unsupported', output, source, why };
}
