/**
 * The one reader of ONNX models in src: a ModelProto walked down to its graph's nodes (with their
 * scalar and int-list attributes), initializers (headers, and where their data lies), inputs,
 * outputs and value_info (with tensor types), each with the byte span of its field in the source,
 * so a rewrite can copy what it leaves alone verbatim (fields this code does not know included).
 * The spec (modelSpec/onnxGraph.ts), the quantizer (quantize/) and the yes/no rewrite
 * (graphRewrite/) all read through it; field numbers are in onnxFields.ts.
 *
 * Weights are never read: raw_data and packed float_data are kept as ranges of the source and
 * skipped by length, so a model of hundreds of MB read through fileSource costs only the pages
 * that hold its graph (tensorData.ts turns the ranges into bytes where a caller needs them).
 */
import { ATTRIBUTE, DATA_LOCATION, DIMENSION, ENTRY, GRAPH, MODEL, NODE, OPSET, SHAPE, SPARSE_TENSOR, TENSOR, TENSOR_TYPE, TYPE, VALUE_INFO } from './onnxFields';
import { WireReader, WIRE_I32, WIRE_LEN, WIRE_VARINT, type ByteSource } from './wireReader';

export interface Range {
  readonly start: number;
  readonly end: number;
}

/** One field of a message as it stands in the source, tag included: [start, end) copies it. */
export interface Span extends Range {
  readonly field: number;
}

export interface Opset {
  readonly domain: string;
  readonly version: number;
}

export interface OnnxAttribute {
  readonly name: string;
  readonly i?: number;
  readonly f?: number;
  readonly ints?: number[];
  /** true when the attribute holds a graph (If/Loop/Scan bodies) */
  readonly hasGraph: boolean;
  /** that graph (`g`), parsed only when readModel was asked for subgraphs */
  readonly graph?: OnnxGraph;
}

export interface OnnxNode extends Span {
  /** position among its graph's nodes */
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: OnnxAttribute[];
}

export interface OnnxTensor extends Span {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  /** raw_data's bytes in the source */
  readonly raw?: Range;
  /** float_data's bytes in the source, packed (little-endian floats) */
  readonly floatData?: Range;
  /** float_data written unpacked, one field a value (read: each is 4 bytes) */
  readonly looseFloats?: number[];
  /** data_location = EXTERNAL: the weights live in another file */
  readonly external: boolean;
  /** external_data entries (location, offset, length, checksum), in file order */
  readonly externalData: Array<{ readonly key: string; readonly value: string }>;
}

export interface OnnxSparseTensor extends Span {
  /** the values tensor, which carries the name */
  readonly values?: OnnxTensor;
  readonly dims: number[];
}

/** What a TypeProto says: a tensor's element type (undefined when absent) and dims, or only the kind of value. */
export type ValueKind = 'tensor' | 'sequence' | 'map' | 'sparse_tensor' | 'optional' | 'unknown';

export interface OnnxValueInfo extends Span {
  readonly name: string;
  readonly kind: ValueKind;
  readonly elemType?: number;
  /** dim_value (number), dim_param (string) or '?' (neither) */
  readonly dims: Array<number | string>;
}

export interface OnnxGraph {
  /** every field of the GraphProto in file order; nodes, initializers and value infos are also listed below */
  readonly fields: Span[];
  readonly nodes: OnnxNode[];
  readonly initializers: OnnxTensor[];
  readonly sparseInitializers: OnnxSparseTensor[];
  /** graph.input (exports before IR v4 list initializers there too) */
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  readonly valueInfos: OnnxValueInfo[];
}

export interface OnnxModel {
  /** every top-level field in file order; graphField is one of them */
  readonly fields: Span[];
  readonly graphField: Span;
  readonly graph: OnnxGraph;
  readonly opsets: Opset[];
  readonly producerName: string;
  readonly producerVersion: string;
}

export interface ReadOptions {
  /** Also parse graph attributes (an If's branches); by default they are only noted (hasGraph). */
  readonly subgraphs?: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function readModel(src: ByteSource, opts: ReadOptions = {}): OnnxModel {
  const r = WireReader.whole(src);
  const fields: Span[] = [];
  const opsets: Opset[] = [];
  let producerName = '';
  let producerVersion = '';
  let graph: { field: Span; graph: OnnxGraph } | undefined;
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    let g: OnnxGraph | undefined;
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (f.field === MODEL.producerName) producerName = r.string();
    else if (f.field === MODEL.producerVersion) producerVersion = r.string();
    else if (f.field === MODEL.graph) g = readGraph(r.message(), opts);
    else if (f.field === MODEL.opsetImport) opsets.push(readOpset(r.message()));
    else r.skip(f.wire);
    const span = { field: f.field, start, end: r.pos };
    fields.push(span);
    if (g) graph = { field: span, graph: g };
  }
  if (!graph) throw new Error('no graph in the ModelProto (not an ONNX model?)');
  return { fields, graphField: graph.field, graph: graph.graph, opsets, producerName, producerVersion };
}

