// A thin layer over onnx-proto so the model files read like the network they describe.
import { onnx } from 'onnx-proto';

export const DataType = onnx.TensorProto.DataType;
type Dim = number | string;
type AttrValue = number | number[] | string | { int: number } | { ints: number[] };

export interface ModelMeta {
  producerName: string;
  producerVersion: string;
  docString?: string;
  opset: number;
  metadata?: Record<string, string>;
}

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.FLOATS, floats: value };
  if (typeof value === 'number') return { name, type: T.FLOAT, f: value };
  if ('int' in value) return { name, type: T.INT, i: value.int };
  return { name, type: T.INTS, ints: value.ints };
}

function bytesOf(data: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  // ONNX raw_data is little-endian; so is every platform Node runs on here.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

/**
 * Collects nodes, initializers, inputs and outputs. Names of intermediate values are generated
 * from a counter, so the same sequence of calls always yields the same bytes.
 */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(private readonly name: string) {}

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a weight tensor; the name is kept as given (it shows in netron and error messages). */
  initializer(name: string, dims: number[], data: Float32Array | BigInt64Array | Uint8Array, dataType?: number): string {
    const type = dataType ?? (data instanceof Float32Array ? DataType.FLOAT : data instanceof BigInt64Array ? DataType.INT64 : DataType.UINT8);
    this.initializers.push({ name, dims, dataType: type, rawData: bytesOf(data) });
    return name;
  }

  /** A small constant, shared when asked for twice. */
  constInt64(values: number[], scalar = false): string {
    const key = `i64:${scalar ? 's' : 'v'}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = `const_${this.constCache.size}_i64`;
    this.initializer(name, scalar ? [] : [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
    this.constCache.set(key, name);
    return name;
  }

  constFloat(value: number): string {
    const key = `f32:${value}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = `const_${this.constCache.size}_f32`;
    this.initializer(name, [], Float32Array.of(value));
    this.constCache.set(key, name);
    return name;
  }

  /** Adds one node and returns the name of its (first) output. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputName?: string): string {
    const out = outputName ?? `${opType.toLowerCase()}_${this.counter}`;
    this.nodes.push({
      name: `${opType}_${this.counter++}`,
      opType,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Serializes a complete ModelProto. */
  encode(meta: ModelMeta): Uint8Array {
    return onnx.ModelProto.encode(this.model(meta)).finish();
  }

  /** The ModelProto as an object (for callers that move weights to external data first). */
  model(meta: ModelMeta): onnx.IModelProto {
    return {
      // IR 8 is what opset 17 requires (onnx 1.12+).
      irVersion: 8,
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      docString: meta.docString ?? '',
      opsetImport: [{ domain: '', version: meta.opset }],
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }
}
