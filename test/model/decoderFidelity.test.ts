/**
 * Decoder LLM rerankers end to end: the running server's scores on generated Qwen3-shaped models
 * (real Qwen3 tokenizer) equal an independent reference within 1e-5: @huggingface/transformers'
 * AutoTokenizer for the ids (prefix, body cut to max - prefix - suffix, suffix: the model card's
 * recipe) and AutoModelForCausalLM running the un-rewritten graph, logit[yes] - logit[no] at the
 * last position. Covered: the rewritten tied head, the rewritten untied head with past inputs, a
 * merged decoder (the model inside an If on use_cache_branch; its else branch inlined), the
 * unrewritten fallback (a head the rewrite does not recognize), and the seq-cls conversion, for
 * documents of mixed lengths in one batch, with and without a request instruction, and truncated;
 * then long_documents=chunk (each window against the reference, the best one winning), top_n and a
 * batch-transform record with chunking, and an instruction or query of megabytes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAMILIES } from '../../src/tokenize/promptTemplates';
import { qwen3TokenizerDir } from '../../scripts/genDecoder';
import { ensureModel } from '../helpers/models';
import { measured } from '../helpers/hostile';
import { postJson, startServer, type TestServer } from '../helpers/server';

const loadTransformers = () => import('@huggingface/transformers');
type TF = Awaited<ReturnType<typeof loadTransformers>>;
const QWEN3 = FAMILIES[0]!.template;
const YES = 9693;
const NO = 2152;

const QUERY = 'Which planet is known as the Red Planet?';
const DOCS = [
  "Venus is often called Earth's twin because of its similar size and proximity.",
  'Mars, known for its reddish appearance, is often referred to as the Red Planet.',
  'Jupiter, the largest planet in our solar system, has a prominent red spot. '.repeat(3),
  'Saturn.',
  'Crème brûlée, 東京, 👍 — a document with non-ASCII text and a longer tail: ' + 'dust storms on the surface '.repeat(6),
];
const LONG = 'The red colour of Mars comes from iron oxide in its soil and dust. '.repeat(40);

/** The reference: transformers.js tokenizer + AutoModelForCausalLM on the un-rewritten graph, one pair at a time. */
class Reference {
  private constructor(
    private readonly tok: Awaited<ReturnType<TF['AutoTokenizer']['from_pretrained']>>,
    private readonly model: Awaited<ReturnType<TF['AutoModelForCausalLM']['from_pretrained']>>,
    private readonly tf: TF,
  ) {}

  static async load(tf: TF, dir: string): Promise<Reference> {
    const tok = await tf.AutoTokenizer.from_pretrained(dir);
    const model = await tf.AutoModelForCausalLM.from_pretrained(dir, { dtype: 'fp32', subfolder: '' });
    return new Reference(tok, model, tf);
  }

  async logOdds(query: string, doc: string, instruction: string, maxLength: number): Promise<number> {
    const enc = (s: string): number[] => this.tok.encode(s, { add_special_tokens: false });
    const prefix = enc(QWEN3.prefix);
    const suffix = enc(QWEN3.suffix);
    const body = enc(`<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>: ${doc}`).slice(0, maxLength - prefix.length - suffix.length);
    const ids = [...prefix, ...body, ...suffix];
    const t = (xs: number[]) => new this.tf.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
    const out = await this.model({ input_ids: t(ids), attention_mask: t(ids.map(() => 1)) });
    const logits = out.logits as { data: Float32Array; dims: number[] };
    const base = (ids.length - 1) * logits.dims[2]!;
    return logits.data[base + YES]! - logits.data[base + NO]!;
  }

  /** logit[yes] - logit[no] at the last position of the given ids (one unpadded row). */
  async logOddsOf(ids: number[]): Promise<number> {
    const t = (xs: number[]) => new this.tf.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
    const out = await this.model({ input_ids: t(ids), attention_mask: t(ids.map(() => 1)) });
    const logits = out.logits as { data: Float32Array; dims: number[] };
    const base = (ids.length - 1) * logits.dims[2]!;
    return logits.data[base + YES]! - logits.data[base + NO]!;
  }

