/**
 * Score fidelity: for every ONNX model the tests have (generated and real exports), the scores the
 * running server returns equal an independent reference — @huggingface/transformers'
 * AutoTokenizer + AutoModelForSequenceClassification on the same folder — within 1e-5, and a pair's
 * score does not change when it shares a batch with longer pairs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { bertTokenizerDir, sharedFixture } from '../helpers/paths';
import { postJson, startServer, type TestServer } from '../helpers/server';

const loadTransformers = () => import('@huggingface/transformers');
type TF = Awaited<ReturnType<typeof loadTransformers>>;

const QUERY = 'what is the capital of france?';
const DOCS = [
  'Paris is the capital and largest city of France.',
  'The Great Wall of China is visible from space, some say.',
  'Photosynthesis converts light energy into chemical energy in plants and algae.',
  'Berlin is the capital of Germany.',
  'Café, naïve, São Paulo: accents should tokenize the same way.',
];

interface Case {
  readonly name: string;
  /** Folder the server serves. */
  serveDir(): Promise<string>;
  /** Folder the reference loads (the same unless the export lacks files transformers.js needs). */
  refDir(serveDir: string): string;
  readonly docs: readonly string[];
  readonly query: string;
  readonly labels: number;
}

const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fidelity-'));
  tmpDirs.push(d);
  return d;
}

function copyFiles(from: string, to: string, names: string[]): void {
  for (const n of names) fs.copyFileSync(path.join(from, n), path.join(to, n));
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

const CASES: Case[] = [
  { name: 'generated tiny BERT (root layout)', serveDir: () => ensureModel({ preset: 'tiny' }), refDir: (d) => d, docs: DOCS, query: QUERY, labels: 1 },
  {
    name: 'generated tiny BERT without token_type_ids (onnx/ layout)',
    serveDir: () => ensureModel({ preset: 'tiny', layout: 'onnx', tokenTypeIds: false, seed: 7 }),
    refDir: (d) => d,
    docs: DOCS,
    query: QUERY,
    labels: 1,
  },
  { name: 'generated 3-label classifier', serveDir: () => ensureModel({ preset: 'tiny', labels: 3, seed: 3 }), refDir: (d) => d, docs: DOCS, query: QUERY, labels: 3 },
  { name: 'embedded demo model', serveDir: () => ensureModel({ preset: 'demo' }), refDir: (d) => d, docs: DOCS, query: QUERY, labels: 1 },
  {
    // A real torch export with no config.json: the server decides from the graph and tokenizer alone;
    // the reference needs a config, so it gets a copy with one.
    name: 'opensearch TinyXLMRoberta-CE (real export)',
    serveDir: async () => {
      const d = tmp();
      copyFiles(sharedFixture('onnx', 'opensearch__TinyXLMRoberta-CE-onnx'), d, ['model.onnx', 'tokenizer.json']);
      return d;
    },
    refDir: (serve) => {
      const d = tmp();
      copyFiles(serve, d, ['model.onnx', 'tokenizer.json']);
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ model_type: 'xlm-roberta', architectures: ['XLMRobertaForSequenceClassification'], id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 }, pad_token_id: 1 }));
      fs.writeFileSync(path.join(d, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'XLMRobertaTokenizer', model_max_length: 62, bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', sep_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', mask_token: '<mask>' }));
      return d;
    },
    // Its position table has 64 rows (62 tokens): short texts only, so no truncation is involved.
    docs: ['paris is the capital', 'a wall in china', 'light energy'],
    query: 'capital of france',
    labels: 1,
  },
  {
    name: 'optimum tiny DistilBERT classifier (real export) with the bert-base-uncased tokenizer',
    serveDir: async () => {
      const d = tmp();
      copyFiles(sharedFixture('onnx', 'optimum__tiny-distilbert-classification'), d, ['model.onnx', 'config.json']);
      copyFiles(bertTokenizerDir(), d, TOKENIZER_FILES);
      return d;
    },
    refDir: (d) => d,
    docs: DOCS,
    query: QUERY,
    labels: 2,
  },
];

