/**
 * long_documents=chunk against the real server (demo model, 128-token window): a 20,000-word
 * document whose only relevant sentence sits near its end is lost to truncation and found by
 * chunking, with the winning window's offsets; the same through every rerank shape.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'What is the capital of France?';
const RELEVANT = 'Paris is the capital and largest city of France.';
const OTHERS = ['The Great Wall of China is visible from space.', 'Photosynthesis converts light energy into chemical energy.'];
const FILLER = [
  'The river flows slowly through the green valley toward the distant sea.',
  'Farmers harvest wheat and barley in the late summer months.',
  'Mountains rise above the quiet villages covered in snow.',
  'The old library holds thousands of books about ancient history.',
  'Children play football in the park after school every afternoon.',
  'Scientists study the behavior of birds during their long migration.',
];

/** 20,000 words of unrelated prose with RELEVANT inserted after word 19,000. */
function longDocument(): { doc: string; at: number } {
  const words: string[] = [];
  for (let i = 0; words.length < 20_000; i++) words.push(...FILLER[i % FILLER.length]!.split(' '));
  const rel = RELEVANT.split(' ');
  words.length = 20_000 - rel.length;
  words.splice(19_000, 0, ...rel);
  const doc = words.join(' ');
  return { doc, at: doc.indexOf(RELEVANT) };
}

type Item = { index: number; score: number; chunk?: { start: number; end: number } };

describe('long documents (demo model, MAX_INPUT_LENGTH=128)', () => {
  let s: TestServer;
  const { doc, at } = longDocument();
  const texts = [OTHERS[0]!, doc, OTHERS[1]!];
  before(async () => {
    const dir = await ensureModel({ preset: 'demo' });
    s = await startServer({ env: { DEMO_MODEL_DIR: dir, MAX_INPUT_LENGTH: '128' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('a 20,000-word document: truncation loses the sentence near its end, chunking finds it', async () => {
    assert.equal(doc.split(' ').length, 20_000);
    assert.ok(at > doc.length * 0.9);
    const truncated = await postJson(`${s.url}/rerank`, { query: QUERY, texts });
    assert.equal(truncated.status, 200, truncated.text);
    const t = truncated.json as Item[];
    assert.notEqual(t[0]!.index, 1, 'with truncate the relevant sentence is past the window');

    const t0 = performance.now();
    const chunked = await postJson(`${s.url}/rerank`, { query: QUERY, texts, long_documents: 'chunk', return_chunk_offsets: true });
    const ms = performance.now() - t0;
    assert.equal(chunked.status, 200, chunked.text);
    const c = chunked.json as Item[];
    assert.equal(c[0]!.index, 1, 'with chunk the long document wins');
    const span = c[0]!.chunk!;
    assert.ok(span.start <= at && at + RELEVANT.length <= span.end, `window ${span.start}..${span.end} holds the sentence at ${at}`);
    assert.ok(span.end - span.start < 2000, 'one window, not the document');
    assert.ok(c[0]!.score > t.find((x) => x.index === 1)!.score);
    // Short documents fit one window, which is exactly the pair truncation builds: same score.
    for (const i of [0, 2]) assert.equal(c.find((x) => x.index === i)!.score, t.find((x) => x.index === i)!.score);
    assert.deepEqual(c.find((x) => x.index === 0)!.chunk, { start: 0, end: OTHERS[0]!.length });
    console.log(`# 20,000-word document chunked: ${ms.toFixed(0)} ms (server: tokenization ${chunked.headers.get('x-tokenization-time')} ms, inference ${chunked.headers.get('x-inference-time')} ms)`);
  });

  it('Cohere v1/v2 and /invocations chunk the same way; max_chunks_per_doc limits the windows', async () => {
    const tei = (await postJson(`${s.url}/rerank`, { query: QUERY, texts, long_documents: 'chunk', return_chunk_offsets: true })).json as Item[];
    for (const url of ['/v1/rerank', '/v2/rerank', '/invocations']) {
      const r = await postJson(`${s.url}${url}`, { query: QUERY, documents: texts, long_documents: 'chunk', return_chunk_offsets: true });
      assert.equal(r.status, 200, r.text);
      const got = (r.json.results as Array<{ index: number; relevance_score: number; chunk: unknown }>).map((x) => ({ index: x.index, score: x.relevance_score, chunk: x.chunk }));
      assert.deepEqual(got, tei, url);
      assert.ok(r.json.meta.billed_units.search_units > 1, 'every window is a billed unit');
    }
    // Cohere v1's max_chunks_per_doc implies chunking; 10 windows do not reach the end.
    const few = await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: texts, max_chunks_per_doc: 10 });
    assert.notEqual(few.json.results[0].index, 1);
  });

  it('return_chunk_offsets without chunking is a 422; max_tokens_per_doc applies before chunking', async () => {
    const bad = await postJson(`${s.url}/rerank`, { query: QUERY, texts, return_chunk_offsets: true });
    assert.equal(bad.status, 422);
    assert.match(bad.json.error, /long_documents/);
    const cut = await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: texts, long_documents: 'chunk', max_tokens_per_doc: 4096 });
    assert.notEqual(cut.json.results[0].index, 1, 'the first 4096 tokens do not reach the sentence');
  });
});
