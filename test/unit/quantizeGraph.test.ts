/**
 * The int8 rewrite on the protobuf (src/quantize/quantizeGraph.ts), read back by onnx-proto (an
 * independent decoder): which nodes change, what the new weights hold, what is kept byte for byte,
 * and the graphs it refuses. That onnxruntime runs the result is test/model/quantize.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { DataType, GraphBuilder } from '../../scripts/onnx/graphBuilder';
import { QUANT_METADATA_KEY, quantizeModel } from '../../src/quantize/quantizeGraph';
import { quantizePerColumn, maxRoundingError } from '../../src/quantize/quantizeWeights';

function seq(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

/** x[?, 4] -> MatMul(W1 [4, 16]) -> Gemm(W2 [8, 16] transB, bias) -> MatMul(head [8, 1]) */
function smallModel(opts: { opset?: number; extraOp?: { opType: string } } = {}): Uint8Array {
  const g = new GraphBuilder('g');
  const x = g.input('x', DataType.FLOAT, ['batch', 4]);
  const w1 = g.initializer('w1', [4, 16], seq(64, (i) => Math.sin(i) * (1 + (i % 16))));
  const h = g.op('MatMul', [x, w1]);
  const w2 = g.initializer('w2', [8, 16], seq(128, (i) => Math.cos(i)));
  const b2 = g.initializer('b2', [8], seq(8, (i) => i / 10));
  const h2 = g.op('Gemm', [h, w2, b2], { transB: { int: 1 } });
  const head = g.initializer('head', [8, 1], seq(8, (i) => i - 4));
  let y = g.op('MatMul', [h2, head], {}, 'logits');
  if (opts.extraOp) y = g.op(opts.extraOp.opType, [y]);
  g.output(y, DataType.FLOAT, ['batch', 1]);
  return g.encode({ producerName: 'test', producerVersion: '1', opset: opts.opset ?? 17, docString: 'keep me', metadata: { origin: 'unit test' } });
}

test('MatMul and Gemm weights become int8 per column; the head and everything else stay', () => {
  const { bytes, summary } = quantizeModel(smallModel());
  assert.deepEqual(summary.quantized.map((q) => [q.opType, q.weight, q.k, q.n]), [['MatMul', 'w1', 4, 16], ['Gemm', 'w2', 16, 8]]);
  assert.deepEqual(summary.skipped.map((s) => s.reason), ['only 1 output columns (a classifier head stays fp32)']);
  const m = onnx.ModelProto.decode(bytes);
  assert.equal(m.docString, 'keep me');
  assert.equal(m.producerName, 'test');
  const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(meta.origin, 'unit test');
  assert.equal(JSON.parse(meta[QUANT_METADATA_KEY]!).ops, 'standard');
  const ops = m.graph!.node!.map((n) => n.opType);
  assert.deepEqual(ops, [
    'DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul',
    'DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul', 'Add',
    'MatMul',
  ]);
  // The last node of each replacement writes the original output name, so consumers are untouched.
  assert.equal(m.graph!.node![4]!.output![0], m.graph!.node![5]!.input![0]);
  assert.equal(m.graph!.node![10]!.output![0], m.graph!.node![11]!.input![0]);
  const inits = new Map(m.graph!.initializer!.map((t) => [t.name, t]));
  assert.ok(!inits.has('w1') && !inits.has('w2'), 'fp32 weights nobody reads any more are gone');
  assert.ok(inits.has('head') && inits.has('b2'));
  const q2 = inits.get('w2_T_quantized')!;
  assert.equal(q2.dataType, DataType.INT8);
  assert.deepEqual(q2.dims!.map(Number), [16, 8], 'Gemm transB weights are stored transposed to [K, N]');
  const s2 = inits.get('w2_T_scale')!;
  const scales = new Float32Array(new Uint8Array(s2.rawData!).buffer);
  const ints = new Int8Array(new Uint8Array(q2.rawData!).buffer);
  // Column n of the [K, N] matrix is row n of w2 ([N, K]): check one value dequantizes within half a step.
  const w2 = seq(128, (i) => Math.cos(i));
  for (let k = 0; k < 16; k++) for (let n = 0; n < 8; n++) assert.ok(Math.abs(ints[k * 8 + n]! * scales[n]! - w2[n * 16 + k]!) <= scales[n]! / 2 + 1e-7);
});

test('microsoft ops: one DynamicQuantizeMatMul per weight and the com.microsoft opset', () => {
  const { bytes } = quantizeModel(smallModel(), 'microsoft');
  const m = onnx.ModelProto.decode(bytes);
  assert.deepEqual(m.graph!.node!.map((n) => `${n.domain}:${n.opType}`), ['com.microsoft:DynamicQuantizeMatMul', 'com.microsoft:DynamicQuantizeMatMul', ':Add', ':MatMul']);
  assert.ok(m.opsetImport.some((o) => o.domain === 'com.microsoft' && Number(o.version) === 1));
});

test('a weight shared with a node that is not quantized stays in fp32 too', () => {
  const g = new GraphBuilder('g');
  const x = g.input('x', DataType.FLOAT, [2, 16]);
  const w = g.initializer('w', [16, 16], seq(256, (i) => (i % 7) - 3));
  const y = g.op('MatMul', [x, w]);
  g.output(g.op('Add', [y, w]), DataType.FLOAT, [2, 16]);
  const m = onnx.ModelProto.decode(quantizeModel(g.encode({ producerName: 't', producerVersion: '1', opset: 17 })).bytes);
  const names = m.graph!.initializer!.map((t) => t.name);
  assert.ok(names.includes('w') && names.includes('w_quantized'));
});

