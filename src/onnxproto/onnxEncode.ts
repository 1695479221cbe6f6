/**
 * Encoders for the few ONNX messages a graph rewrite creates (the quantizer, the yes/no head rewrite):
 * NodeProto, TensorProto (raw_data), AttributeProto, ValueInfoProto and OperatorSetIdProto, with the
 * field numbers of onnxFields.ts; everything a rewrite does not create is copied from the source
 * model verbatim.
 */
import { ATTRIBUTE, ATTRIBUTE_TYPE, DIMENSION, ENTRY, NODE, OPSET, SHAPE, TENSOR, TENSOR_TYPE, TYPE, VALUE_INFO } from './onnxFields';
import { WireWriter } from './wireWriter';

export type AttrValue = { readonly int: number } | { readonly ints: readonly number[] } | { readonly float: number } | { readonly string: string };

export interface NodeSpec {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttrValue>>;
}

function attribute(name: string, v: AttrValue): WireWriter {
  const w = new WireWriter().stringField(ATTRIBUTE.name, name);
  if ('int' in v) w.varintField(ATTRIBUTE.i, v.int).varintField(ATTRIBUTE.type, ATTRIBUTE_TYPE.INT);
  else if ('ints' in v) w.packedInt64Field(ATTRIBUTE.ints, v.ints).varintField(ATTRIBUTE.type, ATTRIBUTE_TYPE.INTS);
  else if ('float' in v) w.floatField(ATTRIBUTE.f, v.float).varintField(ATTRIBUTE.type, ATTRIBUTE_TYPE.FLOAT);
  else w.stringField(ATTRIBUTE.s, v.string).varintField(ATTRIBUTE.type, ATTRIBUTE_TYPE.STRING);
  return w;
}

/** NodeProto: inputs, outputs, name, op_type, attributes, then domain when not the default. */
export function encodeNode(n: NodeSpec): WireWriter {
  const w = new WireWriter();
  for (const i of n.inputs) w.stringField(NODE.input, i);
  for (const o of n.outputs) w.stringField(NODE.output, o);
  w.stringField(NODE.name, n.name).stringField(NODE.opType, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.messageField(NODE.attribute, attribute(k, v));
  if (n.domain) w.stringField(NODE.domain, n.domain);
  return w;
}

/** TensorProto with raw_data (little-endian): dims (when not a scalar), data_type, name, raw_data. */
export function encodeTensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): WireWriter {
  const w = new WireWriter();
  if (dims.length) w.packedInt64Field(TENSOR.dims, dims);
  return w.varintField(TENSOR.dataType, dataType).stringField(TENSOR.name, name).bytesField(TENSOR.rawData, raw);
}

/** ValueInfoProto of a tensor: name, then type -> tensor_type -> elem_type and shape (dim_value | dim_param each). */
export function encodeValueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) {
    const dim = typeof d === 'number' ? new WireWriter().varintField(DIMENSION.dimValue, d) : new WireWriter().stringField(DIMENSION.dimParam, d);
    shape.messageField(SHAPE.dim, dim);
  }
  const tensorType = new WireWriter().varintField(TENSOR_TYPE.elemType, elemType).messageField(TENSOR_TYPE.shape, shape);
  return new WireWriter().stringField(VALUE_INFO.name, name).messageField(VALUE_INFO.type, new WireWriter().messageField(TYPE.tensorType, tensorType));
}

/** OperatorSetIdProto: domain, version. */
export function encodeOpset(domain: string, version: number): WireWriter {
  return new WireWriter().stringField(OPSET.domain, domain).varintField(OPSET.version, version);
}

/** StringStringEntryProto: key, value; ModelProto.metadata_props holds these. */
export function encodeEntry(key: string, value: string): WireWriter {
  return new WireWriter().stringField(ENTRY.key, key).stringField(ENTRY.value, value);
}

export function bytesOf(a: Float32Array | Int8Array | Uint8Array | Int32Array): Uint8Array {
  // ONNX raw_data is little-endian, as is every platform Node runs on here.
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