  /**
   * long_documents=chunk as documented: the document's ids (tokenized after the space that ends
   * "<Document>: ") in windows of max - prefix - suffix - (instruction/query) tokens, consecutive
   * windows sharing min(64, window / 4), each wrapped in the whole prompt; the best window wins.
   * A document that fits is the ordinary truncation pair. Returns every window's log-odds.
   */
  async chunkLogOdds(query: string, doc: string, instruction: string, maxLength: number): Promise<number[]> {
    const enc = (s: string): number[] => this.tok.encode(s, { add_special_tokens: false });
    const prefix = enc(QWEN3.prefix);
    const suffix = enc(QWEN3.suffix);
    const budget = maxLength - prefix.length - suffix.length;
    if (enc(`<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>: ${doc}`).length <= budget) return [await this.logOdds(query, doc, instruction, maxLength)];
    const head = enc(`<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>:`);
    const ids = enc(` ${doc}`);
    const window = budget - head.length;
    const stride = Math.min(64, Math.floor(window / 4));
    const out: number[] = [];
    for (let start = 0; ; start += window - stride) {
      out.push(await this.logOddsOf([...prefix, ...head, ...ids.slice(start, start + window), ...suffix]));
      if (start + window >= ids.length) return out;
    }
  }

  dispose(): Promise<unknown> {
    return this.model.dispose();
  }
}

const haveTokenizer = fs.existsSync(path.join(qwen3TokenizerDir(), 'tokenizer.json'));
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'decoder-cache-'));

interface Case {
  readonly name: string;
  readonly preset: 'qwen3-tiny' | 'qwen3-tiny-past' | 'qwen3-tiny-merged' | 'qwen3-tiny-opaque' | 'qwen3-tiny-seqcls';
  /** the causal model the reference runs (the seq-cls conversion is checked against its causal twin) */
  readonly refPreset: 'qwen3-tiny' | 'qwen3-tiny-past';
  readonly rewritten: boolean;
}

const CASES: Case[] = [
  { name: 'tied head, rewritten', preset: 'qwen3-tiny', refPreset: 'qwen3-tiny', rewritten: true },
  { name: 'untied head with past_key_values inputs, rewritten', preset: 'qwen3-tiny-past', refPreset: 'qwen3-tiny-past', rewritten: true },
  { name: "optimum's merged layout (If on use_cache_branch), else branch inlined and rewritten", preset: 'qwen3-tiny-merged', refPreset: 'qwen3-tiny-past', rewritten: true },
  { name: 'unrecognized head, served unrewritten', preset: 'qwen3-tiny-opaque', refPreset: 'qwen3-tiny', rewritten: false },
  { name: 'seq-cls conversion (score row = head[yes] - head[no])', preset: 'qwen3-tiny-seqcls', refPreset: 'qwen3-tiny', rewritten: false },
];

