/**
 * buildSpec on every real config under ../shared/fixtures/hf-configs (re-saved variants included) and on
 * the two real ONNX exports under ../shared/fixtures/onnx; overrides, evidence sources, `_name_or_path`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildSpec } from '../../src/modelSpec/buildSpec';
import { readModelFiles } from '../../src/modelSpec/readModelFiles';
import { loadConfig } from '../../src/config';
import { sharedFixture } from '../helpers/paths';
import type { ModelFiles, ModelSpec, OnnxGraphInfo, SpecOverrides, SpecResult } from '../../src/modelSpec/types';

const FIX = sharedFixture();
const BGE = path.join(FIX, 'hf-configs', 'BAAI__bge-reranker-large');
const MSMARCO = path.join(FIX, 'hf-configs', 'cross-encoder__ms-marco-MiniLM-L-6-v2');
const JINA = path.join(FIX, 'hf-configs', 'jinaai__jina-embeddings-v2-base-en');
const QWEN = path.join(FIX, 'hf-configs', 'Qwen__Qwen3-Reranker-0.6B');
const NER = path.join(FIX, 'hf-configs', 'dslim__bert-base-NER-uncased');
const TINY_XLMR = path.join(FIX, 'onnx', 'opensearch__TinyXLMRoberta-CE-onnx');
const DISTILBERT = path.join(FIX, 'onnx', 'optimum__tiny-distilbert-classification');

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function ok(r: SpecResult): ModelSpec {
  if (!r.ok) assert.fail(`expected a spec, got refusal: ${r.reason}`);
  return r.spec;
}

function refused(r: SpecResult): string {
  if (r.ok) assert.fail(`expected a refusal, got task ${r.spec.task}`);
  return r.reason;
}

async function specOf(dir: string, overrides?: SpecOverrides): Promise<ModelSpec> {
  return ok(buildSpec(await readModelFiles(dir), overrides));
}

function source(spec: ModelSpec, field: string): string | undefined {
  return spec.evidence.find((e) => e.field === field)?.source;
}

/** A graph as a cross-encoder export declares it. */
function scoreGraph(n: number, withTypes = true): OnnxGraphInfo {
  const ids = (name: string) => ({ name, type: 'int64', dims: ['batch', 'sequence'] });
  return {
    inputs: [ids('input_ids'), ids('attention_mask'), ...(withTypes ? [ids('token_type_ids')] : [])],
    outputs: [{ name: 'logits', type: 'float32', dims: ['batch', n] }],
  };
}

test('bge-reranker-large: reranker, xlm-roberta, 512 (514 - pad offset), although _name_or_path says xlm-roberta-large', async () => {
  const spec = await specOf(BGE);
  assert.equal(spec.task, 'reranker');
  assert.equal(spec.family, 'xlm-roberta');
  assert.equal(spec.architecture, 'XLMRobertaForSequenceClassification');
  assert.equal(spec.maxInputLength, 512);
  assert.equal(spec.activation, 'sigmoid');
  assert.deepEqual(spec.labels, ['LABEL_0']);
  assert.equal(spec.padTokenId, 1);
  assert.equal(spec.positionEmbedding, 'absolute');
  assert.equal(spec.nameHint, 'xlm-roberta-large');
  assert.equal(spec.inputs, undefined);
  assert.equal(source(spec, 'task'), 'config.json:architectures + config.json:id2label');
  assert.equal(
    source(spec, 'maxInputLength'),
    'tokenizer_config.json:model_max_length = config.json:max_position_embeddings 514 - 2 (positions start at pad_token_id + 1)',
  );
  assert.ok(spec.warnings.some((w) => /no ONNX graph found/.test(w)));
});

test('bge-reranker-large onnx_pr10 re-save: same spec, name hint changed', async () => {
  const spec = await specOf(path.join(BGE, 'onnx_pr10'));
  assert.deepEqual(
    [spec.task, spec.family, spec.maxInputLength, spec.activation, spec.padTokenId, spec.nameHint],
    ['reranker', 'xlm-roberta', 512, 'sigmoid', 1, 'BAAI/bge-reranker-large'],
  );
});