/** The default domain's opset ('' or 'ai.onnx'; other domains are contrib ops), or undefined when none is declared. */
export function defaultOpset(opsets: readonly Opset[]): number | undefined {
  return opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
}

/** A node's attribute by name. */
export function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}

// Each reader below is handed its message and the span of the field that holds it (the parent's
// cursor is already past the message when its reading starts).

function readGraph(r: WireReader, opts: ReadOptions): OnnxGraph {
  const g: OnnxGraph = { fields: [], nodes: [], initializers: [], sparseInitializers: [], inputs: [], outputs: [], valueInfos: [] };
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    const field = f.field;
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (field === GRAPH.node) g.nodes.push(readNode(r.message(), { field, start, end: r.pos }, g.nodes.length, opts));
    else if (field === GRAPH.initializer) g.initializers.push(readTensor(r.message(), { field, start, end: r.pos }));
    else if (field === GRAPH.input) g.inputs.push(readValueInfo(r.message(), { field, start, end: r.pos }));
    else if (field === GRAPH.output) g.outputs.push(readValueInfo(r.message(), { field, start, end: r.pos }));
    else if (field === GRAPH.valueInfo) g.valueInfos.push(readValueInfo(r.message(), { field, start, end: r.pos }));
    else if (field === GRAPH.sparseInitializer) g.sparseInitializers.push(readSparseTensor(r.message(), { field, start, end: r.pos }));
    else r.skip(f.wire);
    g.fields.push({ field, start, end: r.pos });
  }
  return g;
}

function readOpset(r: WireReader): Opset {
  let domain = '';
  let version = 0;
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === OPSET.domain && f.wire === WIRE_LEN) domain = r.string();
    else if (f.field === OPSET.version && f.wire === WIRE_VARINT) version = r.varint();
    else r.skip(f.wire);
  }
  return { domain, version };
}

function readNode(r: WireReader, span: Span, index: number, opts: ReadOptions): OnnxNode {
  const n = { field: span.field, start: span.start, end: span.end, index, name: '', opType: '', domain: '', inputs: [] as string[], outputs: [] as string[], attributes: [] as OnnxAttribute[] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (f.field === NODE.input) n.inputs.push(r.string());
    else if (f.field === NODE.output) n.outputs.push(r.string());
    else if (f.field === NODE.name) n.name = r.string();
    else if (f.field === NODE.opType) n.opType = r.string();
    else if (f.field === NODE.attribute) n.attributes.push(readAttribute(r.message(), opts));
    else if (f.field === NODE.domain) n.domain = r.string();
    else r.skip(f.wire);
  }
  return n;
}

/** name, i, f, ints and whether it holds graphs; strings, tensors and floats are skipped. */
function readAttribute(r: WireReader, opts: ReadOptions): OnnxAttribute {
  const a: Mutable<OnnxAttribute> = { name: '', hasGraph: false };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === ATTRIBUTE.name && f.wire === WIRE_LEN) a.name = r.string();
    else if (f.field === ATTRIBUTE.i && f.wire === WIRE_VARINT) a.i = r.varint();
    else if (f.field === ATTRIBUTE.f && f.wire === WIRE_I32) a.f = r.float32();
    else if (f.field === ATTRIBUTE.ints) r.repeatedVarint(f.wire, (a.ints ??= []));
    else if (f.field === ATTRIBUTE.g && f.wire === WIRE_LEN && opts.subgraphs) {
      a.hasGraph = true;
      a.graph = readGraph(r.message(), opts);
    } else {
      if (f.field === ATTRIBUTE.g || f.field === ATTRIBUTE.graphs) a.hasGraph = true;
      r.skip(f.wire);
    }
  }
  return a;
}

