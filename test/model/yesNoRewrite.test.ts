/**
 * The load-time yes/no rewrite against the graph it came from: on generated Qwen3-shaped decoders
 * (tied head through a Transpose, untied lm_head in external data, with past_key_values inputs, and
 * optimum's merged layout with the model inside an If on use_cache_branch), the
 * rewritten graph's [batch, 2] equals the full graph's logits of the two tokens at each row's last
 * real position within 1e-5, for a batch of mixed lengths padded right or left; the cache is reused;
 * and graphs it cannot cut say why instead of failing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { rewriteForYesNo } from '../../src/graphRewrite/rewriteCache';
import { ensureModel } from '../helpers/models';
import { qwen3TokenizerDir } from '../../scripts/genDecoder';

const YES = 9693;
const NO = 2152;
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewrite-cache-'));
after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

const i64 = (a: number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);

/** Rows of different lengths (seeded), padded on one side, position_ids from the mask as transformers computes them. */
function batch(side: 'left' | 'right'): { ids: number[]; mask: number[]; pos: number[]; lens: number[]; seq: number } {
  const lens = [7, 3, 12, 1, 9];
  const seq = Math.max(...lens);
  const ids: number[] = [];
  const mask: number[] = [];
  const pos: number[] = [];
  lens.forEach((n, r) => {
    const row = Array.from({ length: n }, (_, i) => (r * 7919 + i * 104729) % 151669);
    const pad = seq - n;
    const m = side === 'right' ? [...Array(n).fill(1), ...Array(pad).fill(0)] : [...Array(pad).fill(0), ...Array(n).fill(1)];
    ids.push(...(side === 'right' ? [...row, ...Array(pad).fill(151643)] : [...Array(pad).fill(151643), ...row]));
    mask.push(...m);
    let c = 0;
    pos.push(...m.map((x) => (x ? c++ : 1)));
  });
  return { ids, mask, pos, lens, seq };
}

async function feedsFor(s: ort.InferenceSession, b: ReturnType<typeof batch>): Promise<Record<string, ort.Tensor>> {
  const n = b.lens.length;
  const feeds: Record<string, ort.Tensor> = { input_ids: i64(b.ids, [n, b.seq]), attention_mask: i64(b.mask, [n, b.seq]), position_ids: i64(b.pos, [n, b.seq]) };
  for (const name of s.inputNames) if (name.startsWith('past_key_values')) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [n, 2, 0, 8]);
  if (s.inputNames.includes('use_cache_branch')) feeds.use_cache_branch = new ort.Tensor('bool', [false], [1]);
  return feeds;
}