test('ms-marco-MiniLM: identity from each of the four activation storages; bert, 512', async () => {
  const base = await readModelFiles(MSMARCO);
  const resaved = { ...base, config: readJson(path.join(MSMARCO, 'variants', 'config.resaved-4.39.3.json')) };
  const cases: Array<[ModelFiles, string]> = [
    [base, 'config.json:sbert_ce_default_activation_function torch.nn.modules.linear.Identity'],
    [resaved, 'config.json:sbert_ce_default_activation_function torch.nn.modules.linear.Identity'],
    [await readModelFiles(path.join(MSMARCO, 'variants', 'st5-activation_fn')), 'config.json:sentence_transformers.activation_fn torch.nn.modules.linear.Identity'],
    [await readModelFiles(path.join(MSMARCO, 'variants', 'transformers5')), 'config_sentence_transformers.json:activation_fn torch.nn.modules.linear.Identity'],
  ];
  for (const [files, activationSource] of cases) {
    const spec = ok(buildSpec(files));
    assert.equal(spec.task, 'reranker');
    assert.equal(spec.family, 'bert');
    assert.equal(spec.maxInputLength, 512);
    assert.equal(spec.activation, 'identity');
    assert.equal(spec.padTokenId, 0);
    assert.equal(source(spec, 'activation'), activationSource);
  }
  assert.equal(source(ok(buildSpec(base)), 'padTokenId'), "tokenizer_config.json:pad_token '[PAD]' -> tokenizer.json id");
});

test('jina-embeddings-v2 as published: refused as an embedding model', async () => {
  const reason = refused(buildSpec(await readModelFiles(JINA)));
  assert.match(reason, /^not a reranker: an embedding model: config\.json architectures JinaBertForMaskedLM/);
  assert.match(reason, /sentence-transformers Pooling module \(modules\.json:sentence_transformers\.models\.Pooling\)/);
  assert.match(reason, /supported: cross-encoder rerankers/);
  assert.doesNotMatch(reason, /\n/);
});