/** Header and where the data lies; raw_data and packed float_data are skipped by length, never read. */
function readTensor(r: WireReader, span: Span): OnnxTensor {
  const t: Mutable<OnnxTensor> = { field: span.field, start: span.start, end: span.end, name: '', dims: [], dataType: 0, external: false, externalData: [] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === TENSOR.dims) r.repeatedVarint(f.wire, t.dims);
    else if (f.field === TENSOR.dataType && f.wire === WIRE_VARINT) t.dataType = r.varint();
    else if (f.field === TENSOR.name && f.wire === WIRE_LEN) t.name = r.string();
    else if (f.field === TENSOR.rawData && f.wire === WIRE_LEN) t.raw = r.range();
    else if (f.field === TENSOR.floatData && f.wire === WIRE_LEN) t.floatData = r.range();
    else if (f.field === TENSOR.floatData && f.wire === WIRE_I32) (t.looseFloats ??= []).push(r.float32());
    else if (f.field === TENSOR.externalData && f.wire === WIRE_LEN) t.externalData.push(readEntry(r.message()));
    else if (f.field === TENSOR.dataLocation && f.wire === WIRE_VARINT) t.external = r.varint() === DATA_LOCATION.EXTERNAL;
    else r.skip(f.wire);
  }
  return t;
}

function readSparseTensor(r: WireReader, span: Span): OnnxSparseTensor {
  let values: OnnxTensor | undefined;
  const dims: number[] = [];
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    if (f.field === SPARSE_TENSOR.values && f.wire === WIRE_LEN) values = readTensor(r.message(), { field: f.field, start, end: r.pos });
    else if (f.field === SPARSE_TENSOR.dims) r.repeatedVarint(f.wire, dims);
    else r.skip(f.wire);
  }
  return { field: span.field, start: span.start, end: span.end, dims, ...(values ? { values } : {}) };
}

function readEntry(r: WireReader): { key: string; value: string } {
  let key = '';
  let value = '';
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === ENTRY.key && f.wire === WIRE_LEN) key = r.string();
    else if (f.field === ENTRY.value && f.wire === WIRE_LEN) value = r.string();
    else r.skip(f.wire);
  }
  return { key, value };
}

type TypeFields = Pick<OnnxValueInfo, 'kind' | 'elemType' | 'dims'>;

const OTHER_KINDS: Readonly<Record<number, ValueKind>> = {
  [TYPE.sequenceType]: 'sequence',
  [TYPE.mapType]: 'map',
  [TYPE.sparseTensorType]: 'sparse_tensor',
  [TYPE.optionalType]: 'optional',
};

function readValueInfo(r: WireReader, span: Span): OnnxValueInfo {
  const v: Mutable<OnnxValueInfo> = { field: span.field, start: span.start, end: span.end, name: '', kind: 'unknown', dims: [] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === VALUE_INFO.name && f.wire === WIRE_LEN) v.name = r.string();
    else if (f.field === VALUE_INFO.type && f.wire === WIRE_LEN) {
      const type = readType(r.message());
      v.kind = type.kind;
      v.dims = type.dims;
      if (type.elemType !== undefined) v.elemType = type.elemType;
      else if (v.elemType !== undefined) delete v.elemType;
    } else r.skip(f.wire);
  }
  return v;
}

/** TypeProto is a oneof: the last kind present wins; only a tensor type has an element type and dims. */
function readType(r: WireReader): TypeFields {
  let out: TypeFields = { kind: 'unknown', dims: [] };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === TYPE.tensorType && f.wire === WIRE_LEN) out = readTensorType(r.message());
    else {
      const kind = OTHER_KINDS[f.field];
      if (kind) out = { kind, dims: [] };
      r.skip(f.wire);
    }
  }
  return out;
}

function readTensorType(r: WireReader): TypeFields {
  let elemType: number | undefined;
  const dims: Array<number | string> = [];
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === TENSOR_TYPE.elemType && f.wire === WIRE_VARINT) elemType = r.varint();
    else if (f.field === TENSOR_TYPE.shape && f.wire === WIRE_LEN) {
      const shape = r.message();
      for (let d = shape.nextField(); d; d = shape.nextField()) {
        if (d.field === SHAPE.dim && d.wire === WIRE_LEN) dims.push(readDim(shape.message()));
        else shape.skip(d.wire);
      }
    } else r.skip(f.wire);
  }
  return elemType !== undefined ? { kind: 'tensor', elemType, dims } : { kind: 'tensor', dims };
}

function readDim(r: WireReader): number | string {
  let dim: number | string = '?';
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === DIMENSION.dimValue && f.wire === WIRE_VARINT) dim = r.varint();
    else if (f.field === DIMENSION.dimParam && f.wire === WIRE_LEN) dim = r.string();
    else r.skip(f.wire);
  }
  return dim;
}