describe('yes/no graph rewrite', { skip: !fs.existsSync(path.join(qwen3TokenizerDir(), 'tokenizer.json')) && 'no Qwen3 tokenizer in ../shared' }, () => {
  for (const preset of ['qwen3-tiny', 'qwen3-tiny-untied', 'qwen3-tiny-past', 'qwen3-tiny-merged'] as const) {
    it(`${preset}: rewritten [batch, 2] equals the full logits at the last real position (left and right padding)`, async () => {
      const dir = await ensureModel({ preset });
      const r = await rewriteForYesNo({ modelFile: path.join(dir, 'model.onnx'), tokenIds: [YES, NO], cacheDir });
      assert.ok(r.rewritten, r.rewritten ? '' : r.reason);
      const full = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
      const cut = await ort.InferenceSession.create(r.modelPath);
      assert.deepEqual(cut.outputNames, ['yes_no_logits']);
      for (const side of ['right', 'left'] as const) {
        const b = batch(side);
        const logits = (await full.run(await feedsFor(full, b))).logits!;
        const pair = (await cut.run(await feedsFor(cut, b))).yes_no_logits!;
        assert.deepEqual(pair.dims, [b.lens.length, 2]);
        const V = logits.dims[2] as number;
        b.lens.forEach((n, row) => {
          const last = side === 'right' ? n - 1 : b.seq - 1;
          for (const [k, id] of [YES, NO].entries()) {
            const want = (logits.data as Float32Array)[(row * b.seq + last) * V + id]!;
            const got = (pair.data as Float32Array)[row * 2 + k]!;
            assert.ok(Math.abs(got - want) <= 1e-5, `${side} row ${row} token ${id}: ${got} vs ${want}`);
          }
        });
      }
      await full.release();
      await cut.release();
      const again = await rewriteForYesNo({ modelFile: path.join(dir, 'model.onnx'), tokenIds: [YES, NO], cacheDir });
      assert.ok(again.rewritten && again.cached && again.modelPath === r.modelPath, 'the second start reuses the cached graph');
      if (preset === 'qwen3-tiny-untied') assert.deepEqual(r.externalFiles, ['model.onnx.data']);
      if (preset === 'qwen3-tiny') assert.match(r.how, /tied head.*Transpose/);
      if (preset === 'qwen3-tiny-merged') {
        // The If on use_cache_branch is gone: its else branch (the no-cache model) runs inline.
        assert.match(r.how, /merged decoder: the If on use_cache_branch replaced by its else branch/);
        const s = await ort.InferenceSession.create(r.modelPath);
        assert.ok(!s.inputNames.includes('use_cache_branch'), `inputs: ${s.inputNames.join(', ')}`);
        await s.release();
      }
    });
  }

  it('one scoring token (bge-reranker-v2-gemma style) gives [batch, 1]', async () => {
    const dir = await ensureModel({ preset: 'qwen3-tiny' });
    const r = await rewriteForYesNo({ modelFile: path.join(dir, 'model.onnx'), tokenIds: [YES], cacheDir });
    assert.ok(r.rewritten);
    const s = await ort.InferenceSession.create(r.modelPath);
    const b = batch('right');
    const out = (await s.run(await feedsFor(s, b))).yes_no_logits!;
    assert.deepEqual(out.dims, [5, 1], 'one scoring token gives [batch, 1]');
    await s.release();
  });

  it('a graph without an LM head is not rewritten, with the reason', async () => {
    const bert = await ensureModel({ preset: 'tiny' });
    const r = await rewriteForYesNo({ modelFile: path.join(bert, 'model.onnx'), tokenIds: [YES, NO], cacheDir });
    assert.equal(r.rewritten, false);
    assert.match(r.rewritten ? '' : r.reason, /not the MatMul of an LM head|no output named/);
    const seqCls = await ensureModel({ preset: 'qwen3-tiny-seqcls' });
    const s = await rewriteForYesNo({ modelFile: path.join(seqCls, 'model.onnx'), tokenIds: [YES, NO], cacheDir });
    assert.equal(s.rewritten, false);
  });
});

describe('a real export: the onnxruntime-genai fp16 tiny Llama (contrib ops, external data)', () => {
  const dir = path.join(qwen3TokenizerDir(), '..', 'hf-internal-testing__tiny-random-LlamaForCausalLM-fp16');
  it('rewrites (untied lm_head, fp16) and equals the full graph at each row\'s last position', { skip: !fs.existsSync(path.join(dir, 'model.onnx')) && 'fixture missing' }, async () => {
    const r = await rewriteForYesNo({ modelFile: path.join(dir, 'model.onnx'), tokenIds: [4874, 694], cacheDir });
    assert.ok(r.rewritten, r.rewritten ? '' : r.reason);
    assert.deepEqual(r.externalFiles, ['model.onnx.data']);
    const full = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    const cut = await ort.InferenceSession.create(r.modelPath);
    const ids = [1, 450, 7483, 310, 3444, 1, 450, 7483, 2, 2];
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const pos = [0, 1, 2, 3, 4, 0, 1, 2, 1, 1];
    const feeds = (s: ort.InferenceSession): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = { input_ids: i64(ids, [2, 5]), attention_mask: i64(mask, [2, 5]), position_ids: i64(pos, [2, 5]) };
      for (const n of s.inputNames) if (n.startsWith('past')) f[n] = new ort.Tensor('float16', new Uint16Array(0), [2, 1, 0, 16]);
      return f;
    };
    const logits = (await full.run(feeds(full))).logits!;
    const pair = (await cut.run(feeds(cut))).yes_no_logits!;
    assert.equal(pair.type, 'float16');
    const half = (t: ort.Tensor, i: number): number => {
      const h = (t.data as Uint16Array)[i]!;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const v = e === 0 ? 2 ** -14 * (m / 1024) : 2 ** (e - 15) * (1 + m / 1024);
      return h & 0x8000 ? -v : v;
    };
    for (const [row, last] of [[0, 4], [1, 2]] as const) {
      for (const [k, id] of [4874, 694].entries()) {
        const want = half(logits, (row * 5 + last) * 32000 + id);
        const got = half(pair, row * 2 + k);
        // fp16 model: the same products summed by another kernel may round differently.
        assert.ok(Math.abs(got - want) <= 2e-3, `row ${row} token ${id}: ${got} vs ${want}`);
      }
    }
    await full.release();
    await cut.release();
  });
});
