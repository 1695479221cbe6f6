/**
 * Where each part of an ONNX ModelProto sits in the file: byte ranges of the top-level and graph
 * fields, plus the parsed headers a rewrite needs (nodes with their attributes, initializer names,
 * dims and external data files, graph inputs/outputs with element types). Weights are skipped, not
 * read, so a multi-GB model costs a few MB of reads.
 */
import { readTensorType } from '../modelSpec/onnxGraph';
import { WireReader, WIRE_LEN, type ByteSource } from '../modelSpec/protobufWire';

export interface Range {
  readonly start: number;
  readonly end: number;
}

export interface NodeInfo {
  readonly index: number;
  readonly range: Range;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: string[];
  readonly outputs: string[];
  /** int and ints attributes only (perm, axis, transB, to, ...) */
  readonly ints: Map<string, number[]>;
  /** Graph attributes (an If's then_branch / else_branch), with file-absolute ranges. */
  readonly graphs: Map<string, GraphParts>;
}

export interface TensorHeader {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  /** external_data 'location' entries (relative file names) */
  readonly locations: string[];
  /** Where the tensor's bytes are: raw_data inside the model file, or a range of an external file. */
  readonly data?: { readonly kind: 'raw'; readonly offset: number; readonly length: number } | { readonly kind: 'external'; readonly location: string; readonly offset: number; readonly length?: number };
}

export interface ValueInfo {
  readonly range: Range;
  readonly name: string;
  readonly elemType: number;
  readonly dims: Array<number | string>;
}

export interface GraphField {
  readonly field: number;
  readonly range: Range;
}

export interface ModelLayout {
  /** Top-level fields in file order; the graph is field 7. */
  readonly fields: GraphField[];
  readonly graphContent: Range;
  /** Graph fields in file order (nodes 1, initializers 5, inputs 11, outputs 12, value_info 13, ...). */
  readonly graphFields: GraphField[];
  readonly nodes: NodeInfo[];
  readonly initializers: Map<string, TensorHeader>;
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly valueInfos: ValueInfo[];
  /** Default-domain opset version. */
  readonly opset: number;
}

export function readLayout(src: ByteSource): ModelLayout {
  const r = WireReader.whole(src);
  const fields: GraphField[] = [];
  let graph: { content: Range; parts: GraphParts } | undefined;
  let opset = 0;
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    if (f.field === 7 && f.wire === WIRE_LEN) {
      const m = r.message();
      graph = { content: { start: m.pos, end: m.end }, parts: readGraph(m) };
    } else if (f.field === 8 && f.wire === WIRE_LEN) {
      const m = r.message();
      let domain = '';
      let version = 0;
      for (let g = m.nextField(); g; g = m.nextField()) {
        if (g.field === 1 && g.wire === WIRE_LEN) domain = m.string();
        else if (g.field === 2 && g.wire !== WIRE_LEN) version = m.varint();
        else m.skip(g.wire);
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    } else r.skip(f.wire);
    fields.push({ field: f.field, range: { start, end: r.pos } });
  }
  if (!graph) throw new Error('no graph in the ModelProto');
  return { fields, graphContent: graph.content, ...graph.parts, opset };
}

export type GraphParts = Omit<ModelLayout, 'fields' | 'graphContent' | 'opset'>;

function readGraph(r: WireReader): GraphParts {
  const p: GraphParts = { graphFields: [], nodes: [], initializers: new Map(), inputs: [], outputs: [], valueInfos: [] };
  for (let start = r.pos, f = r.nextField(); f; start = r.pos, f = r.nextField()) {
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (f.field === 1) p.nodes.push(readNode(r.message(), p.nodes.length, start));
    else if (f.field === 5) {
      const t = readTensorHeader(r.message());
      p.initializers.set(t.name, t);
    } else if (f.field === 11 || f.field === 12 || f.field === 13) {
      const v = readValueInfo(r.message(), start);
      (f.field === 11 ? p.inputs : f.field === 12 ? p.outputs : p.valueInfos).push(v);
    } else r.skip(f.wire);
    const range = { start, end: r.pos };
    p.graphFields.push({ field: f.field, range });
    if (f.field === 1) (p.nodes[p.nodes.length - 1] as { range: Range }).range = range;
    if (f.field === 11 || f.field === 12 || f.field === 13) {
      const list = f.field === 11 ? p.inputs : f.field === 12 ? p.outputs : p.valueInfos;
      (list[list.length - 1] as { range: Range }).range = range;
    }
  }
  return p;
}

