/**
 * Dynamic int8 quantization of an fp32 ONNX model, done on the protobuf itself: the weights of
 * MatMul and Gemm nodes become per-column int8 with their scales, activations are quantized at run
 * time by ONNX Runtime. Everything else (nodes, initializers, metadata, fields this code does not
 * know) is copied byte for byte. Pure: model bytes in, model bytes and a summary out.
 *
 * Two encodings of the same arithmetic (measured in docs/BENCHMARKS.md, 'standard' is the default):
 *   standard:  DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(a_scale * b_scale)
 *              (ONNX ops; onnxruntime fuses them into its int8 kernel at optimization level 'all')
 *   microsoft: com.microsoft DynamicQuantizeMatMul (onnxruntime's fused op, written directly)
 */
import { AppError } from '../errors';
import { bytesOf, encodeEntry, encodeNode, encodeOpset, encodeTensor, type NodeSpec } from '../onnxproto/onnxEncode';
import { DT, GRAPH, MODEL } from '../onnxproto/onnxFields';
import { attribute, defaultOpset, readModel, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnxproto/onnxRead';
import { floatValues } from '../onnxproto/tensorData';
import { bufferSource } from '../onnxproto/wireReader';
import { WireWriter } from '../onnxproto/wireWriter';
import { quantizePerColumn } from './quantizeWeights';

export type QuantOps = 'standard' | 'microsoft';
export const QUANT_OPS: readonly QuantOps[] = ['standard', 'microsoft'];

/** ModelProto.metadata_props key that marks our output (inspect and a second run read it). */
export const QUANT_METADATA_KEY = 'sagemaker_reranker.quantization';

/**
 * Weights with fewer output columns stay fp32: classifier heads ([hidden, 1..3]) cost nothing to
 * run and their error lands directly on the score.
 */
const MIN_COLUMNS = 8;

/** Ops that mean the graph is already quantized (ours or another tool's). */
const QUANTIZED_OPS = new Set([
  'DynamicQuantizeLinear', 'QuantizeLinear', 'DequantizeLinear', 'MatMulInteger', 'QLinearMatMul', 'ConvInteger',
  'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QGemm', 'QAttention', 'MatMulNBits', 'QOrderedMatMul',
]);
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);

export interface QuantizedNode {
  readonly node: string;
  readonly opType: string;
  readonly weight: string;
  readonly k: number;
  readonly n: number;
}

