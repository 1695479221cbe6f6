/**
 * The ONNX model reader (src/onnxproto/onnxRead.ts) against models encoded by onnx-proto (the
 * reference encoder): nodes and their attributes, If branches only when asked, initializers and
 * where their data lies (raw_data, packed and unpacked float_data, external files), sparse
 * initializers, value types; that every span it reports decodes back to the same message; and that
 * weights are skipped by length, never read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { attribute, defaultOpset, readModel, type OnnxGraph } from '../../src/onnxproto/onnxRead';
import { externalLocations, floatValues, tensorData } from '../../src/onnxproto/tensorData';
import { bufferSource, type ByteSource } from '../../src/onnxproto/wireReader';
import { WireWriter } from '../../src/onnxproto/wireWriter';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const T = onnx.AttributeProto.AttributeType;

const tensorType = (elemType: number, dims: Array<number | string | null>): onnx.ITypeProto => ({
  tensorType: { elemType, shape: { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
});

const W = Float32Array.from([0.5, -1.25, 3, 1e-3, 7, -8]);
const RAW = new Uint8Array(W.buffer);

function model(bigRawBytes = 0): Uint8Array {
  const branch = (name: string): onnx.IGraphProto => ({
    name,
    node: [{ opType: 'Identity', name: `${name}_id`, input: ['x'], output: [`${name}_y`] }],
    initializer: [{ name: `${name}_w`, dims: [1], dataType: FLOAT, rawData: new Uint8Array(4) }],
    output: [{ name: `${name}_y`, type: tensorType(FLOAT, ['batch']) }],
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'unit',
    producerVersion: '2.0',
    docString: 'a field the reader does not know',
    opsetImport: [{ domain: 'com.microsoft', version: 1 }, { domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [
        {
          opType: 'Gemm', name: 'gemm', input: ['x', 'w_raw', 'b'], output: ['h'],
          attribute: [
            { name: 'transB', type: T.INT, i: 1 },
            { name: 'alpha', type: T.FLOAT, f: 0.5 },
            { name: 'perm', type: T.INTS, ints: [1, 0, 2] },
            { name: 'note', type: T.STRING, s: new TextEncoder().encode('skipped') },
          ],
        },
        { opType: 'If', name: 'if', domain: '', input: ['cond'], output: ['y'], attribute: [{ name: 'then_branch', type: T.GRAPH, g: branch('then') }, { name: 'else_branch', type: T.GRAPH, g: branch('else') }] },
        { opType: 'Custom', name: 'custom', domain: 'com.example', input: ['y'], output: ['z'] },
      ],
      initializer: [
        { name: 'w_raw', dims: [2, 3], dataType: FLOAT, rawData: RAW },
        { name: 'b', dims: [6], dataType: FLOAT, floatData: Array.from(W) },
        {
          name: 'w_ext', dims: [1024, 8], dataType: FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '4096' }, { key: 'length', value: '32768' }],
        },
        ...(bigRawBytes ? [{ name: 'big', dims: [bigRawBytes / 4], dataType: FLOAT, rawData: new Uint8Array(bigRawBytes) }] : []),
      ],
      sparseInitializer: [{ values: { name: 'sparse', dims: [2], dataType: INT64, int64Data: [3, 4] }, indices: { dims: [2], dataType: INT64, int64Data: [0, 5] }, dims: [2, 3] }],
      input: [{ name: 'x', type: tensorType(FLOAT, ['batch', 3]) }, { name: 'cond', type: tensorType(onnx.TensorProto.DataType.BOOL, [1]) }, { name: 'w_raw', type: tensorType(FLOAT, [2, 3]) }],
      output: [{ name: 'z', type: tensorType(FLOAT, ['batch', null, 4]) }, { name: 'seq', type: { sequenceType: { elemType: tensorType(FLOAT, []) } } }],
      valueInfo: [{ name: 'h', type: tensorType(FLOAT, ['batch', 2]) }, { name: 'untyped' }],
    },
  }).finish();
}

/** Every field's span, decoded alone as its parent message, gives back that one element. */
function assertSpansDecode(bytes: Uint8Array, g: OnnxGraph): void {
  for (const n of g.nodes) assert.equal(onnx.GraphProto.decode(bytes.subarray(n.start, n.end)).node[0]!.name, n.name);
  for (const t of g.initializers) assert.equal(onnx.GraphProto.decode(bytes.subarray(t.start, t.end)).initializer[0]!.name, t.name);
  for (const v of g.outputs) assert.equal(onnx.GraphProto.decode(bytes.subarray(v.start, v.end)).output[0]!.name, v.name);
}

