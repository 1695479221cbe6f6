/**
 * The spec's view of an ONNX graph (src/modelSpec/onnxGraph.ts over src/onnxproto/onnxRead.ts)
 * against graphs encoded by onnx-proto (the reference encoder, a devDependency), and buildSpec on
 * what it reads: shapes that refuse,
 * old-style initializer inputs, external data, fused and renamed position tables.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { parseOnnxGraph, readOnnxGraph } from '../../src/modelSpec/onnxGraph';
import { readModelFiles } from '../../src/modelSpec/readModelFiles';
import { buildSpec } from '../../src/modelSpec/buildSpec';
import { inspectModel } from '../../src/modelSpec/inspect';
import type { ModelFiles } from '../../src/modelSpec/types';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-onnx-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

type Dim = number | string | null;
interface TensorSpec { name: string; type: number; dims: Dim[] }
interface Init { name: string; dims: number[]; raw?: number; external?: boolean }
interface NodeSpec { op: string; name?: string; inputs: string[]; outputs: string[]; attrTensorBytes?: number }

function valueInfo(t: TensorSpec): onnx.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: t.type,
        shape: { dim: t.dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Encodes a ModelProto with the given graph; weights are zero bytes (or external references). */
function encodeModel(g: {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  inits?: Init[];
  nodes?: NodeSpec[];
  opset?: number;
}): Uint8Array {
  const initializer = (g.inits ?? []).map((i): onnx.ITensorProto => ({
    name: i.name,
    dims: i.dims,
    dataType: FLOAT,
    ...(i.external
      ? { dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'model.onnx_data' }] }
      : { rawData: new Uint8Array(i.raw ?? 4 * i.dims.reduce((a, b) => a * b, 1)) }),
  }));
  const node = (g.nodes ?? []).map((n): onnx.INodeProto => ({
    opType: n.op,
    name: n.name ?? '',
    input: n.inputs,
    output: n.outputs,
    attribute: n.attrTensorBytes
      ? [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [n.attrTensorBytes], dataType: 2, rawData: new Uint8Array(n.attrTensorBytes) } }]
      : [],
  }));
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'unit-test',
    producerVersion: '1.0',
    opsetImport: [{ domain: '', version: g.opset ?? 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: { name: 'g', node, initializer, input: g.inputs.map(valueInfo), output: g.outputs.map(valueInfo) },
  }).finish();
}

const IDS: TensorSpec = { name: 'input_ids', type: INT64, dims: ['batch', 'seq'] };
const MASK: TensorSpec = { name: 'attention_mask', type: INT64, dims: ['batch', 'seq'] };
const TYPES: TensorSpec = { name: 'token_type_ids', type: INT64, dims: ['batch', 'seq'] };
const logits = (...dims: Dim[]): TensorSpec => ({ name: 'logits', type: FLOAT, dims });

function filesWith(bytes: Uint8Array, extra: Partial<ModelFiles> = {}): ModelFiles {
  return { dir: '/virtual', listing: ['model.onnx'], onnxFile: 'model.onnx', graph: parseOnnxGraph(bytes), ...extra };
}