function readNode(r: WireReader, index: number, start: number): NodeInfo {
  const node: NodeInfo = { index, range: { start, end: start }, opType: '', domain: '', inputs: [], outputs: [], ints: new Map(), graphs: new Map() };
  const n = node as { opType: string; domain: string };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.wire !== WIRE_LEN) r.skip(f.wire);
    else if (f.field === 1) node.inputs.push(r.string());
    else if (f.field === 2) node.outputs.push(r.string());
    else if (f.field === 4) n.opType = r.string();
    else if (f.field === 7) n.domain = r.string();
    else if (f.field === 5) {
      const a = r.message();
      let name = '';
      const values: number[] = [];
      let graph: GraphParts | undefined;
      for (let g = a.nextField(); g; g = a.nextField()) {
        if (g.field === 1 && g.wire === WIRE_LEN) name = a.string();
        else if (g.field === 3 && g.wire !== WIRE_LEN) values.push(a.varint());
        else if (g.field === 8) a.repeatedVarint(g.wire, values);
        else if (g.field === 6 && g.wire === WIRE_LEN) graph = readGraph(a.message());
        else a.skip(g.wire);
      }
      if (graph) node.graphs.set(name, graph);
      else node.ints.set(name, values);
    } else r.skip(f.wire);
  }
  return node;
}

function readTensorHeader(r: WireReader): TensorHeader {
  const t: { -readonly [K in keyof TensorHeader]: TensorHeader[K] } = { name: '', dims: [], dataType: 0, locations: [] };
  const ext: Record<string, string> = {};
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 9 && f.wire === WIRE_LEN) {
      const m = r.message(); // raw_data: only its position is kept
      t.data = { kind: 'raw', offset: m.pos, length: m.end - m.pos };
    } else if (f.field === 1) r.repeatedVarint(f.wire, t.dims);
    else if (f.field === 2 && f.wire !== WIRE_LEN) t.dataType = r.varint();
    else if (f.field === 8 && f.wire === WIRE_LEN) t.name = r.string();
    else if (f.field === 13 && f.wire === WIRE_LEN) {
      const e = r.message();
      let key = '';
      let value = '';
      for (let g = e.nextField(); g; g = e.nextField()) {
        if (g.field === 1 && g.wire === WIRE_LEN) key = e.string();
        else if (g.field === 2 && g.wire === WIRE_LEN) value = e.string();
        else e.skip(g.wire);
      }
      if (key === 'location') t.locations.push(value);
      ext[key] = value;
    } else r.skip(f.wire);
  }
  if (ext.location !== undefined) {
    t.data = { kind: 'external', location: ext.location, offset: Number(ext.offset ?? 0), ...(ext.length !== undefined ? { length: Number(ext.length) } : {}) };
  }
  return t;
}

function readValueInfo(r: WireReader, start: number): ValueInfo {
  const v = { range: { start, end: start }, name: '', elemType: 0, dims: [] as Array<number | string> };
  for (let f = r.nextField(); f; f = r.nextField()) {
    if (f.field === 1 && f.wire === WIRE_LEN) v.name = r.string();
    else if (f.field === 2 && f.wire === WIRE_LEN) {
      // TypeProto: only its tensor type (field 1) carries an element type and dims.
      const type = r.message();
      for (let g = type.nextField(); g; g = type.nextField()) {
        if (g.field !== 1 || g.wire !== WIRE_LEN) {
          type.skip(g.wire);
          continue;
        }
        const t = readTensorType(type.message());
        if (t.elemType !== undefined) v.elemType = t.elemType;
        v.dims.push(...t.dims);
      }
    } else r.skip(f.wire);
  }
  return v;
}