describe('decoder reranker fidelity against transformers.js AutoModelForCausalLM', { skip: !haveTokenizer && 'no Qwen3 tokenizer in ../shared' }, () => {
  let tf: TF;
  before(async () => {
    tf = await loadTransformers();
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
  });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  for (const c of CASES) {
    describe(c.name, () => {
      let server: TestServer;
      let ref: Reference;
      const maxLength = 96;
      before(async () => {
        const dir = await ensureModel({ preset: c.preset });
        ref = await Reference.load(tf, await ensureModel({ preset: c.refPreset }));
        // A budget above the CPU default (512), so the documents of mixed lengths share one batch and the
        // unrewritten graph's own cap (884 tokens) is the one that shows.
        server = await startServer({ env: { MODEL_DIR: dir, MODEL_CACHE_DIR: cacheDir, MAX_INPUT_LENGTH: String(maxLength), MAX_BATCH_TOKENS: '4096' } });
      });
      after(async () => {
        await server?.stop();
        await ref?.dispose();
      });

      const check = async (body: Record<string, unknown>, instruction: string, docs: string[]): Promise<void> => {
        const r = await postJson(`${server.url}/rerank`, { query: QUERY, texts: docs, raw_scores: true, ...body });
        assert.equal(r.status, 200, r.text);
        for (const { index, score } of r.json as Array<{ index: number; score: number }>) {
          const want = await ref.logOdds(QUERY, docs[index]!, instruction, maxLength);
          assert.ok(Math.abs(score - want) <= 1e-5, `doc ${index}: server ${score} vs reference ${want}`);
        }
      };

      it('mixed lengths in one batch, default instruction, one truncated document', async () => {
        await check({}, QWEN3.defaultInstruction!, [...DOCS, LONG]);
      });

      it('a request instruction changes the prompt, and the scores follow the reference', async () => {
        const ins = 'Find the passage that names the planet';
        await check({ instruction: ins }, ins, DOCS);
        const plain = await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS.slice(0, 1), raw_scores: true });
        const other = await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS.slice(0, 1), raw_scores: true, instruction: ins });
        assert.notEqual((plain.json as Array<{ score: number }>)[0]!.score, (other.json as Array<{ score: number }>)[0]!.score);
      });

      it('activated scores are sigmoid(logit[yes] - logit[no]); /info shows the decision', async () => {
        const r = await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS.slice(0, 2) });
        for (const { index, score } of r.json as Array<{ index: number; score: number }>) {
          const want = 1 / (1 + Math.exp(-(await ref.logOdds(QUERY, DOCS[index]!, QWEN3.defaultInstruction!, maxLength))));
          assert.ok(Math.abs(score - want) <= 1e-5, `doc ${index}: ${score} vs ${want}`);
        }
        const info = (await (await fetch(`${server.url}/info`)).json()) as { scoring: { kind: string; tokens: Array<{ id: number }>; template: { last_ids: number[] }; graph: { rewritten: boolean } } };
        assert.equal(info.scoring.kind, 'yes-no');
        assert.deepEqual(info.scoring.tokens.map((t) => t.id), [YES, NO]);
        assert.deepEqual(info.scoring.template.last_ids, [271, 151668, 271]);
        assert.equal(info.scoring.graph.rewritten, c.rewritten);
        if (c.preset === 'qwen3-tiny-opaque') {
          // Unrewritten: one run's [batch, seq, 151669] fp32 logits stay under 512 MiB.
          const limits = ((await (await fetch(`${server.url}/info`)).json()) as { limits: { max_batch_tokens: number } }).limits;
          assert.equal(limits.max_batch_tokens, Math.floor((512 * 2 ** 20) / (151669 * 4)));
        }
      });
    });
  }

  it('instruction via the custom attributes header (percent-encoded) and on the Cohere route', async () => {
    const dir = await ensureModel({ preset: 'qwen3-tiny' });
    const ref = await Reference.load(tf, dir);
    const server = await startServer({ env: { MODEL_DIR: dir, MODEL_CACHE_DIR: cacheDir } });
    try {
      const ins = 'Judge; strictly, by facts';
      const want = await ref.logOdds(QUERY, DOCS[1]!, ins, 8192);
      const viaHeader = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amzn-sagemaker-custom-attributes': `raw_scores=true;instruction=${encodeURIComponent(ins)}` },
        body: JSON.stringify({ query: QUERY, texts: [DOCS[1]] }),
      });
      const h = (await viaHeader.json()) as Array<{ score: number }>;
      assert.ok(Math.abs(h[0]!.score - want) <= 1e-5, `header: ${h[0]!.score} vs ${want}`);
      const cohere = await postJson(`${server.url}/v2/rerank`, { query: QUERY, documents: [DOCS[1]], raw_scores: true, instruction: ins });
      const s = (cohere.json as { results: Array<{ relevance_score: number }> }).results[0]!.relevance_score;
      assert.ok(Math.abs(s - want) <= 1e-5, `cohere: ${s} vs ${want}`);
      // Existing routes keep working: top_n, max_tokens_per_doc.
      const top = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_n: 2, max_tokens_per_doc: 16 });
      assert.equal(top.status, 200, top.text);
      assert.equal((top.json as { results: unknown[] }).results.length, 2);
      const health = await fetch(`${server.url}/ping`);
      assert.equal(health.status, 200);
    } finally {
      await server.stop();
      await ref.dispose();
    }
  });

  it('INSTRUCTION sets the default a request without one gets (the prompt uses it, /info shows it)', async () => {
    const dir = await ensureModel({ preset: 'qwen3-tiny' });
    const ref = await Reference.load(tf, dir);
    const ins = 'Prefer passages that name a planet';
    const server = await startServer({ env: { MODEL_DIR: dir, MODEL_CACHE_DIR: cacheDir, INSTRUCTION: ins } });
    try {
      const r = await postJson(`${server.url}/rerank`, { query: QUERY, texts: [DOCS[1]], raw_scores: true });
      const want = await ref.logOdds(QUERY, DOCS[1]!, ins, 8192);
      const got = (r.json as Array<{ score: number }>)[0]!.score;
      assert.ok(Math.abs(got - want) <= 1e-5, `${got} vs ${want}`);
      const info = (await (await fetch(`${server.url}/info`)).json()) as { scoring: { instruction: { default: string } } };
      assert.equal(info.scoring.instruction.default, ins);
    } finally {
      await server.stop();
      await ref.dispose();
    }
  });

  describe('long_documents=chunk (windows wrapped in the prompt, best window wins)', () => {
    const maxLength = 160;
    let server: TestServer;
    let ref: Reference;
    before(async () => {
      const dir = await ensureModel({ preset: 'qwen3-tiny' });
      ref = await Reference.load(tf, dir);
      server = await startServer({ env: { MODEL_DIR: dir, MODEL_CACHE_DIR: cacheDir, MAX_INPUT_LENGTH: String(maxLength) } });
    });
    after(async () => {
      await server?.stop();
      await ref?.dispose();
    });
    // Two long documents with the relevant sentence at different places, and short ones.
    const docs = [DOCS[0]!, LONG, 'Dust covers the plains. '.repeat(30) + DOCS[1]! + ' Rocks and craters follow. '.repeat(30), DOCS[3]!];

    it('each window equals the un-rewritten reference; the document takes its best window (raw and activated)', async () => {
      for (const [instruction, body] of [
        [QWEN3.defaultInstruction!, {}],
        ['Find the passage that names the planet', { instruction: 'Find the passage that names the planet' }],
      ] as const) {
        const r = await postJson(`${server.url}/rerank`, { query: QUERY, texts: docs, raw_scores: true, long_documents: 'chunk', return_chunk_offsets: true, ...body });
        assert.equal(r.status, 200, r.text);
        const got = r.json as Array<{ index: number; score: number; chunk: { start: number; end: number } }>;
        assert.equal(got.length, docs.length);
        for (const { index, score, chunk } of got) {
          const windows = await ref.chunkLogOdds(QUERY, docs[index]!, instruction, maxLength);
          if (index === 1 || index === 2) assert.ok(windows.length > 2, `doc ${index} needs several windows (${windows.length})`);
          const want = Math.max(...windows);
          assert.ok(Math.abs(score - want) <= 1e-5, `doc ${index}: server ${score} vs best of ${windows.length} reference windows ${want}`);
          assert.ok(chunk.start >= 0 && chunk.end <= docs[index]!.length && chunk.start < chunk.end);
        }
      }
      const act = await postJson(`${server.url}/rerank`, { query: QUERY, texts: docs.slice(1, 3), long_documents: 'chunk' });
      for (const { index, score } of act.json as Array<{ index: number; score: number }>) {
        const want = 1 / (1 + Math.exp(-Math.max(...(await ref.chunkLogOdds(QUERY, docs[1 + index]!, QWEN3.defaultInstruction!, maxLength)))));
        assert.ok(Math.abs(score - want) <= 1e-5, `activated doc ${index}: ${score} vs ${want}`);
      }
    });

    it('/v1/rerank with top_n, and a batch-transform JSON Lines record on /invocations, chunk the same way', async () => {
      const tei = (await postJson(`${server.url}/rerank`, { query: QUERY, texts: docs, long_documents: 'chunk' })).json as Array<{ index: number; score: number }>;
      const top = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents: docs, top_n: 2, long_documents: 'chunk' });
      assert.equal(top.status, 200, top.text);
      const results = (top.json as { results: Array<{ index: number; relevance_score: number }> }).results;
      assert.deepEqual(results.map((x) => ({ index: x.index, score: x.relevance_score })), tei.slice(0, 2));
      const lines = [{ query: QUERY, documents: docs, long_documents: 'chunk' }, { query: QUERY, texts: docs, long_documents: 'chunk', raw_scores: true }];
      const jl = await fetch(`${server.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/jsonlines' }, body: lines.map((l) => JSON.stringify(l)).join('\n') });
      assert.equal(jl.status, 200);
      const out = (await jl.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual((out[0]!.results as Array<{ index: number; relevance_score: number }>).map((x) => ({ index: x.index, score: x.relevance_score })), tei);
      const raw = out[1] as unknown as Array<{ index: number; score: number }>;
      for (const { index, score } of raw) {
        const want = Math.max(...(await ref.chunkLogOdds(QUERY, docs[index]!, QWEN3.defaultInstruction!, maxLength)));
        assert.ok(Math.abs(score - want) <= 1e-5, `record doc ${index}: ${score} vs ${want}`);
      }
    });

    it('an instruction of megabytes is a 422 (8192 characters at most); one that fills the prompt is cut as the reference cuts it; a query of megabytes is bounded; /ping stays up', async () => {
      const huge = 'Judge relevance carefully. '.repeat(150_000); // about 4 MB
      const long = huge.slice(0, 8000); // under the limit, far over the 112-token prompt body
      const m = await measured(server.url, server.proc.pid!, async () => ({
        huge: await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS.slice(0, 2), instruction: huge }),
        cut: await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS.slice(0, 2), raw_scores: true, instruction: long }),
        chunk: await postJson(`${server.url}/rerank`, { query: QUERY, texts: [LONG], long_documents: 'chunk', instruction: long }),
        hugeQuery: await postJson(`${server.url}/rerank`, { query: huge, texts: DOCS.slice(0, 2), raw_scores: true }),
        hugeQueryChunk: await postJson(`${server.url}/rerank`, { query: huge, texts: [LONG], long_documents: 'chunk' }),
      }));
      const r = m.result;
      assert.equal(r.huge.status, 422);
      assert.match(r.huge.text, /instruction.*8192/);
      // Truncation: only the body's first tokens survive, as in the reference (the document is not reached).
      assert.equal(r.cut.status, 200, r.cut.text.slice(0, 300));
      for (const { index, score } of r.cut.json as Array<{ index: number; score: number }>) {
        const want = await ref.logOdds(QUERY, DOCS[index]!, long, maxLength);
        assert.ok(Math.abs(score - want) <= 1e-5, `doc ${index}: ${score} vs ${want}`);
      }
      assert.equal(r.hugeQuery.status, 200, r.hugeQuery.text.slice(0, 300));
      // Chunking needs room for the document: instruction and query may take half the body at most.
      for (const c of [r.chunk, r.hugeQueryChunk]) {
        assert.equal(c.status, 422, c.text.slice(0, 300));
        assert.match(c.text, /instruction and query take more than half/);
      }
      assert.equal(m.ping.failed, 0);
      assert.ok(m.ping.maxMs < 1000, `/ping took ${m.ping.maxMs.toFixed(0)} ms during the requests`);
      console.log(`# decoder, 4 MB instruction and query: ${m.ms.toFixed(0)} ms for the five requests, +${m.rssMb.toFixed(0)} MiB RSS, /ping max ${m.ping.maxMs.toFixed(0)} ms`);
      assert.equal((await fetch(`${server.url}/ping`)).status, 200);
    });
  });
});