test('reads inputs, outputs, dims (value, param, unknown), opset and producer', () => {
  const info = parseOnnxGraph(encodeModel({ inputs: [IDS, MASK, TYPES], outputs: [logits('batch', null, 1)], opset: 14 }));
  assert.deepEqual(info.inputs.map((i) => i.name), ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.deepEqual(info.inputs[0], { name: 'input_ids', type: 'int64', dims: ['batch', 'seq'] });
  assert.deepEqual(info.outputs[0], { name: 'logits', type: 'float32', dims: ['batch', '?', 1] });
  assert.equal(info.opsetVersion, 14);
  assert.equal(info.producer, 'unit-test 1.0');
  assert.equal(info.positionTableRows, undefined);
});

test('initializers listed as graph inputs (pre-IR-4 exports) are not reported as inputs', () => {
  const table: Init = { name: 'bert.embeddings.position_embeddings.weight', dims: [512, 4] };
  const bytes = encodeModel({
    inputs: [IDS, MASK, { name: table.name, type: FLOAT, dims: [512, 4] }],
    outputs: [logits('batch', 1)],
    inits: [table],
  });
  const info = parseOnnxGraph(bytes);
  assert.deepEqual(info.inputs.map((i) => i.name), ['input_ids', 'attention_mask']);
  assert.equal(info.positionTableRows, 512);
  assert.equal(info.positionTableName, 'bert.embeddings.position_embeddings.weight');
});

test('big raw_data and constant attributes are skipped; a file crosses the read window', () => {
  const dir = tmpDir();
  const bytes = encodeModel({
    inputs: [IDS, MASK],
    outputs: [logits('batch', 1)],
    inits: [
      { name: 'roberta.embeddings.word_embeddings.weight', dims: [3000, 256] }, // ~3 MB of zeros
      { name: 'roberta.embeddings.position_embeddings.weight', dims: [514, 256] },
    ],
    nodes: [{ op: 'Constant', inputs: [], outputs: ['c'], attrTensorBytes: 1_500_000 }],
  });
  assert.ok(bytes.length > 4_000_000);
  fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
  const info = readOnnxGraph(path.join(dir, 'model.onnx'));
  assert.deepEqual(info.inputs.map((i) => i.name), ['input_ids', 'attention_mask']);
  assert.equal(info.positionTableRows, 514);
  assert.deepEqual(info, parseOnnxGraph(bytes));
});

test('external-data models: the graph parses without the weights file', () => {
  const info = parseOnnxGraph(
    encodeModel({
      inputs: [IDS, MASK],
      outputs: [logits('batch', 1)],
      inits: [{ name: 'embeddings.position_embeddings.weight', dims: [8194, 1024], external: true }],
    }),
  );
  assert.equal(info.positionTableRows, 8194);
});

test('position table: fused EmbedLayerNormalization input 3 and a Gather reached through Identity', () => {
  const fused = parseOnnxGraph(
    encodeModel({
      inputs: [IDS, MASK],
      outputs: [logits('batch', 1)],
      inits: [{ name: 'w', dims: [100, 8] }, { name: 'p_renamed', dims: [130, 8] }, { name: 't', dims: [2, 8] }],
      nodes: [{ op: 'EmbedLayerNormalization', inputs: ['input_ids', '', 'w', 'p_renamed', 't', 'g', 'b', 'attention_mask'], outputs: ['e', 'm'] }],
    }),
  );
  assert.equal(fused.positionTableRows, 130);
  const viaIdentity = parseOnnxGraph(
    encodeModel({
      inputs: [IDS],
      outputs: [logits('batch', 1)],
      inits: [{ name: 'onnx::Gather_7', dims: [66, 8] }],
      nodes: [
        { op: 'Identity', inputs: ['onnx::Gather_7'], outputs: ['shared'] },
        { op: 'Gather', name: '/model/embeddings/position_embeddings/Gather', inputs: ['shared', 'pos'], outputs: ['x'] },
      ],
    }),
  );
  assert.equal(viaIdentity.positionTableRows, 66);
  assert.equal(viaIdentity.positionTableName, 'onnx::Gather_7');
  // A relative-position table (DeBERTa) is not a position limit.
  const deberta = parseOnnxGraph(
    encodeModel({ inputs: [IDS], outputs: [logits('batch', 1)], inits: [{ name: 'deberta.encoder.rel_embeddings.weight', dims: [512, 8] }] }),
  );
  assert.equal(deberta.positionTableRows, undefined);
});

test('a Git LFS pointer and a truncated file give clear errors', () => {
  const dir = tmpDir();
  const lfs = path.join(dir, 'lfs.onnx');
  fs.writeFileSync(lfs, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
  assert.throws(() => readOnnxGraph(lfs), /Git LFS pointer/);
  const bytes = encodeModel({ inputs: [IDS], outputs: [logits('batch', 1)], inits: [{ name: 'x', dims: [100] }] });
  assert.throws(() => parseOnnxGraph(bytes.subarray(0, bytes.length - 20)), RangeError);
});

test('spec from synthetic graphs: int32 ids, token_type_ids, [batch] output', () => {
  const i32 = buildSpec(
    filesWith(encodeModel({ inputs: [{ ...IDS, type: INT32 }, { ...MASK, type: INT32 }, { ...TYPES, type: INT32 }], outputs: [logits('batch')] })),
  );
  assert.ok(i32.ok);
  assert.deepEqual(i32.spec.inputs, { inputIds: 'input_ids', attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids', idType: 'int32' });
  assert.equal(i32.spec.task, 'reranker');
  assert.equal(i32.spec.maxInputLength, 512);
  assert.ok(i32.spec.warnings.some((w) => /no file states a maximum input length/.test(w)));
});

test('refusals from the graph: extra input, per-token logits, embedding output, even with MODEL_TASK', () => {
  const extra = buildSpec(filesWith(encodeModel({ inputs: [IDS, MASK, { name: 'position_ids', type: INT64, dims: ['batch', 'seq'] }], outputs: [logits('batch', 1)] })));
  assert.equal(extra.ok, false);
  assert.match(!extra.ok ? extra.reason : '', /requires input\(s\) position_ids/);

  const tokens = encodeModel({ inputs: [IDS, MASK], outputs: [logits('batch', 'seq', 9)] });
  const cfg = { architectures: ['BertForTokenClassification'], model_type: 'bert' };
  for (const overrides of [{}, { task: 'reranker' as const }]) {
    const r = buildSpec(filesWith(tokens, { config: cfg }), overrides);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /one output per token \(token classification\).*BertForTokenClassification/);
  }
  const emb = buildSpec(filesWith(encodeModel({ inputs: [IDS, MASK], outputs: [{ name: 'sentence_embedding', type: FLOAT, dims: ['batch', 768] }] })));
  assert.equal(emb.ok, false);
  assert.match(!emb.ok ? emb.reason : '', /sentence_embedding dims \[batch,768\] is an embedding output/);
});

test('MODEL_TASK=reranker on a graph with 2 logits is refused; classifier on 1 logit warns', () => {
  const two = filesWith(encodeModel({ inputs: [IDS, MASK], outputs: [logits('batch', 2)] }));
  const r = buildSpec(two, { task: 'reranker' });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /MODEL_TASK=reranker, but .* gives 2 logits/);
  const one = buildSpec(filesWith(encodeModel({ inputs: [IDS, MASK], outputs: [logits('batch', 1)] })), { task: 'classifier' });
  assert.ok(one.ok);
  assert.equal(one.spec.task, 'classifier');
  assert.deepEqual(one.spec.evidence.find((e) => e.field === 'task'), { field: 'task', value: 'classifier', source: 'override:MODEL_TASK' });
});

test('symbolic label dim falls back to config.json with a warning', () => {
  const r = buildSpec(
    filesWith(encodeModel({ inputs: [IDS, MASK], outputs: [logits('batch', 'num_labels')] }), {
      config: { architectures: ['BertForSequenceClassification'], model_type: 'bert', id2label: { '0': 'no', '1': 'yes', '2': 'maybe' } },
    }),
  );
  assert.ok(r.ok);
  assert.equal(r.spec.task, 'classifier');
  assert.deepEqual(r.spec.labels, ['no', 'yes', 'maybe']);
  assert.equal(r.spec.evidence.find((e) => e.field === 'task')?.source, 'config.json:architectures + config.json:id2label');
  assert.ok(r.spec.warnings.some((w) => /does not fix the number of logits/.test(w)));
});

test('inspect: several .onnx files without model.onnx is an error naming them; MODEL_ONNX_FILE picks one', async () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'onnx'));
  const bytes = encodeModel({ inputs: [IDS, MASK], outputs: [logits('batch', 1)] });
  fs.writeFileSync(path.join(dir, 'onnx', 'model_fp16.onnx'), bytes);
  fs.writeFileSync(path.join(dir, 'onnx', 'model_quantized.onnx'), bytes);
  const ambiguous = await inspectModel(dir);
  assert.equal(ambiguous.exitCode, 2);
  assert.match(ambiguous.output, /onnx\/model_fp16\.onnx, onnx\/model_quantized\.onnx; set MODEL_ONNX_FILE/);
  const picked = await readModelFiles(dir, { onnxFile: 'onnx/model_quantized.onnx' });
  assert.equal(picked.onnxFile, 'onnx/model_quantized.onnx');
  await assert.rejects(readModelFiles(dir, { onnxFile: 'onnx/nope.onnx' }), /MODEL_ONNX_FILE=onnx\/nope\.onnx not found/);
  await assert.rejects(readModelFiles(dir, { onnxFile: '../x.onnx' }), /inside the model folder/);
  fs.mkdirSync(path.join(dir, 'onnx', 'int8'));
  fs.writeFileSync(path.join(dir, 'onnx', 'int8', 'model.onnx'), bytes);
  assert.equal((await readModelFiles(dir, { onnxFile: './onnx/int8/model.onnx' })).onnxFile, 'onnx/int8/model.onnx');
});
