/**
 * Encoders for the few ONNX messages a graph rewrite creates (the quantizer, the yes/no head rewrite):
 * NodeProto, TensorProto (raw_data), AttributeProto, ValueInfoProto and OperatorSetIdProto. Field numbers are those of onnx/onnx.proto, stable since
 * IR version 3; everything a rewrite does not create is copied from the source model verbatim.
 */
import { WireWriter } from './wireWriter';

/** TensorProto.DataType codes used by rewrites. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

export type AttrValue = { readonly int: number } | { readonly ints: readonly number[] } | { readonly float: number } | { readonly string: string };

export interface NodeSpec {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttrValue>>;
}

/** AttributeProto.AttributeType */
const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

function attribute(name: string, v: AttrValue): WireWriter {
  const w = new WireWriter().stringField(1, name);
  if ('int' in v) w.varintField(3, v.int).varintField(20, ATTR_TYPE.INT);
  else if ('ints' in v) w.packedInt64Field(8, v.ints).varintField(20, ATTR_TYPE.INTS);
  else if ('float' in v) w.floatField(2, v.float).varintField(20, ATTR_TYPE.FLOAT);
  else w.stringField(4, v.string).varintField(20, ATTR_TYPE.STRING);
  return w;
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5), domain (7). */
export function encodeNode(n: NodeSpec): WireWriter {
  const w = new WireWriter();
  for (const i of n.inputs) w.stringField(1, i);
  for (const o of n.outputs) w.stringField(2, o);
  w.stringField(3, n.name).stringField(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.messageField(5, attribute(k, v));
  if (n.domain) w.stringField(7, n.domain);
  return w;
}

/** TensorProto with raw_data: dims (1), data_type (2), name (8), raw_data (9, little-endian). */
export function encodeTensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): WireWriter {
  const w = new WireWriter();
  if (dims.length) w.packedInt64Field(1, dims);
  return w.varintField(2, dataType).stringField(8, name).bytesField(9, raw);
}

/** ValueInfoProto of a tensor: name 1, type 2 -> tensor_type 1 -> elem_type 1, shape 2 -> dim 1 (dim_value 1 | dim_param 2). */
export function encodeValueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) shape.messageField(1, typeof d === 'number' ? new WireWriter().varintField(1, d) : new WireWriter().stringField(2, d));
  const tensorType = new WireWriter().varintField(1, elemType).messageField(2, shape);
  return new WireWriter().stringField(1, name).messageField(2, new WireWriter().messageField(1, tensorType));
}

/** OperatorSetIdProto: domain (1), version (2). */
export function encodeOpset(domain: string, version: number): WireWriter {
  return new WireWriter().stringField(1, domain).varintField(2, version);
}

/** StringStringEntryProto: key (1), value (2); ModelProto.metadata_props holds these. */
export function encodeEntry(key: string, value: string): WireWriter {
  return new WireWriter().stringField(1, key).stringField(2, value);
}

export function bytesOf(a: Float32Array | Int8Array | Uint8Array | Int32Array): Uint8Array {
  // ONNX raw_data is little-endian, as is every platform Node runs on here.
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