test('JinaBertForMaskedLM + auto_map + a graph with logits [batch,1] (no pooling files): a jina-bert reranker, 8192', async () => {
  const published = await readModelFiles(JINA);
  const files: ModelFiles = {
    ...published,
    modules: undefined,
    listing: published.listing.filter((n) => n !== 'modules.json' && n !== '1_Pooling/').concat('model.onnx'),
    onnxFile: 'model.onnx',
    graph: scoreGraph(1),
  };
  const spec = ok(buildSpec(files));
  assert.equal(spec.task, 'reranker');
  assert.equal(spec.family, 'jina-bert');
  assert.equal(spec.positionEmbedding, 'alibi');
  assert.equal(spec.maxInputLength, 8192);
  assert.equal(spec.activation, 'sigmoid');
  assert.deepEqual(spec.inputs, { inputIds: 'input_ids', attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids', idType: 'int64' });
  assert.equal(spec.outputName, 'logits');
  assert.equal(source(spec, 'task'), 'onnx:model.onnx outputs.logits dims [batch,1]');
  assert.equal(source(spec, 'family'), 'config.json:position_embedding_type alibi');
  assert.equal(source(spec, 'taskSupport'), 'config.json:auto_map.AutoModelForSequenceClassification');
  assert.ok(spec.warnings.some((w) => /architectures says JinaBertForMaskedLM .* following the graph/.test(w)));
  // tokenizer_config's 2147483648 is a sentinel, not a limit.
  assert.doesNotMatch(source(spec, 'maxInputLength') ?? '', /tokenizer_config/);

  // With the Pooling module still there, the graph still decides, and says so.
  const withPooling = ok(buildSpec({ ...published, onnxFile: 'model.onnx', graph: scoreGraph(1) }));
  assert.equal(withPooling.task, 'reranker');
  assert.ok(withPooling.warnings.some((w) => /Pooling is an embedding pooling module/.test(w)));
});

test('a re-saved JinaBert config decides the same: _name_or_path plays no part', async () => {
  const published = await readModelFiles(JINA);
  for (const name of ['jinaai/jina-reranker-v1-turbo-en', 'my-org/whatever', undefined]) {
    const config = { ...published.config, _name_or_path: name };
    const spec = ok(buildSpec({ ...published, config, modules: undefined, graph: scoreGraph(1), onnxFile: 'model.onnx' }));
    assert.deepEqual([spec.task, spec.family, spec.maxInputLength], ['reranker', 'jina-bert', 8192]);
    for (const e of spec.evidence) assert.doesNotMatch(e.source, /_name_or_path/);
  }
  // Config only (no graph): MaskedLM + auto_map + an explicit one-label id2label is a reranker...
  const labelled = { ...published.config, id2label: { '0': 'LABEL_0' } };
  const fromConfig = ok(buildSpec({ ...published, config: labelled, modules: undefined, listing: ['config.json'] }));
  assert.equal(fromConfig.task, 'reranker');
  assert.equal(source(fromConfig, 'task'), 'config.json:auto_map.AutoModelForSequenceClassification + config.json:id2label');
  // ...and so is one with no id2label (issue 12, defect 5), whatever its name says.
  for (const name of ['jinaai/jina-reranker-v1-turbo-en', 'my-org/whatever']) {
    const named = { ...published.config, _name_or_path: name };
    const spec = ok(buildSpec({ ...published, config: named, modules: undefined, listing: ['config.json'] }));
    assert.equal(spec.task, 'reranker');
    assert.match(source(spec, 'task') ?? '', /^config\.json:auto_map\.AutoModelForSequenceClassification \(no labels/);
  }
});

test('config-only Jina v1 reranker (MaskedLM class, auto_map classifier, no id2label, no Pooling): a reranker, with a warning that names MODEL_TASK', async () => {
  // jinaai/jina-reranker-v1-turbo-en's config.json as published: the JinaBert config without labels.
  const published = await readModelFiles(JINA);
  const config = { ...published.config };
  delete config.id2label;
  delete config.label2id;
  const spec = ok(buildSpec({ ...published, config, modules: undefined, listing: ['config.json', 'tokenizer.json'] }));
  assert.deepEqual([spec.task, spec.numLabels, spec.family], ['reranker', 1, 'jina-bert']);
  assert.ok(spec.warnings.some((w) => /architectures says JinaBertForMaskedLM and names no labels, .*treated as a reranker with one label.*MODEL_TASK=classifier/.test(w)), spec.warnings.join(' | '));
  // With the Pooling module it is the embedding model it says it is, and the refusal names the override.
  const reason = refused(buildSpec({ ...published, config }));
  assert.match(reason, /^not a reranker: an embedding model: .*set MODEL_TASK=reranker/);
});

test('defaults that change scores are warnings, not only evidence: no config.json', async () => {
  const files: ModelFiles = { ...(await readModelFiles(TINY_XLMR)) };
  assert.equal(files.config, undefined);
  const spec = ok(buildSpec(files));
  assert.equal(spec.activation, 'sigmoid');
  assert.ok(spec.warnings.some((w) => /^no config\.json: scores use sigmoid, the default for 1 logit \(set ACTIVATION/.test(w)), spec.warnings.join(' | '));
  assert.ok(spec.warnings.some((w) => /^no config\.json: labels default to LABEL_0/.test(w)), spec.warnings.join(' | '));
  // A stored activation is no default: no such warning.
  assert.ok(!(await specOf(MSMARCO)).warnings.some((w) => /scores use/.test(w)));
});

test('_name_or_path alone never decides the task', () => {
  const files: ModelFiles = { dir: '/virtual', listing: ['config.json'], config: { _name_or_path: 'cross-encoder/ms-marco-MiniLM-L-6-v2', model_type: 'bert' } };
  const reason = refused(buildSpec(files));
  assert.match(reason, /^cannot decide the task: config\.json names no architectures or labels/);
  assert.match(reason, /_name_or_path 'cross-encoder\/ms-marco-MiniLM-L-6-v2' suggests a reranker, but a name decides nothing/);
});

test('Qwen3-Reranker config without tokenizer.json: refused, naming what is missing and the overrides; dslim NER: refused as a token classifier', async () => {
  const reason = refused(buildSpec(await readModelFiles(QWEN)));
  assert.match(reason, /^config\.json architectures Qwen3ForCausalLM is a decoder LLM; missing tokenizer\.json/);
  assert.match(reason, /SCORE_TOKENS=.*PROMPT_TEMPLATE=/);
  assert.match(refused(buildSpec(await readModelFiles(NER))), /^not a reranker: config\.json architectures BertForTokenClassification is a token classifier/);
});

test('TinyXLMRoberta-CE (real export, no config.json): graph facts, reranker, max 62 from a 64-row table', async () => {
  const files = await readModelFiles(TINY_XLMR);
  assert.equal(files.config, undefined);
  assert.equal(files.onnxFile, 'model.onnx');
  assert.deepEqual(files.graph?.inputs, [
    { name: 'input_ids', type: 'int64', dims: ['b', 's'] },
    { name: 'attention_mask', type: 'int64', dims: ['b', 's'] },
  ]);
  assert.deepEqual(files.graph?.outputs, [{ name: 'logits', type: 'float32', dims: ['b', 1] }]);
  assert.equal(files.graph?.positionTableRows, 64);
  assert.equal(files.graph?.positionTableName, 'roberta.embeddings.position_embeddings.weight');
  assert.equal(files.graph?.opsetVersion, 14);
  assert.equal(files.graph?.producer, 'pytorch 2.7.1');

  const spec = ok(buildSpec(files));
  assert.equal(spec.task, 'reranker');
  assert.equal(spec.family, 'roberta');
  assert.match(source(spec, 'family') ?? '', /^inferred \(no config\.json\): tokenizer\.json post_processor pair template <s> A <\/s><\/s> B <\/s>/);
  assert.equal(spec.maxInputLength, 62);
  assert.equal(
    source(spec, 'maxInputLength'),
    'onnx:model.onnx roberta.embeddings.position_embeddings.weight 64 rows - 2 (positions start at pad_token_id + 1)',
  );
  assert.deepEqual(spec.inputs, { inputIds: 'input_ids', attentionMask: 'attention_mask', idType: 'int64' });
  assert.equal(spec.outputName, 'logits');
  assert.equal(spec.padTokenId, 1);
  assert.equal(source(spec, 'padTokenId'), 'tokenizer.json:padding.pad_id');
  assert.equal(spec.paddingSide, 'right');
  assert.equal(spec.activation, 'sigmoid');
  const fields = new Set(spec.evidence.map((e) => e.field));
  for (const f of ['task', 'labels', 'family', 'positionEmbedding', 'padTokenId', 'paddingSide', 'truncationSide', 'inputs', 'outputName', 'maxInputLength', 'activation']) {
    assert.ok(fields.has(f), `evidence for ${f}`);
  }
});

test('tiny-distilbert (real export): classifier NEGATIVE/POSITIVE, softmax, 512, pad from config.json', async () => {
  const spec = await specOf(DISTILBERT);
  assert.equal(spec.task, 'classifier');
  assert.equal(spec.numLabels, 2);
  assert.deepEqual(spec.labels, ['NEGATIVE', 'POSITIVE']);
  assert.equal(spec.activation, 'softmax');
  assert.equal(spec.family, 'distilbert');
  assert.equal(spec.maxInputLength, 512);
  assert.equal(spec.padTokenId, 0);
  assert.equal(source(spec, 'padTokenId'), 'config.json:pad_token_id');
  assert.equal(source(spec, 'task'), 'onnx:model.onnx outputs.logits dims [batch,2]');
  assert.deepEqual(spec.inputs, { inputIds: 'input_ids', attentionMask: 'attention_mask', idType: 'int64' });
  assert.equal(spec.pairTemplate, undefined, 'no tokenizer.json: no template');
  assert.deepEqual(spec.warnings, [
    'no config file names an activation: scores use softmax, the default for 2 logits (set ACTIVATION=identity for raw logits, or another activation)',
    'no tokenizer.json found (at the root, beside the .onnx or in onnx/): the model cannot be served without it',
  ]);
});

test('conflict: config.json names 2 labels but the graph gives 1 logit -> reranker, with a warning', async () => {
  const files = { ...(await readModelFiles(DISTILBERT)), graph: scoreGraph(1, false) };
  const spec = ok(buildSpec(files));
  assert.equal(spec.task, 'reranker');
  assert.deepEqual(spec.labels, ['LABEL_0']);
  assert.ok(spec.warnings.includes('config.json:id2label names 2 label(s) but onnx:model.onnx outputs.logits dims [batch,1] gives 1; following the graph'));
});

test('overrides win and say so; MAX_INPUT_LENGTH past the position table warns', async () => {
  const files = await readModelFiles(TINY_XLMR);
  const spec = ok(buildSpec(files, { maxInputLength: 128, activation: 'identity', task: 'classifier' }));
  assert.equal(spec.maxInputLength, 128);
  assert.equal(spec.activation, 'identity');
  assert.equal(spec.task, 'classifier');
  assert.equal(source(spec, 'maxInputLength'), 'override:MAX_INPUT_LENGTH');
  assert.equal(source(spec, 'activation'), 'override:ACTIVATION');
  assert.equal(source(spec, 'task'), 'override:MODEL_TASK');
  assert.ok(spec.warnings.some((w) => /^MAX_INPUT_LENGTH=128 exceeds the position table .*: 62\)/.test(w)));
  const shorter = await specOf(BGE, { maxInputLength: 256 });
  assert.equal(shorter.maxInputLength, 256);
  assert.ok(!shorter.warnings.some((w) => /MAX_INPUT_LENGTH/.test(w)));
  // MODEL_TASK=reranker on a causal LM means the yes/no route, which needs the tokenizer's ids.
  assert.match(refused(buildSpec(await readModelFiles(QWEN), { task: 'reranker' })), /decoder LLM; missing tokenizer\.json/);
  // Over a config-level refusal (no graph to contradict it), MODEL_TASK wins and the refusal becomes a warning.
  const jina = await specOf(JINA, { task: 'reranker' });
  assert.deepEqual([jina.task, jina.family, jina.maxInputLength], ['reranker', 'jina-bert', 8192]);
  assert.ok(jina.warnings.some((w) => /^MODEL_TASK=reranker overrides what the config files say \(not a reranker: an embedding model/.test(w)));
  const bgeAsClassifier = await specOf(BGE, { task: 'classifier' });
  assert.equal(bgeAsClassifier.numLabels, 1);
  assert.ok(bgeAsClassifier.warnings.includes('MODEL_TASK=classifier overrides config.json:architectures + config.json:id2label (1 label(s))'));
  // Overrides are checked once, where they are read (config.ts for the environment), not again by buildSpec.
  assert.throws(() => loadConfig({ MAX_INPUT_LENGTH: '0' }), /MAX_INPUT_LENGTH/);
});
