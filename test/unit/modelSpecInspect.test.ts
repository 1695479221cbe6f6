/**
 * `reranker inspect` (inspectModel) exit codes and output on every fixture folder, and the folder
 * layouts readModelFiles accepts (root, onnx/, JSON beside the graph, bad JSON).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectModel } from '../../src/modelSpec/inspect';
import { readModelFiles } from '../../src/modelSpec/readModelFiles';
import { sharedFixture } from '../helpers/paths';

const FIX = sharedFixture();
const TINY_XLMR = path.join(FIX, 'onnx', 'opensearch__TinyXLMRoberta-CE-onnx');

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-inspect-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * Every fixture folder and what inspect must say about it. Exit 0 exactly when the server would
 * serve the folder: config-only folders (no .onnx) and a graph without tokenizer.json exit 1 with
 * the JSON report and the reason.
 */
const NO_ONNX = /^no \.onnx file found/;
const EXPECTED: ReadonlyArray<[string, number, Record<string, unknown> | RegExp]> = [
  ['hf-configs/BAAI__bge-reranker-large', 1, { servable: false, reason: NO_ONNX, task: 'reranker', family: 'xlm-roberta', maxInputLength: 512 }],
  ['hf-configs/BAAI__bge-reranker-large/onnx_pr10', 1, { servable: false, reason: NO_ONNX, task: 'reranker', family: 'xlm-roberta', maxInputLength: 512 }],
  ['hf-configs/cross-encoder__ms-marco-MiniLM-L-6-v2', 1, { servable: false, reason: NO_ONNX, task: 'reranker', family: 'bert', activation: 'identity', maxInputLength: 512 }],
  ['hf-configs/cross-encoder__ms-marco-MiniLM-L-6-v2/variants/st5-activation_fn', 1, { servable: false, task: 'reranker', family: 'bert', activation: 'identity' }],
  ['hf-configs/cross-encoder__ms-marco-MiniLM-L-6-v2/variants/transformers5', 1, { servable: false, task: 'reranker', family: 'bert', activation: 'identity' }],
  ['hf-configs/jinaai__jina-embeddings-v2-base-en', 1, /^refused: not a reranker: an embedding model: config\.json architectures JinaBertForMaskedLM.*set MODEL_TASK=reranker/],
  ['hf-configs/Qwen__Qwen3-Reranker-0.6B', 1, /^refused: config\.json architectures Qwen3ForCausalLM is a decoder LLM; missing tokenizer\.json/],
  ['hf-configs/dslim__bert-base-NER-uncased', 1, /^refused: not a reranker: config\.json architectures BertForTokenClassification is a token classifier/],
  ['onnx/opensearch__TinyXLMRoberta-CE-onnx', 0, { servable: true, task: 'reranker', family: 'roberta', maxInputLength: 62, outputName: 'logits' }],
  // A real export with a graph and config.json but no tokenizer: the server could not start it.
  ['onnx/optimum__tiny-distilbert-classification', 1, { servable: false, reason: /^no tokenizer\.json in /, task: 'classifier', labels: ['NEGATIVE', 'POSITIVE'], activation: 'softmax' }],
];

test('inspect on every fixture folder: exit code, JSON fields or one-line refusal', async () => {
  for (const [rel, code, expected] of EXPECTED) {
    const r = await inspectModel(path.join(FIX, rel));
    assert.equal(r.exitCode, code, `${rel}: ${r.output.slice(0, 200)}`);
    if (expected instanceof RegExp) {
      assert.equal(r.stream, 'stderr');
      assert.match(r.output, expected);
      assert.doesNotMatch(r.output, /\n/, `${rel}: refusal is one line`);
      continue;
    }
    assert.equal(r.stream, 'stdout');
    const report = JSON.parse(r.output) as Record<string, unknown>;
    for (const [k, v] of Object.entries(expected)) {
      if (v instanceof RegExp) assert.match(String(report[k]), v, `${rel}: ${k}`);
      else assert.deepEqual(report[k], v, `${rel}: ${k}`);
    }
    for (const k of ['task', 'family', 'maxInputLength', 'activation', 'inputs', 'labels', 'padTokenId', 'paddingSide', 'evidence', 'warnings', 'files', 'onnxFiles', 'filesRead', 'pairTemplate']) {
      assert.ok(k in report, `${rel}: report has ${k}`);
    }
  }
});

