/**
 * The yes/no rewrite's view of an ONNX model (read by onnxproto/onnxRead.ts, If branches included):
 * the byte spans of the top-level and graph fields, the main graph's nodes, initializers by name,
 * inputs, outputs and value_info, and the default-domain opset. Weights are skipped, not read, so
 * a multi-GB model costs a few MB of reads.
 */
import { defaultOpset, readModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type Span } from '../onnxproto/onnxRead';
import type { ByteSource } from '../onnxproto/wireReader';

export interface ModelLayout {
  /** Top-level fields in file order; the graph is MODEL.graph. */
  readonly fields: Span[];
  /** Graph fields in file order (nodes, initializers, inputs, outputs, value_info, ...). */
  readonly graphFields: Span[];
  readonly nodes: OnnxNode[];
  readonly initializers: Map<string, OnnxTensor>;
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  readonly valueInfos: OnnxValueInfo[];
  /** Default-domain opset version (0 when none is declared). */
  readonly opset: number;
}

export function readLayout(src: ByteSource): ModelLayout {
  const m = readModel(src, { subgraphs: true });
  const g = m.graph;
  return {
    fields: m.fields,
    graphFields: g.fields,
    nodes: g.nodes,
    initializers: new Map(g.initializers.map((t) => [t.name, t])),
    inputs: g.inputs,
    outputs: g.outputs,
    valueInfos: g.valueInfos,
    opset: defaultOpset(m.opsets) ?? 0,
  };
}