export interface QuantizeSummary {
  readonly ops: QuantOps;
  readonly quantized: QuantizedNode[];
  /** MatMul/Gemm nodes left in fp32, with the reason */
  readonly skipped: Array<{ node: string; reason: string }>;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export function refuse(why: string): never {
  throw new AppError('Model', `cannot quantize this graph: ${why}`);
}

export function quantizeModel(bytes: Uint8Array, ops: QuantOps = 'standard'): { bytes: Buffer; summary: QuantizeSummary } {
  let m: OnnxModel;
  try {
    m = readModel(bufferSource(bytes));
  } catch (e) {
    refuse(`not a readable ONNX model (${e instanceof Error ? e.message : String(e)})`);
  }
  checkUnderstood(m);
  const inits = new Map(m.graph.initializers.map((t) => [t.name, t]));
  const plan = planNodes(m, inits);
  if (plan.targets.size === 0) {
    refuse(`no MatMul or Gemm node has a constant fp32 weight to quantize${plan.skipped.length ? ` (${plan.skipped.map((s) => `${s.node}: ${s.reason}`).slice(0, 3).join('; ')})` : ''}`);
  }

  const newInits = new Map<string, WireWriter>();
  const quantized: QuantizedNode[] = [];
  const rewrite = new Map<OnnxNode, NodeSpec[]>();
  // One DynamicQuantizeLinear per activation, shared by all its consumers (Q, K and V read the same one).
  const quantizedActivations = new Map<string, string[]>();
  for (const [node, t] of plan.targets) {
    const names = weightNames(t.weight.name, t.transposed);
    if (!newInits.has(names.q)) {
      const q = quantizePerColumn(floatValues(bytes, t.weight), t.k, t.n, t.transposed);
      newInits.set(names.q, encodeTensor(names.q, DT.INT8, [t.k, t.n], bytesOf(q.values)));
      newInits.set(names.scale, encodeTensor(names.scale, DT.FLOAT, [t.n], bytesOf(q.scales)));
      newInits.set(names.zero, encodeTensor(names.zero, DT.INT8, [t.n], new Uint8Array(t.n)));
    }
    rewrite.set(node, quantizedNodes(node, t.a, t.bias, names, ops, quantizedActivations));
    quantized.push({ node: node.name, opType: node.opType, weight: t.weight.name, k: t.k, n: t.n });
  }

  // An fp32 weight goes when nothing else reads it (shared weights and IR<4 graph inputs keep it).
  const stillRead = new Set<string>([...m.graph.inputs, ...m.graph.outputs].map((v) => v.name));
  for (const n of m.graph.nodes) if (!rewrite.has(n)) for (const i of n.inputs) stillRead.add(i);
  for (const specs of rewrite.values()) for (const s of specs) for (const i of s.inputs) stillRead.add(i);

  const graph = new WireWriter();
  const nodeAt = new Map(m.graph.nodes.map((n) => [n.start, n]));
  const initAt = new Map(m.graph.initializers.map((t) => [t.start, t]));
  for (const f of m.graph.fields) {
    const node = nodeAt.get(f.start);
    const init = initAt.get(f.start);
    const specs = node ? rewrite.get(node) : undefined;
    if (specs) for (const s of specs) graph.messageField(GRAPH.node, encodeNode(s));
    else if (init && !stillRead.has(init.name)) continue;
    else graph.raw(bytes.subarray(f.start, f.end));
  }
  for (const w of newInits.values()) graph.messageField(GRAPH.initializer, w);

  const out = new WireWriter();
  for (const f of m.fields) {
    if (f === m.graphField) out.messageField(MODEL.graph, graph);
    else out.raw(bytes.subarray(f.start, f.end));
  }
  if (ops === 'microsoft' && !m.opsets.some((o) => o.domain === 'com.microsoft')) out.messageField(MODEL.opsetImport, encodeOpset('com.microsoft', 1));
  out.messageField(MODEL.metadataProps, encodeEntry(QUANT_METADATA_KEY, JSON.stringify({ weights: 'int8 per-column symmetric', activations: 'uint8 dynamic', ops, nodes: quantized.length })));
  const result = out.finish();
  return { bytes: result, summary: { ops, quantized, skipped: plan.skipped, bytesIn: bytes.length, bytesOut: result.length } };
}

function checkUnderstood(m: OnnxModel): void {
  const opset = defaultOpset(m.opsets);
  if (opset === undefined || opset < 11) refuse(`it declares ONNX opset ${opset ?? 'none'}; DynamicQuantizeLinear needs opset 11 or later (export the model again with a newer opset)`);
  for (const n of m.graph.nodes) {
    if (QUANTIZED_OPS.has(n.opType)) refuse(`it is already quantized (node ${n.name || n.opType} is ${n.opType}); quantize the fp32 export instead`);
    if (!KNOWN_DOMAINS.has(n.domain)) refuse(`node ${n.name || n.opType} uses the op domain '${n.domain}', which this quantizer does not know`);
    if (n.attributes.some((a) => a.hasGraph)) refuse(`node ${n.name || n.opType} (${n.opType}) holds a subgraph; control flow is not supported`);
  }
  const external = m.graph.initializers.find((t) => t.external);
  if (external) refuse(`its weights are stored in external data files (${external.name}); only self-contained .onnx files are supported`);
}

interface Target {
  readonly a: string;
  readonly weight: OnnxTensor;
  readonly bias?: string;
  readonly k: number;
  readonly n: number;
  readonly transposed: boolean;
}

function planNodes(m: OnnxModel, inits: Map<string, OnnxTensor>): { targets: Map<OnnxNode, Target>; skipped: Array<{ node: string; reason: string }> } {
  const targets = new Map<OnnxNode, Target>();
  const skipped: Array<{ node: string; reason: string }> = [];
  const oneRowPerPair = pickedRows(m, inits);
  for (const node of m.graph.nodes) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') continue;
    const [a, b, c] = node.inputs;
    const w = b !== undefined ? inits.get(b) : undefined;
    const skip = (reason: string): void => void skipped.push({ node: node.name || node.opType, reason });
    if (a === undefined || inits.has(a)) continue; // constant folding material, not a layer
    if (!w) {
      skip('its weight is computed, not a constant (attention scores)');
      continue;
    }
    if (w.dataType === DT.FLOAT16) refuse(`weight ${w.name} is fp16; quantize the fp32 export`);
    if (w.dataType !== DT.FLOAT || w.dims.length !== 2) {
      skip(`weight ${w.name} is not a 2-D fp32 matrix`);
      continue;
    }
    let transposed = false;
    if (node.opType === 'Gemm') {
      const attr = (name: string): number | undefined => attribute(node, name)?.i ?? attribute(node, name)?.f;
      if ((attr('transA') ?? 0) !== 0 || (attr('alpha') ?? 1) !== 1 || (c !== undefined && c !== '' && (attr('beta') ?? 1) !== 1)) {
        skip('Gemm with transA, alpha or beta other than the defaults');
        continue;
      }
      transposed = (attr('transB') ?? 0) === 1;
    }
    const [k, n] = transposed ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    if (n < MIN_COLUMNS) {
      skip(`only ${n} output columns (a classifier head stays fp32)`);
      continue;
    }
    if (oneRowPerPair.has(a)) {
      skip('it runs on one row per pair (after the [CLS] Gather): a pooler costs nothing in fp32, and its error would land on the score');
      continue;
    }
    const bias = node.opType === 'Gemm' && c !== undefined && c !== '' ? c : undefined;
    targets.set(node, { a, weight: w, k, n, transposed, ...(bias !== undefined ? { bias } : {}) });
  }
  return { targets, skipped };
}

