/**
 * A minimal protobuf wire-format writer for ONNX messages, the counterpart of
 * modelSpec/protobufWire.ts (the reader). Load-time graph rewrites build the few small messages
 * they add (nodes, a constant tensor, value infos) here and splice them between byte ranges copied
 * unchanged from the source file, so weights are never decoded or re-encoded.
 * Field numbers are onnx/onnx.proto's.
 */
const WIRE_VARINT = 0;
const WIRE_I32 = 5;
const WIRE_LEN = 2;

export function varint(value: number | bigint): Uint8Array {
  // int64 fields: negative values take ten bytes (two's complement), as protobuf encodes them.
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Builds one message field by field, in the order given. */
export class MessageWriter {
  private readonly parts: Uint8Array[] = [];

  private key(field: number, wire: number): void {
    this.parts.push(varint(field * 8 + wire));
  }

  int(field: number, value: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.parts.push(varint(value));
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.parts.push(varint(value.byteLength), value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, m: MessageWriter): this {
    return this.bytes(field, m.finish());
  }

  /** A packed repeated integer field. */
  packed(field: number, values: ReadonlyArray<number | bigint>): this {
    return this.bytes(field, concatBytes(values.map((v) => varint(v))));
  }

  finish(): Uint8Array {
    return concatBytes(this.parts);
  }
}

export type OnnxAttr = { readonly int: number } | { readonly ints: readonly number[] } | { readonly float: number } | { readonly tensor: MessageWriter };

/** AttributeProto: name 1, f 2, i 3, t 5, ints 8, type 20 (FLOAT 1, INT 2, TENSOR 4, INTS 7). */
function attribute(name: string, a: OnnxAttr): MessageWriter {
  const m = new MessageWriter().string(1, name);
  if ('int' in a) return m.int(3, a.int).int(20, 2);
  if ('ints' in a) return m.packed(8, a.ints).int(20, 7);
  if ('float' in a) return m.float(2, a.float).int(20, 1);
  return m.message(5, a.tensor).int(20, 4);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. */
export function nodeProto(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, OnnxAttr> = {}): Uint8Array {
  const m = new MessageWriter();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, name).string(4, opType);
  for (const [k, v] of Object.entries(attrs)) m.message(5, attribute(k, v));
  return m.finish();
}

/** TensorProto of int64 values: dims 1, data_type 2 (INT64 = 7), name 8, raw_data 9 (little-endian). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): MessageWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new MessageWriter().packed(1, dims).int(2, 7).string(8, name).bytes(9, raw);
}

/** ValueInfoProto of a tensor: name 1, type 2 -> tensor_type 1 -> elem_type 1, shape 2 -> dim 1 (dim_value 1 | dim_param 2). */
export function tensorValueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): Uint8Array {
  const shape = new MessageWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new MessageWriter().int(1, d) : new MessageWriter().string(2, d));
  const tensorType = new MessageWriter().int(1, elemType).message(2, shape);
  return new MessageWriter().string(1, name).message(2, new MessageWriter().message(1, tensorType)).finish();
}

/** A field key + length prefix for a length-delimited field of `length` bytes (to splice copied ranges after it). */
export function lengthDelimitedHeader(field: number, length: number): Uint8Array {
  return concatBytes([varint(field * 8 + WIRE_LEN), varint(length)]);
}
