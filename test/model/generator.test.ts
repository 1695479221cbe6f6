// The model generator: real ONNX graphs that onnxruntime and transformers.js both accept.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { generateModel, parseCliArgs, type GenerateModelOptions } from '../../scripts/gen-model';
import { buildSpec } from '../../src/modelSpec/buildSpec';
import { readModelFiles } from '../../src/modelSpec/readModelFiles';

type Row = { ids: number[]; types?: number[] };
const loadTransformers = () => import('@huggingface/transformers');

let tmp = '';
const gen = (name: string, o: Omit<GenerateModelOptions, 'out'>) => generateModel({ ...o, out: join(tmp, name) });

/** Right-pads rows to one length with attention_mask 0, as a batch of mixed lengths is fed. */
function feeds(rows: Row[], withTypes = true): Record<string, ort.Tensor> {
  const len = Math.max(...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(rows.length * len);
  const mask = new BigInt64Array(rows.length * len);
  const types = new BigInt64Array(rows.length * len);
  rows.forEach((r, b) =>
    r.ids.forEach((id, t) => {
      ids[b * len + t] = BigInt(id);
      mask[b * len + t] = 1n;
      types[b * len + t] = BigInt(r.types?.[t] ?? 0);
    }),
  );
  const dims = [rows.length, len];
  const f: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
  };
  if (withTypes) f.token_type_ids = new ort.Tensor('int64', types, dims);
  return f;
}

async function logits(session: ort.InferenceSession, f: Record<string, ort.Tensor>): Promise<{ dims: readonly number[]; data: number[] }> {
  const out = (await session.run(f)).logits;
  assert.ok(out, 'no logits output');
  return { dims: out.dims, data: Array.from(out.data as Float32Array) };
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] ?? NaN)) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

/** Parameter count of BertForSequenceClassification: the file must hold exactly these floats. */
function bertParams(h: number, layers: number, inter: number, labels: number, vocab = 30522, pos = 512, types = 2): number {
  const embeddings = (vocab + pos + types) * h + 2 * h;
  const layer = 4 * (h * h + h) + 2 * h + (h * inter + inter) + (inter * h + h) + 2 * h;
  return embeddings + layers * layer + (h * h + h) + (h * labels + labels);
}

function opCounts(bytes: Uint8Array): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of onnx.ModelProto.decode(bytes).graph?.node ?? []) counts.set(n.opType ?? '', (counts.get(n.opType ?? '') ?? 0) + 1);
  return counts;
}