test('inspect: a config-only folder says why it cannot serve yet; a served one lists graph facts', async () => {
  const cfgOnly = JSON.parse((await inspectModel(path.join(FIX, 'hf-configs/BAAI__bge-reranker-large'))).output) as {
    warnings: string[];
    inputs: unknown;
    files: string[];
  };
  assert.equal(cfgOnly.inputs, null);
  assert.ok(cfgOnly.warnings.some((w) => w.startsWith('no ONNX graph found')));
  assert.deepEqual(cfgOnly.files, ['config.json', 'onnx_pr10/', 'special_tokens_map.json', 'tokenizer_config.json']);
  const served = JSON.parse((await inspectModel(TINY_XLMR)).output) as { graph: { positionTableRows: number; opsetVersion: number } };
  assert.equal(served.graph.positionTableRows, 64);
  assert.equal(served.graph.opsetVersion, 14);
});

test('inspect: missing folder, bad JSON, overrides', async () => {
  const missing = await inspectModel(path.join(os.tmpdir(), 'no-such-model-folder-xyz'));
  assert.equal(missing.exitCode, 2);
  assert.match(missing.output, /^error: model folder .*no-such-model-folder-xyz cannot be read/);

  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'config.json'), '{"architectures": ["BertForSequenceClassification"],');
  const bad = await inspectModel(dir);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.output, /^error: config\.json in .* is not valid JSON/);

  const overridden = await inspectModel(path.join(FIX, 'hf-configs/BAAI__bge-reranker-large'), { overrides: { task: 'classifier' } });
  assert.equal(overridden.exitCode, 1, 'decided, but config files only: not servable');
  assert.equal((JSON.parse(overridden.output) as { task: string }).task, 'classifier');
});

test('layouts: onnx/model.onnx with JSON at the root; root model.onnx preferred; JSON beside the graph', async () => {
  const model = fs.readFileSync(path.join(TINY_XLMR, 'model.onnx'));
  const tok = fs.readFileSync(path.join(TINY_XLMR, 'tokenizer.json'));

  const nested = tmpDir();
  fs.mkdirSync(path.join(nested, 'onnx'));
  fs.writeFileSync(path.join(nested, 'onnx', 'model.onnx'), model);
  fs.writeFileSync(path.join(nested, 'onnx', 'model_quantized.onnx'), model);
  fs.writeFileSync(path.join(nested, 'tokenizer.json'), tok);
  const a = await readModelFiles(nested);
  assert.equal(a.onnxFile, 'onnx/model.onnx');
  assert.ok(a.tokenizerJson);
  assert.deepEqual(a.listing, ['onnx/', 'onnx/model.onnx', 'onnx/model_quantized.onnx', 'tokenizer.json']);
  const r = await inspectModel(nested, { onnxFile: 'onnx/model_quantized.onnx' });
  assert.equal(r.exitCode, 0);
  assert.equal((JSON.parse(r.output) as { onnxFile: string; maxInputLength: number }).onnxFile, 'onnx/model_quantized.onnx');

  fs.writeFileSync(path.join(nested, 'model.onnx'), model);
  assert.equal((await readModelFiles(nested)).onnxFile, 'model.onnx');

  // A self-contained onnx/ export (graph + its tokenizer), nothing at the root.
  const beside = tmpDir();
  fs.mkdirSync(path.join(beside, 'onnx'));
  fs.writeFileSync(path.join(beside, 'onnx', 'model.onnx'), model);
  fs.writeFileSync(path.join(beside, 'onnx', 'tokenizer.json'), tok);
  const b = await readModelFiles(beside);
  assert.equal(b.onnxFile, 'onnx/model.onnx');
  assert.ok(b.tokenizerJson, 'tokenizer.json found beside the graph');
});