async function reference(tf: TF, dir: string, query: string, docs: readonly string[]): Promise<number[][]> {
  const tokenizer = await tf.AutoTokenizer.from_pretrained(dir);
  const enc = tokenizer(docs.map(() => query), { text_pair: [...docs], padding: true, truncation: false });
  const layoutOpts = fs.existsSync(path.join(dir, 'model.onnx')) ? { subfolder: '' } : {};
  const model = await tf.AutoModelForSequenceClassification.from_pretrained(dir, { dtype: 'fp32', ...layoutOpts });
  const out = await model(enc);
  const data = Array.from(out.logits.data as Float32Array);
  const n = out.logits.dims[1] as number;
  await model.dispose();
  return docs.map((_, i) => data.slice(i * n, i * n + n));
}

function close(a: number, b: number, tol = 1e-5): boolean {
  return Math.abs(a - b) <= tol;
}

describe('score fidelity against @huggingface/transformers', () => {
  let tf: TF;
  before(async () => {
    tf = await loadTransformers();
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
  });
  after(() => {
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const c of CASES) {
    describe(c.name, () => {
      let server: TestServer;
      let dir: string;
      before(async () => {
        dir = await c.serveDir();
        server = await startServer({ env: { MODEL_DIR: dir } });
      });
      after(async () => {
        await server?.stop();
      });

      it('returns the reference logits (raw_scores) and activated scores', async () => {
        const ref = await reference(tf, c.refDir(dir), c.query, c.docs);
        const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
        if (c.labels === 1) {
          const raw = await postJson(`${server.url}/rerank`, { query: c.query, texts: c.docs, raw_scores: true });
          assert.equal(raw.status, 200, raw.text);
          for (const r of raw.json as Array<{ index: number; score: number }>) {
            assert.ok(close(r.score, ref[r.index]![0]!), `doc ${r.index}: server ${r.score} vs reference ${ref[r.index]![0]}`);
          }
          const info = (await (await fetch(`${server.url}/info`)).json()) as { spec: { activation: string } };
          const act = await postJson(`${server.url}/rerank`, { query: c.query, texts: c.docs });
          for (const r of act.json as Array<{ index: number; score: number }>) {
            const expected = info.spec.activation === 'identity' ? ref[r.index]![0]! : sigmoid(ref[r.index]![0]!);
            assert.ok(close(r.score, expected), `activated doc ${r.index}: ${r.score} vs ${expected}`);
          }
          const sorted = (act.json as Array<{ score: number }>).map((r) => r.score);
          assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a), 'sorted best first');
        } else {
          const raw = await postJson(`${server.url}/predict`, { inputs: c.docs.map((d) => [c.query, d]), raw_scores: true });
          assert.equal(raw.status, 200, raw.text);
          const info = (await (await fetch(`${server.url}/info`)).json()) as { spec: { labels: string[] } };
          (raw.json as Array<Array<{ label: string; score: number }>>).forEach((row, i) => {
            assert.equal(row.length, c.labels);
            for (const { label, score } of row) {
              const j = info.spec.labels.indexOf(label);
              assert.ok(j >= 0, `unknown label ${label}`);
              assert.ok(close(score, ref[i]![j]!), `pair ${i} ${label}: ${score} vs ${ref[i]![j]}`);
            }
          });
          const probs = await postJson(`${server.url}/predict`, { inputs: c.docs.map((d) => [c.query, d]) });
          for (const row of probs.json as Array<Array<{ score: number }>>) {
            assert.ok(close(row.reduce((s, x) => s + x.score, 0), 1, 1e-9), 'softmax sums to 1');
          }
        }
      });

      it('a pair scores the same alone and batched with longer pairs (padding invariance)', async () => {
        const route = c.labels === 1 ? 'rerank' : 'predict';
        const ask = async (docs: string[]): Promise<number[]> => {
          const r = await postJson(`${server.url}/${route}`, route === 'rerank' ? { query: c.query, texts: docs, raw_scores: true } : { inputs: docs.map((d) => [c.query, d]), raw_scores: true });
          assert.equal(r.status, 200, r.text);
          if (route === 'rerank') return (r.json as Array<{ index: number; score: number }>).sort((a, b) => a.index - b.index).map((x) => x.score);
          return (r.json as Array<Array<{ label: string; score: number }>>).map((row) => row.find((x) => x.label === row.map((y) => y.label).sort()[0])!.score);
        };
        const short = c.docs[0]!;
        const longer = c.docs.slice(1).map((d) => `${d} ${d}`.slice(0, 120));
        const alone = (await ask([short]))[0]!;
        const batched = (await ask([short, ...longer]))[0]!;
        assert.ok(close(alone, batched), `alone ${alone} vs batched ${batched}`);
      });
    });
  }
});
