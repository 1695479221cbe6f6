/**
 * Reads what an .onnx file declares (inputs, outputs, opset, producer, position table size)
 * straight from the ModelProto (onnxproto/onnxRead.ts), without onnxruntime and without decoding a
 * tensor.
 *
 * Weights are never read: initializers contribute only their name and dims, so a model whose
 * weights live in external data files (graph in the .onnx, tensors elsewhere) parses the same way.
 */
import fs from 'node:fs';
import type { GraphTensor, OnnxGraphInfo } from './types';
import { defaultOpset, readModel, type OnnxValueInfo } from '../onnxproto/onnxRead';
import { bufferSource, fileSource, type ByteSource } from '../onnxproto/wireReader';
import { findPositionTable, type InitializerInfo } from './positionTable';

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
  const m = readModel(src);
  const g = m.graph;
  // Sparse initializers count as initializers (by their values' name), in file order.
  const initializers: Array<InitializerInfo & { start: number }> = [
    ...g.initializers,
    ...g.sparseInitializers.map((s) => ({ name: s.values?.name ?? '', dims: s.dims, dataType: s.values?.dataType ?? 0, start: s.start })),
  ].sort((a, b) => a.start - b.start);
  // Exporters before IR v4 list initializers among the inputs (as optional inputs with defaults);
  // those are weights, not something the caller feeds.
  const initNames = new Set(initializers.map((i) => i.name));
  const inputs = g.inputs.filter((i) => !initNames.has(i.name)).map(graphTensor);
  const table = findPositionTable(initializers, g.nodes);
  const producer = `${m.producerName} ${m.producerVersion}`.trim();
  const opsetVersion = defaultOpset(m.opsets);
  return {
    inputs,
    outputs: g.outputs.map(graphTensor),
    ...(table ? { positionTableRows: table.rows, positionTableName: table.name } : {}),
    ...(producer ? { producer } : {}),
    ...(opsetVersion !== undefined ? { opsetVersion } : {}),
  };
}

/** Only tensor types describe feedable inputs; other values are named by their kind. */
function graphTensor(v: OnnxValueInfo): GraphTensor {
  const type = v.kind !== 'tensor' ? v.kind : v.elemType === undefined ? 'unknown' : elemTypeName(v.elemType);
  return { name: v.name, type, dims: v.dims };
}