// A query/document pair as [CLS] q [SEP] d [SEP] with segment ids; ids are arbitrary real vocab ids.
const PAIR_A: Row = { ids: [101, 2054, 2003, 1996, 3007, 102, 3000, 2003, 1996, 3007, 102], types: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1] };
const PAIR_B: Row = { ids: [101, 2054, 2003, 102, 2605, 102], types: [0, 0, 0, 0, 1, 1] };
const LONG: Row = { ids: [101, ...Array.from({ length: 40 }, (_, i) => 2000 + i * 7), 102, 4000, 4001, 102], types: [...Array(42).fill(0), 1, 1, 1] };

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gen-model-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('tiny BERT cross-encoder', () => {
  let session: ort.InferenceSession;
  let dir = '';
  before(async () => {
    const r = await gen('tiny', { preset: 'tiny' });
    dir = r.dir;
    session = await ort.InferenceSession.create(r.modelFile);
  });

  it('declares the three int64 inputs and a logits output', () => {
    assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
    assert.deepEqual(session.outputNames, ['logits']);
  });

  it('is a real BERT: every weight present, one attention and GELU per layer', async () => {
    const bytes = await readFile(join(dir, 'model.onnx'));
    const floats = bertParams(32, 2, 64, 1);
    assert.ok(bytes.length >= floats * 4 && bytes.length < floats * 4 + 65536, `size ${bytes.length} vs ${floats} params`);
    const ops = opCounts(bytes);
    assert.equal(ops.get('Softmax'), 2);
    assert.equal(ops.get('Erf'), 2);
    assert.equal(ops.get('LayerNormalization'), 5);
    assert.equal(ops.get('Tanh'), 1);
  });

  it('outputs [batch, 1] logits that differ between inputs', async () => {
    const { dims, data } = await logits(session, feeds([PAIR_A, PAIR_B, LONG]));
    assert.deepEqual(dims, [3, 1]);
    assert.ok(data.every(Number.isFinite));
    assert.equal(new Set(data.map((x) => x.toFixed(6))).size, 3, `logits not distinct: ${data}`);
    const swapped = await logits(session, feeds([{ ids: PAIR_A.ids, types: PAIR_A.types?.map(() => 0) }]));
    assert.notEqual(swapped.data[0], data[0], 'token_type_ids must change the result');
  });

  it('scores a pair the same alone and padded in a batch', async () => {
    const alone = await logits(session, feeds([PAIR_A]));
    const batched = await logits(session, feeds([LONG, PAIR_A, PAIR_B]));
    const bAlone = await logits(session, feeds([PAIR_B]));
    assertClose([batched.data[1] ?? NaN, batched.data[2] ?? NaN], [alone.data[0] ?? NaN, bAlone.data[0] ?? NaN], 1e-5, 'padded');
  });

  it('writes a BertForSequenceClassification config and the tokenizer files', async () => {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
    assert.equal(config.model_type, 'bert');
    assert.deepEqual(config.id2label, { '0': 'LABEL_0' });
    assert.equal(config.num_hidden_layers, 2);
    assert.equal(config.hidden_size, 32);
    assert.equal(config.sagemaker_reranker_demo, undefined);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
      assert.ok(existsSync(join(dir, f)), f);
    }
  });
});

