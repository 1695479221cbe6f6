/**
 * Reads what an .onnx file declares (inputs, outputs, opset, producer, position table size)
 * straight from the ModelProto's wire format, without onnxruntime and without decoding a tensor.
 * Field numbers are those of onnx/onnx.proto (stable since IR version 3).
 *
 * Weights are never read: initializers contribute only their name and dims, so a model whose
 * weights live in external data files (graph in the .onnx, tensors elsewhere) parses the same way.
 */
import fs from 'node:fs';
import type { GraphTensor, OnnxGraphInfo } from './types';
import { bufferSource, fileSource, WireReader, WIRE_LEN, type ByteSource } from './protobufWire';
import { findPositionTable, type GraphNode, type InitializerInfo } from './positionTable';

/** TensorProto.DataType names, as onnxruntime reports them ('float32' rather than 'float'). */
const ELEM_TYPES: Readonly<Record<number, string>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64',
  15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2',
  20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

export function elemTypeName(code: number): string {
  return ELEM_TYPES[code] ?? `type${code}`;
}

/** Parses a ModelProto held in memory (tests, small models). */
export function parseOnnxGraph(bytes: Uint8Array): OnnxGraphInfo {
  return parseModel(bufferSource(bytes));
}

/** Parses an .onnx file, reading only the parts that hold graph metadata. */
export function readOnnxGraph(file: string): OnnxGraphInfo {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const src = fileSource(fd, size);
    rejectNonProtobuf(src);
    return parseModel(src);
  } finally {
    fs.closeSync(fd);
  }
}

/** A Git LFS pointer is the most common "model.onnx" that is not a model; say so plainly. */
function rejectNonProtobuf(src: ByteSource): void {
  const head = Buffer.from(src.slice(0, Math.min(src.size, 64))).toString('latin1');
  if (head.startsWith('version https://git-lfs')) {
    throw new Error('this is a Git LFS pointer file, not the model (fetch it with `git lfs pull`)');
  }
  if (src.size === 0) throw new Error('the file is empty');
}

function parseModel(src: ByteSource): OnnxGraphInfo {
  const r = WireReader.whole(src);
  let producerName = '';
  let producerVersion = '';
  let opsetVersion: number | undefined;
  let graph: GraphParts | undefined;
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 2 && f.wire === WIRE_LEN) producerName = r.string();
    else if (f.field === 3 && f.wire === WIRE_LEN) producerVersion = r.string();
    else if (f.field === 7 && f.wire === WIRE_LEN) graph = parseGraph(r.message());
    else if (f.field === 8 && f.wire === WIRE_LEN) {
      const op = parseOpset(r.message());
      // The default domain is '' (older exporters) or 'ai.onnx'; other domains are contrib ops.
      if (op.domain === '' || op.domain === 'ai.onnx') opsetVersion = op.version;
    } else r.skip(f.wire);
  }
  if (!graph) throw new Error('no graph in the ModelProto (not an ONNX model?)');
  // Exporters before IR v4 list initializers among the inputs (as optional inputs with defaults);
  // those are weights, not something the caller feeds.
  const initNames = new Set(graph.initializers.map((i) => i.name));
  const inputs = graph.inputs.filter((i) => !initNames.has(i.name));
  const table = findPositionTable(graph.initializers, graph.nodes);
  const producer = `${producerName} ${producerVersion}`.trim();
  return {
    inputs,
    outputs: graph.outputs,
    ...(table ? { positionTableRows: table.rows, positionTableName: table.name } : {}),
    ...(producer ? { producer } : {}),
    ...(opsetVersion !== undefined ? { opsetVersion } : {}),
  };
}

interface GraphParts {
  nodes: GraphNode[];
  initializers: InitializerInfo[];
  inputs: GraphTensor[];
  outputs: GraphTensor[];
}

function parseGraph(r: WireReader): GraphParts {
  const g: GraphParts = { nodes: [], initializers: [], inputs: [], outputs: [] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.wire !== WIRE_LEN) {
      r.skip(f.wire);
      continue;
    }
    if (f.field === 1) g.nodes.push(parseNode(r.message()));
    else if (f.field === 5) g.initializers.push(parseTensorHeader(r.message()));
    else if (f.field === 11) g.inputs.push(parseValueInfo(r.message()));
    else if (f.field === 12) g.outputs.push(parseValueInfo(r.message()));
    else if (f.field === 15) g.initializers.push(parseSparseHeader(r.message()));
    else r.skip(f.wire);
  }
  return g;
}