/**
 * Tensors that hold one row per pair instead of one per token: the output of a Gather on the
 * sequence axis (axis 1) with one constant index (the [CLS] pick before a pooler or head), and
 * everything computed from it. Nodes are in graph (topological) order.
 */
function pickedRows(m: OnnxModel, inits: Map<string, OnnxTensor>): Set<string> {
  const rows = new Set<string>();
  for (const node of m.graph.nodes) {
    if (node.inputs.some((i) => rows.has(i))) {
      for (const o of node.outputs) rows.add(o);
      continue;
    }
    if (node.opType !== 'Gather' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const axis = attribute(node, 'axis')?.i ?? 0;
    const index = node.inputs[1] !== undefined ? inits.get(node.inputs[1]) : undefined;
    if (axis === 1 && index && index.dims.reduce((n, d) => n * d, 1) === 1) for (const o of node.outputs) rows.add(o);
  }
  return rows;
}

interface WeightNames {
  readonly q: string;
  readonly scale: string;
  readonly zero: string;
}

function weightNames(w: string, transposed: boolean): WeightNames {
  const base = transposed ? `${w}_T` : w;
  return { q: `${base}_quantized`, scale: `${base}_scale`, zero: `${base}_zero_point` };
}

/** The nodes that replace one MatMul/Gemm; the last writes the original output name. */
function quantizedNodes(node: OnnxNode, a: string, bias: string | undefined, w: WeightNames, ops: QuantOps, activations: Map<string, string[]>): NodeSpec[] {
  const out = node.outputs[0]!;
  const base = `${node.name || out}_quant`;
  const y = bias !== undefined ? `${base}_matmul` : out;
  const specs: NodeSpec[] = [];
  if (ops === 'microsoft') {
    specs.push({ name: `${base}_DynamicQuantizeMatMul`, opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', inputs: [a, w.q, w.scale, w.zero], outputs: [y] });
  } else {
    let shared = activations.get(a);
    if (!shared) {
      // Nodes are rewritten in graph order, so the first consumer of `a` is also the first to run.
      shared = [`${base}_a_quantized`, `${base}_a_scale`, `${base}_a_zero_point`];
      activations.set(a, shared);
      specs.push({ name: `${base}_DynamicQuantizeLinear`, opType: 'DynamicQuantizeLinear', inputs: [a], outputs: shared });
    }
    const [aq, as, az] = shared as [string, string, string];
    specs.push(
      { name: `${base}_MatMulInteger`, opType: 'MatMulInteger', inputs: [aq, w.q, az, w.zero], outputs: [`${base}_int32`] },
      { name: `${base}_Cast`, opType: 'Cast', inputs: [`${base}_int32`], outputs: [`${base}_float`], attributes: { to: { int: DT.FLOAT } } },
      { name: `${base}_scale_Mul`, opType: 'Mul', inputs: [as, w.scale], outputs: [`${base}_scale`] },
      { name: `${base}_Mul`, opType: 'Mul', inputs: [`${base}_float`, `${base}_scale`], outputs: [y] },
    );
  }
  if (bias !== undefined) specs.push({ name: `${base}_bias_Add`, opType: 'Add', inputs: [y, bias], outputs: [out] });
  return specs;
}