test('per-column quantization: error at most half a step, zero columns survive', () => {
  const w = seq(6, (i) => [1, 0, -0.5, 0, 0.25, 0][i]!); // [3, 2]: column 1 is all zeros
  const q = quantizePerColumn(w, 3, 2);
  assert.deepEqual([...q.values], [127, 0, -64, 0, 32, 0]);
  assert.equal(q.scales[1], 1);
  assert.ok(maxRoundingError(w, q, 3, 2) <= q.scales[0]! / 2);
});

test('refuses graphs it does not understand, with the reason', () => {
  const quantized = quantizeModel(smallModel()).bytes;
  assert.throws(() => quantizeModel(quantized), /cannot quantize this graph: it is already quantized \(node .* is DynamicQuantizeLinear\)/);
  assert.throws(() => quantizeModel(smallModel({ opset: 10 })), /opset 10; DynamicQuantizeLinear needs opset 11/);
  assert.throws(() => quantizeModel(Buffer.from('version https://git-lfs.github.com/spec/v1\n')), /not a readable ONNX model/);

  const custom = onnx.ModelProto.decode(smallModel());
  custom.graph!.node![0]!.domain = 'ai.example.custom';
  assert.throws(() => quantizeModel(onnx.ModelProto.encode(custom).finish()), /op domain 'ai\.example\.custom'/);

  const external = onnx.ModelProto.decode(smallModel());
  const w1 = external.graph!.initializer!.find((t) => t.name === 'w1')!;
  w1.rawData = new Uint8Array(0);
  w1.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  w1.externalData = [{ key: 'location', value: 'model.onnx_data' }];
  assert.throws(() => quantizeModel(onnx.ModelProto.encode(external).finish()), /external data files \(w1\)/);

  const half = onnx.ModelProto.decode(smallModel());
  half.graph!.initializer!.find((t) => t.name === 'w1')!.dataType = DataType.FLOAT16;
  assert.throws(() => quantizeModel(onnx.ModelProto.encode(half).finish()), /weight w1 is fp16/);

  const g = new GraphBuilder('g');
  const x = g.input('x', DataType.FLOAT, [2, 4]);
  g.output(g.op('MatMul', [x, g.op('Transpose', [x])]), DataType.FLOAT, [2, 2]);
  assert.throws(() => quantizeModel(g.encode({ producerName: 't', producerVersion: '1', opset: 17 })), /no MatMul or Gemm node has a constant fp32 weight/);
});

test('one DynamicQuantizeLinear per activation, shared by every MatMul that reads it (Q, K, V)', () => {
  const g = new GraphBuilder('g');
  const x = g.input('x', DataType.FLOAT, [2, 16]);
  const outs = ['q', 'k', 'v'].map((n) => g.op('MatMul', [x, g.initializer(n, [16, 16], seq(256, (i) => Math.sin(i + n.charCodeAt(0))))]));
  g.output(g.op('Sum', outs), DataType.FLOAT, [2, 16]);
  const m = onnx.ModelProto.decode(quantizeModel(g.encode({ producerName: 't', producerVersion: '1', opset: 17 })).bytes);
  const nodes = m.graph!.node!;
  assert.equal(nodes.filter((n) => n.opType === 'DynamicQuantizeLinear').length, 1);
  const dql = nodes.find((n) => n.opType === 'DynamicQuantizeLinear')!;
  assert.equal(nodes.findIndex((n) => n === dql), 0, 'it runs before its first consumer');
  for (const mi of nodes.filter((n) => n.opType === 'MatMulInteger')) assert.equal(mi.input![0], dql.output![0]);
});

test('a MatMul after the [CLS] Gather (a pooler: one row per pair) stays fp32; the token-wise one before it is quantized', () => {
  const g = new GraphBuilder('g');
  const x = g.input('x', DataType.FLOAT, ['batch', 'seq', 4]);
  const h = g.op('MatMul', [x, g.initializer('dense', [4, 16], seq(64, (i) => Math.sin(i)))]);
  const cls = g.op('Gather', [h, g.constInt64([0], true)], { axis: { int: 1 } });
  const pooled = g.op('Tanh', [g.op('MatMul', [cls, g.initializer('pooler', [16, 16], seq(256, (i) => Math.cos(i)))])]);
  // A Gather on another axis (or with many indices) does not make a tensor one row per pair.
  const other = g.op('Gather', [h, g.constInt64([0, 1])], { axis: { int: 0 } });
  const y = g.op('MatMul', [pooled, g.initializer('head', [16, 1], seq(16, (i) => i - 8))], {}, 'logits');
  g.output(y, DataType.FLOAT, ['batch', 1]);
  g.output(g.op('MatMul', [other, g.initializer('w3', [16, 8], seq(128, (i) => Math.sin(3 * i)))]), DataType.FLOAT, [2, 'seq', 8]);
  const { summary } = quantizeModel(g.encode({ producerName: 'test', producerVersion: '1', opset: 17 }));
  assert.deepEqual(summary.quantized.map((q) => q.weight).sort(), ['dense', 'w3']);
  assert.deepEqual(
    summary.skipped.map((s) => s.reason.slice(0, 40)),
    ['it runs on one row per pair (after the [', 'only 1 output columns (a classifier head'],
  );
});