function parseOpset(r: WireReader): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) domain = r.string();
    else if (f.field === 2 && f.wire !== WIRE_LEN) version = r.varint();
    else r.skip(f.wire);
  }
  return { domain, version };
}

/** NodeProto: inputs (1), outputs (2), name (3), op_type (4); attributes (5) are skipped. */
function parseNode(r: WireReader): GraphNode {
  const node: GraphNode = { name: '', opType: '', inputs: [], outputs: [] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (f.field === 1) node.inputs.push(r.string());
    else if (f.field === 2) node.outputs.push(r.string());
    else if (f.field === 3) node.name = r.string();
    else if (f.field === 4) node.opType = r.string();
    else r.skip(f.wire);
  }
  return node;
}

/** TensorProto: dims (1), data_type (2), name (8); raw_data (9) and the typed data are skipped. */
function parseTensorHeader(r: WireReader): InitializerInfo {
  const t: InitializerInfo = { name: '', dims: [], dataType: 0 };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1) r.repeatedVarint(f.wire, t.dims);
    else if (f.field === 2 && f.wire !== WIRE_LEN) t.dataType = r.varint();
    else if (f.field === 8 && f.wire === WIRE_LEN) t.name = r.string();
    else r.skip(f.wire);
  }
  return t;
}

/** SparseTensorProto: values (1, a TensorProto carrying the name), dims (3). */
function parseSparseHeader(r: WireReader): InitializerInfo {
  let values: InitializerInfo = { name: '', dims: [], dataType: 0 };
  const dims: number[] = [];
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) values = parseTensorHeader(r.message());
    else if (f.field === 3) r.repeatedVarint(f.wire, dims);
    else r.skip(f.wire);
  }
  return { name: values.name, dims, dataType: values.dataType };
}

/** ValueInfoProto: name (1), type (2) -> TypeProto.tensor_type (1) -> elem_type (1), shape (2). */
function parseValueInfo(r: WireReader): GraphTensor {
  let name = '';
  let type = 'unknown';
  let dims: Array<number | string> = [];
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) name = r.string();
    else if (f.field === 2 && f.wire === WIRE_LEN) ({ type, dims } = parseType(r.message()));
    else r.skip(f.wire);
  }
  return { name, type, dims };
}

/** TypeProto: only tensor types (field 1) describe feedable inputs; others are named by kind. */
function parseType(r: WireReader): { type: string; dims: Array<number | string> } {
  const KINDS: Readonly<Record<number, string>> = { 4: 'sequence', 5: 'map', 8: 'sparse_tensor', 9: 'optional' };
  let out: { type: string; dims: Array<number | string> } = { type: 'unknown', dims: [] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) out = parseTensorType(r.message());
    else {
      const kind = KINDS[f.field];
      if (kind) out = { type: kind, dims: [] };
      r.skip(f.wire);
    }
  }
  return out;
}

function parseTensorType(r: WireReader): { type: string; dims: Array<number | string> } {
  const t = readTensorType(r);
  return { type: t.elemType === undefined ? 'unknown' : elemTypeName(t.elemType), dims: t.dims };
}

/**
 * TypeProto.Tensor: elem_type (1; undefined when absent) and the shape's dims (2). Shared with the graph
 * rewrite's layout reader (graphRewrite/onnxLayout.ts), which keeps the numeric type.
 */
export function readTensorType(r: WireReader): { elemType: number | undefined; dims: Array<number | string> } {
  let elemType: number | undefined;
  const dims: Array<number | string> = [];
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire !== WIRE_LEN) elemType = r.varint();
    else if (f.field === 2 && f.wire === WIRE_LEN) {
      const shape = r.message();
      for (let d = shape.nextField(); d; d = shape.nextField()) {
        if (d.field === 1 && d.wire === WIRE_LEN) dims.push(parseDim(shape.message()));
        else shape.skip(d.wire);
      }
    } else r.skip(f.wire);
  }
  return { elemType, dims };
}

/** Dimension: dim_value (1) or dim_param (2); neither means an unnamed unknown size ('?'). */
function parseDim(r: WireReader): number | string {
  let dim: number | string = '?';
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire !== WIRE_LEN) dim = r.varint();
    else if (f.field === 2 && f.wire === WIRE_LEN) dim = r.string();
    else r.skip(f.wire);
  }
  return dim;
}
