/**
 * Splits an ONNX ModelProto held in memory into the parts a rewrite needs: every top-level and
 * graph-level field as a byte span (copied verbatim when the rewrite leaves it alone, so fields
 * this code does not know survive), nodes with their inputs, outputs and scalar attributes, and
 * initializers with their header and where their data lies. Nothing is decoded beyond that.
 */
import { bufferSource, WireReader, WIRE_LEN, WIRE_VARINT } from '../modelSpec/protobufWire';

export interface Span {
  readonly field: number;
  readonly start: number;
  readonly end: number;
}

export interface NodeAttr {
  readonly name: string;
  readonly i?: number;
  readonly f?: number;
  readonly ints?: number[];
  /** true when the attribute holds a graph (If/Loop/Scan bodies) */
  readonly hasGraph: boolean;
}

export interface NodePart extends Span {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attrs: NodeAttr[];
}

export interface InitializerPart extends Span {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  /** raw_data bytes (a view into the model buffer) */
  readonly raw?: Uint8Array;
  /** float_data bytes (packed little-endian floats) when the exporter did not use raw_data */
  readonly floatData?: Uint8Array;
  /** TensorProto.data_location = EXTERNAL: the weights live in another file */
  readonly external: boolean;
}

export interface GraphParts {
  /** every field of the GraphProto in file order; nodes and initializers also listed below */
  readonly fields: Span[];
  readonly nodes: NodePart[];
  readonly initializers: InitializerPart[];
  /** names in graph.input (IR < 4 exports list initializers there too) and graph.output */
  readonly inputNames: string[];
  readonly outputNames: string[];
}

export interface ModelParts {
  readonly bytes: Uint8Array;
  readonly fields: Span[];
  readonly graphField: Span;
  readonly graph: GraphParts;
  readonly opsets: Array<{ domain: string; version: number }>;
}

export function parseModelParts(bytes: Uint8Array): ModelParts {
  const src = bufferSource(bytes);
  const r = WireReader.whole(src);
  const fields: Span[] = [];
  const opsets: Array<{ domain: string; version: number }> = [];
  let graph: GraphParts | undefined;
  let graphField: Span | undefined;
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    if (f.field === 7 && f.wire === WIRE_LEN) graph = parseGraph(r.message(), bytes);
    else if (f.field === 8 && f.wire === WIRE_LEN) opsets.push(parseOpset(r.message()));
    else r.skip(f.wire);
    const span = { field: f.field, start, end: r.pos };
    fields.push(span);
    if (f.field === 7) graphField = span;
  }
  if (!graph || !graphField) throw new Error('no graph in the ModelProto (not an ONNX model?)');
  return { bytes, fields, graphField, graph, opsets };
}

/** The default domain's opset ('' or 'ai.onnx'), or undefined when the model declares none. */
export function defaultOpset(m: ModelParts): number | undefined {
  return m.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
}

function parseGraph(r: WireReader, bytes: Uint8Array): GraphParts {
  const g: { fields: Span[]; nodes: NodePart[]; initializers: InitializerPart[]; inputNames: string[]; outputNames: string[] } = {
    fields: [],
    nodes: [],
    initializers: [],
    inputNames: [],
    outputNames: [],
  };
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) {
      const n = parseNode(r.message());
      g.nodes.push({ ...n, field: 1, start, end: r.pos });
    } else if (f.field === 5 && f.wire === WIRE_LEN) {
      const t = parseTensor(r.message(), bytes);
      g.initializers.push({ ...t, field: 5, start, end: r.pos });
    } else if ((f.field === 11 || f.field === 12) && f.wire === WIRE_LEN) {
      (f.field === 11 ? g.inputNames : g.outputNames).push(valueInfoName(r.message()));
    } else r.skip(f.wire);
    g.fields.push({ field: f.field, start, end: r.pos });
  }
  return g;
}

/** ValueInfoProto.name (1) */
function valueInfoName(r: WireReader): string {
  let name = '';
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) name = r.string();
    else r.skip(f.wire);
  }
  return name;
}

function parseOpset(r: WireReader): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) domain = r.string();
    else if (f.field === 2 && f.wire === WIRE_VARINT) version = r.varint();
    else r.skip(f.wire);
  }
  return { domain, version };
}

function parseNode(r: WireReader): Omit<NodePart, keyof Span> {
  const n = { name: '', opType: '', domain: '', inputs: [] as string[], outputs: [] as string[], attrs: [] as NodeAttr[] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (f.field === 1) n.inputs.push(r.string());
    else if (f.field === 2) n.outputs.push(r.string());
    else if (f.field === 3) n.name = r.string();
    else if (f.field === 4) n.opType = r.string();
    else if (f.field === 5) n.attrs.push(parseAttr(r.message()));
    else if (f.field === 7) n.domain = r.string();
    else r.skip(f.wire);
  }
  return n;
}

/** AttributeProto: name (1), f (2), i (3), g (6), ints (8), graphs (11). */
function parseAttr(r: WireReader): NodeAttr {
  let name = '';
  let i: number | undefined;
  let fl: number | undefined;
  let ints: number[] | undefined;
  let hasGraph = false;
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) name = r.string();
    else if (f.field === 3 && f.wire === WIRE_VARINT) i = r.varint();
    else if (f.field === 2 && f.wire === 5) {
      fl = Buffer.from(r.rawBytes(4)).readFloatLE(0);
    } else if (f.field === 8) r.repeatedVarint(f.wire, (ints ??= []));
    else {
      if (f.field === 6 || f.field === 11) hasGraph = true;
      r.skip(f.wire);
    }
  }
  return { name, hasGraph, ...(i !== undefined ? { i } : {}), ...(fl !== undefined ? { f: fl } : {}), ...(ints ? { ints } : {}) };
}

/** TensorProto: dims (1), data_type (2), float_data (4), name (8), raw_data (9), data_location (14). */
function parseTensor(r: WireReader, bytes: Uint8Array): Omit<InitializerPart, keyof Span> {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let floatData: Uint8Array | undefined;
  const loose: number[] = [];
  let external = false;
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1) r.repeatedVarint(f.wire, dims);
    else if (f.field === 2 && f.wire === WIRE_VARINT) dataType = r.varint();
    else if (f.field === 8 && f.wire === WIRE_LEN) name = r.string();
    else if (f.field === 9 && f.wire === WIRE_LEN) {
      const m = r.message();
      raw = bytes.subarray(m.pos, m.end);
    } else if (f.field === 4 && f.wire === WIRE_LEN) {
      const m = r.message();
      floatData = bytes.subarray(m.pos, m.end);
    } else if (f.field === 4 && f.wire === 5) {
      loose.push(Buffer.from(r.rawBytes(4)).readFloatLE(0));
    } else if (f.field === 14 && f.wire === WIRE_VARINT) external = r.varint() === 1;
    else r.skip(f.wire);
  }
  if (loose.length) floatData = new Uint8Array(Float32Array.from(loose).buffer);
  return { name, dims, dataType, external, ...(raw ? { raw } : {}), ...(floatData ? { floatData } : {}) };
}

/** An fp32 initializer's values (copied, so alignment never matters). */
export function floatValues(t: InitializerPart): Float32Array {
  const b = t.raw ?? t.floatData;
  const count = t.dims.reduce((a, d) => a * d, 1);
  if (!b || b.length !== count * 4) throw new Error(`initializer ${t.name} holds ${b?.length ?? 0} bytes, expected ${count * 4} for dims [${t.dims.join(', ')}]`);
  const copy = new Uint8Array(b);
  return new Float32Array(copy.buffer, 0, count);
}