test('a model read field by field: opsets, producer, nodes, attributes, value types', () => {
  const bytes = model();
  const m = readModel(bufferSource(bytes));
  assert.equal(`${m.producerName} ${m.producerVersion}`, 'unit 2.0');
  assert.equal(defaultOpset(m.opsets), 17);
  assert.deepEqual(m.graph.nodes.map((n) => [n.index, n.opType, n.domain, n.inputs, n.outputs]), [
    [0, 'Gemm', '', ['x', 'w_raw', 'b'], ['h']],
    [1, 'If', '', ['cond'], ['y']],
    [2, 'Custom', 'com.example', ['y'], ['z']],
  ]);
  const gemm = m.graph.nodes[0]!;
  assert.equal(attribute(gemm, 'transB')?.i, 1);
  assert.equal(attribute(gemm, 'alpha')?.f, 0.5);
  assert.deepEqual(attribute(gemm, 'perm')?.ints, [1, 0, 2]);
  assert.deepEqual(attribute(gemm, 'note'), { name: 'note', hasGraph: false });
  assert.deepEqual(m.graph.inputs.map((v) => [v.name, v.kind, v.elemType, v.dims]), [
    ['x', 'tensor', FLOAT, ['batch', 3]],
    ['cond', 'tensor', onnx.TensorProto.DataType.BOOL, [1]],
    ['w_raw', 'tensor', FLOAT, [2, 3]],
  ]);
  assert.deepEqual(m.graph.outputs.map((v) => [v.name, v.kind, v.dims]), [['z', 'tensor', ['batch', '?', 4]], ['seq', 'sequence', []]]);
  assert.deepEqual(m.graph.valueInfos.map((v) => [v.name, v.kind, v.elemType]), [['h', 'tensor', FLOAT], ['untyped', 'unknown', undefined]]);
  assert.deepEqual(m.graph.sparseInitializers.map((s) => [s.values?.name, s.values?.dataType, s.dims]), [['sparse', INT64, [2, 3]]]);
});

test('spans cover the file in order and each decodes back to its message; the graph field is one of them', () => {
  const bytes = model();
  const m = readModel(bufferSource(bytes));
  let at = 0;
  for (const f of m.fields) {
    assert.equal(f.start, at);
    at = f.end;
  }
  assert.equal(at, bytes.length);
  assert.ok(m.fields.includes(m.graphField));
  assert.equal(onnx.ModelProto.decode(bytes.subarray(m.graphField.start, m.graphField.end)).graph?.name, 'g');
  // graph fields run back to back from the first to the last, every node/initializer/value among them
  const gf = m.graph.fields;
  for (let i = 1; i < gf.length; i++) assert.equal(gf[i]!.start, gf[i - 1]!.end);
  assert.equal(gf.at(-1)!.end, m.graphField.end);
  const starts = new Set(gf.map((f) => f.start));
  for (const x of [...m.graph.nodes, ...m.graph.initializers, ...m.graph.inputs, ...m.graph.outputs, ...m.graph.valueInfos]) assert.ok(starts.has(x.start));
  assertSpansDecode(bytes, m.graph);
});