describe("the project's own WordPiece tokenizer", () => {
  let dir = '';
  before(async () => {
    dir = (await gen('own-tokenizer', { preset: 'tiny', maxPosition: 128 })).dir;
  });

  it('loads in the Rust tokenizers binding and in transformers.js with the same pair ids', async () => {
    const rust = RustTokenizer.fromFile(join(dir, 'tokenizer.json'));
    const tf = await loadTransformers();
    tf.env.allowRemoteModels = false;
    const js = await tf.AutoTokenizer.from_pretrained(dir);
    const q = 'What is the capital of France?';
    const d = 'Paris is the capital and largest city of France; photosynthesis, CAFÉ 42!';
    const e = await rust.encode(q, d);
    const t = js(q, { text_pair: d });
    assert.deepEqual(Array.from(t.input_ids.data as BigInt64Array, Number), e.getIds());
    assert.deepEqual(Array.from(t.token_type_ids?.data as BigInt64Array, Number), e.getTypeIds());
    const tokens = e.getTokens();
    assert.equal(tokens[0], '[CLS]');
    assert.ok(tokens.includes('paris') && tokens.includes('capital') && tokens.includes('cafe'), tokens.join(' '));
    assert.ok(!tokens.includes('[UNK]'), `ASCII English never falls to [UNK]: ${tokens.join(' ')}`);
    assert.ok(tokens.includes('##s') || tokens.some((x) => x.startsWith('##')), 'a word outside the list splits into ## pieces');
  });

  it('writes vocab.txt in the id order of tokenizer.json, and the model window as model_max_length', () => {
    const vocab = readFileSync(join(dir, 'vocab.txt'), 'utf8').trimEnd().split('\n');
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    assert.equal(Object.keys(json.model.vocab).length, vocab.length);
    vocab.forEach((tok, i) => assert.equal(json.model.vocab[tok], i, tok));
    assert.ok(vocab.length > 20000, `a useful vocabulary: ${vocab.length}`);
    assert.equal(JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')).model_max_length, 128);
  });
});

describe('generator options', () => {
  it('is deterministic, and the seed changes the weights', async () => {
    const [a, b, c] = await Promise.all([gen('det-a', { preset: 'tiny' }), gen('det-b', { preset: 'tiny' }), gen('det-c', { preset: 'tiny', seed: 7 })]);
    const [ma, mb, mc] = await Promise.all([a, b, c].map((r) => readFile(r.modelFile)));
    assert.ok(ma && mb && mc);
    assert.ok(ma.equals(mb), 'same options must give the same bytes');
    assert.ok(!ma.equals(mc), 'a different seed must give different weights');
    assert.equal(readFileSync(join(a.dir, 'config.json'), 'utf8'), readFileSync(join(b.dir, 'config.json'), 'utf8'));
  });

  it('builds a 3-label classifier', async () => {
    const r = await gen('cls', { preset: 'tiny', labels: ['negative', 'neutral', 'positive'] });
    const s = await ort.InferenceSession.create(r.modelFile);
    assert.deepEqual((await logits(s, feeds([PAIR_A, PAIR_B]))).dims, [2, 3]);
    const config = JSON.parse(await readFile(join(r.dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.id2label, { '0': 'negative', '1': 'neutral', '2': 'positive' });
    assert.deepEqual(config.label2id, { negative: 0, neutral: 1, positive: 2 });
  });

  it('builds a graph without token_type_ids', async () => {
    const r = await gen('no-tt', { preset: 'tiny', tokenTypeIds: false, labels: 2 });
    const s = await ort.InferenceSession.create(r.modelFile);
    assert.deepEqual(s.inputNames, ['input_ids', 'attention_mask']);
    assert.deepEqual((await logits(s, feeds([PAIR_A], false))).dims, [1, 2]);
  });

  it('lays out onnx/model.onnx and lowers the tokenizer limit with --max-position', async () => {
    const r = await gen('layout', { preset: 'tiny', layout: 'onnx', maxPosition: 128 });
    assert.equal(r.modelFile, join(r.dir, 'onnx', 'model.onnx'));
    assert.ok(!existsSync(join(r.dir, 'model.onnx')));
    assert.equal(JSON.parse(readFileSync(join(r.dir, 'tokenizer_config.json'), 'utf8')).model_max_length, 128);
    assert.equal(JSON.parse(readFileSync(join(r.dir, 'config.json'), 'utf8')).max_position_embeddings, 128);
  });

  it('rejects impossible shapes and demo overrides', async () => {
    await assert.rejects(gen('bad', { preset: 'tiny', hidden: 30, heads: 4 }), /divisible/);
    await assert.rejects(gen('bad', { preset: 'demo', layers: 3 }), /fixed shape/);
  });

  it('parses the CLI flags', () => {
    assert.deepEqual(parseCliArgs(['--preset', 'minilm', '--out', 'x', '--labels', 'a,b', '--no-token-type-ids', '--layers', '3']), {
      out: 'x', preset: 'minilm', layout: 'root', layers: 3, labels: ['a', 'b'], tokenTypeIds: false,
    });
    assert.deepEqual(parseCliArgs(['--out', 'x', '--labels', '4', '--layout', 'onnx']), { out: 'x', preset: 'tiny', layout: 'onnx', labels: 4 });
    assert.throws(() => parseCliArgs(['--preset', 'huge', '--out', 'x']), /unknown preset/);
    assert.throws(() => parseCliArgs(['--out', 'x', '--bogus']));
  });

  it('generates the MiniLM-L6 shape with every weight', async () => {
    const r = await gen('minilm', { preset: 'minilm' });
    const size = (await stat(r.modelFile)).size;
    const floats = bertParams(384, 6, 1536, 1);
    assert.ok(size >= floats * 4 && size < floats * 4 + 65536, `size ${size} vs ${floats} params`);
    const s = await ort.InferenceSession.create(r.modelFile);
    assert.deepEqual((await logits(s, feeds([PAIR_A, PAIR_B]))).dims, [2, 1]);
    await rm(r.dir, { recursive: true });
  });
});

describe('transformers.js reference path', () => {
  let tf: Awaited<ReturnType<typeof loadTransformers>>;
  before(async () => {
    tf = await loadTransformers();
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
  });

  const QUERY = 'What is the capital of France?';
  const DOCS = [
    'Paris is the capital and largest city of France.',
    'The Great Wall of China is visible from space.',
    'Photosynthesis converts light energy into chemical energy.',
    'The stock market closed higher today.',
    'Berlin is the capital of Germany.',
  ];

  async function encode(dir: string) {
    const tokenizer = await tf.AutoTokenizer.from_pretrained(dir);
    return tokenizer(DOCS.map(() => QUERY), { text_pair: DOCS, padding: true });
  }

  function ortFeeds(enc: Record<string, { data: unknown; dims: number[] }>): Record<string, ort.Tensor> {
    const f: Record<string, ort.Tensor> = {};
    for (const k of ['input_ids', 'attention_mask', 'token_type_ids']) {
      const t = enc[k];
      assert.ok(t, `tokenizer gave no ${k}`);
      f[k] = new ort.Tensor('int64', t.data as BigInt64Array, t.dims);
    }
    return f;
  }

  for (const layout of ['root', 'onnx'] as const) {
    it(`loads the ${layout} layout and matches onnxruntime on the same ids`, async () => {
      const r = await gen(`tf-${layout}`, { preset: 'tiny', layout });
      const enc = await encode(r.dir);
      // v4 looks for onnx/model.onnx unless told the model sits at the root.
      const model = await tf.AutoModelForSequenceClassification.from_pretrained(r.dir, {
        dtype: 'fp32',
        ...(layout === 'root' ? { subfolder: '' } : {}),
      });
      const viaTf = Array.from((await model(enc)).logits.data as Float32Array);
      await model.dispose();
      const direct = await logits(await ort.InferenceSession.create(r.modelFile), ortFeeds(enc));
      assert.deepEqual(direct.dims, [DOCS.length, 1]);
      assertClose(viaTf, direct.data, 1e-5, 'transformers.js vs onnxruntime');
    });
  }

  it('the demo model ranks the relevant document first, padding-invariant', async () => {
    const r = await gen('demo', { preset: 'demo' });
    const config = JSON.parse(readFileSync(join(r.dir, 'config.json'), 'utf8'));
    assert.equal(config.sagemaker_reranker_demo, true);
    assert.equal(config._name_or_path, 'sagemaker-reranker/demo-lexical-overlap');
    // The demo names its activation, so `make serve` starts with no score-changing-default warning.
    const spec = buildSpec(await readModelFiles(r.dir));
    assert.ok(spec.ok, JSON.stringify(spec));
    assert.equal(spec.spec.activation, 'sigmoid');
    assert.deepEqual(spec.spec.warnings, []);
    const enc = await encode(r.dir);
    const model = await tf.AutoModelForSequenceClassification.from_pretrained(r.dir, { dtype: 'fp32', subfolder: '' });
    const scores = Array.from((await model(enc)).logits.data as Float32Array);
    await model.dispose();
    const [paris, ...others] = scores;
    assert.ok(paris !== undefined);
    for (const [i, s] of others.entries()) assert.ok(paris > s + 1, `Paris ${paris} vs "${DOCS[i + 1]}" ${s}`);
    const berlin = scores[4] ?? NaN;
    assert.ok(others.slice(0, 3).every((s) => berlin > s), `the topical Berlin document should beat unrelated ones: ${scores}`);
    assert.equal(new Set(scores.map((x) => x.toFixed(5))).size, DOCS.length, 'no ties');

    const session = await ort.InferenceSession.create(r.modelFile);
    const one = await tf.AutoTokenizer.from_pretrained(r.dir).then((t) => t(QUERY, { text_pair: DOCS[0] }));
    const alone = await logits(session, ortFeeds(one));
    assertClose(alone.data, [paris], 1e-5, 'demo padded vs alone');
  });
});