test('If branches: noted by default, parsed (with file-absolute spans) when asked', () => {
  const bytes = model();
  const plain = readModel(bufferSource(bytes)).graph.nodes[1]!;
  assert.deepEqual(plain.attributes.map((a) => [a.name, a.hasGraph, a.graph]), [['then_branch', true, undefined], ['else_branch', true, undefined]]);
  const deep = readModel(bufferSource(bytes), { subgraphs: true }).graph.nodes[1]!;
  const branch = attribute(deep, 'else_branch')?.graph;
  assert.ok(branch);
  assert.deepEqual(branch.nodes.map((n) => n.name), ['else_id']);
  assert.deepEqual(branch.initializers.map((t) => t.name), ['else_w']);
  assert.deepEqual(branch.outputs.map((v) => v.name), ['else_y']);
  assertSpansDecode(bytes, branch);
});

test('where initializer data lies: raw_data, packed and unpacked float_data, an external file', () => {
  const bytes = model();
  const m = readModel(bufferSource(bytes));
  const [raw, packed, ext] = m.graph.initializers;
  assert.ok(raw && packed && ext);
  assert.deepEqual([raw.dims, raw.dataType, raw.external], [[2, 3], FLOAT, false]);
  assert.deepEqual(new Uint8Array(bytes.subarray(raw.raw!.start, raw.raw!.end)), RAW);
  assert.deepEqual(tensorData(raw), { kind: 'raw', offset: raw.raw!.start, length: RAW.length });
  assert.deepEqual(floatValues(bytes, raw), W);
  assert.equal(packed.raw, undefined);
  assert.deepEqual(floatValues(bytes, packed), W);
  assert.equal(tensorData(packed), undefined);
  assert.equal(ext.external, true);
  assert.deepEqual(externalLocations(ext), ['weights.bin']);
  assert.deepEqual(tensorData(ext), { kind: 'external', location: 'weights.bin', offset: 4096, length: 32768 });
  assert.throws(() => floatValues(bytes, ext), /w_ext holds 0 bytes, expected 32768/);

  // float_data written one field a value (legal protobuf, not what onnx writes); TensorProto dims 1,
  // data_type 2, float_data 4, name 8; GraphProto initializer 5; ModelProto ir_version 1, graph 7
  const loose = new WireWriter().packedInt64Field(1, [3]).varintField(2, FLOAT).stringField(8, 'loose');
  for (const x of [1.5, -2, 0.25]) loose.floatField(4, x);
  const graph = new WireWriter().messageField(5, loose);
  const tiny = new WireWriter().varintField(1, 8).messageField(7, graph).finish();
  const t = readModel(bufferSource(tiny)).graph.initializers[0]!;
  assert.deepEqual(t.looseFloats, [1.5, -2, 0.25]);
  assert.deepEqual(floatValues(tiny, t), Float32Array.from([1.5, -2, 0.25]));
});

test('weights are skipped by length: reading a model with 4 MB of raw_data touches a few kB', () => {
  const bytes = model(4 << 20);
  let touched = 0;
  const inner = bufferSource(bytes);
  const counting: ByteSource = {
    size: inner.size,
    byteAt: (pos) => (touched++, inner.byteAt(pos)),
    slice: (start, end) => ((touched += end - start), inner.slice(start, end)),
  };
  const m = readModel(counting, { subgraphs: true });
  const big = m.graph.initializers.find((t) => t.name === 'big')!;
  assert.equal(big.raw!.end - big.raw!.start, 4 << 20);
  assert.ok(touched < 4096, `read ${touched} of ${bytes.length} bytes`);
});

test('a ModelProto without a graph is refused', () => {
  const noGraph = onnx.ModelProto.encode({ irVersion: 8, producerName: 'x' }).finish();
  assert.throws(() => readModel(bufferSource(noGraph)), /no graph in the ModelProto/);
  assert.throws(() => readModel(bufferSource(Uint8Array.from([0x3a, 0x10, 1]))), RangeError);
});
