/**
 * The extensions beyond the anchors' APIs, against the real server (demo model): min_score,
 * document ids and record ids, usage counts, many queries in one call, and the result cache.
 * Each expectation is checked against the plain single-query routes, not against fixed numbers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { sampleValue, scrape } from '../helpers/metrics';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'What is the capital of France?';
const DOCS = [
  'The Great Wall of China is visible from space.',
  'Paris is the capital and largest city of France.',
  'Photosynthesis converts light energy into chemical energy.',
  'France is a country in Western Europe; its capital is Paris.',
  'The capital of Italy is Rome.',
];
type Ranked = Array<{ index: number; score: number }>;
type CohereOut = { id: string; results: Array<{ index: number; id?: string | number; relevance_score: number; document?: unknown }>; meta: { billed_units: { search_units: number }; tokens: { input_tokens: number } }; usage: { total_tokens: number } };

describe('API extensions', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), RESULT_CACHE_MB: '64' } });
  });
  after(async () => {
    await s?.stop();
  });
  const post = (route: string, body: unknown, headers: Record<string, string> = {}) => postJson(s.url + route, body, headers);

  describe('min_score', () => {
    it('leaves out results below it, on the score as returned, and top_n takes the best of the rest', async () => {
      const all = (await post('/rerank', { query: QUERY, texts: DOCS })).json as Ranked;
      const min = (all[1]!.score + all[2]!.score) / 2;
      const cut = (await post('/rerank', { query: QUERY, texts: DOCS, min_score: min })).json as Ranked;
      assert.deepEqual(cut, all.filter((r) => r.score >= min));
      assert.equal(cut.length, 2);
      const top1 = (await post('/rerank', { query: QUERY, texts: DOCS, min_score: min, top_n: 1 })).json as Ranked;
      assert.deepEqual(top1, all.slice(0, 1));
      const none = await post('/v1/rerank', { query: QUERY, documents: DOCS, min_score: 2 });
      assert.equal(none.status, 200);
      assert.deepEqual((none.json as CohereOut).results, [], 'no sigmoid score reaches 2');
      const raw = (await post('/rerank', { query: QUERY, texts: DOCS, raw_scores: true })).json as Ranked;
      const rawCut = (await post('/v2/rerank', { query: QUERY, documents: DOCS, raw_scores: true, min_score: 0 })).json as CohereOut;
      assert.deepEqual(rawCut.results.map((r) => r.index), raw.filter((r) => r.score >= 0).map((r) => r.index), 'on logits with raw_scores');
      assert.equal((await post('/rerank', { query: QUERY, texts: DOCS, min_score: 'high' })).status, 422);
    });
  });

  describe('structured documents and ids', () => {
    it('echoes each document object\'s id, returns the object as sent, and ranks on rank_fields', async () => {
      const docs = [
        { id: 'wall', title: 'China', body: DOCS[0], meta: { year: 1 } },
        { id: 42, title: 'France', body: DOCS[1] },
        { title: 'Biology', body: DOCS[2] },
      ];
      const r = await post('/v1/rerank', { query: QUERY, documents: docs, rank_fields: ['title', 'body'], return_documents: true });
      assert.equal(r.status, 200, r.text);
      const out = r.json as CohereOut;
      for (const res of out.results) {
        assert.deepEqual(res.document, docs[res.index], 'the object as sent');
        if ('id' in docs[res.index]!) assert.equal(res.id, (docs[res.index] as { id: unknown }).id);
        else assert.ok(!('id' in res));
      }
      const asText = (await post('/v1/rerank', { query: QUERY, documents: docs.map((d) => `title: ${d.title}\nbody: ${d.body}`) })).json as CohereOut;
      assert.deepEqual(out.results.map((x) => [x.index, x.relevance_score]), asText.results.map((x) => [x.index, x.relevance_score]), 'rank_fields text is "field: value" lines');
    });

    it('echoes a JSON Lines record\'s id on its output line, also on an error line', async () => {
      const lines = [
        { id: 'a-1', query: QUERY, texts: DOCS.slice(0, 2) },
        { id: 7, query: QUERY, documents: [{ id: 'p', text: DOCS[1] }] },
        { query: QUERY, texts: [DOCS[0]] },
        { id: 'bad', query: QUERY, texts: [] },
      ];
      const r = await fetch(`${s.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/jsonlines' }, body: lines.map((l) => JSON.stringify(l)).join('\n') });
      assert.equal(r.status, 200);
      const out = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(out.length, 4);
      assert.equal(out[0].id, 'a-1');
      assert.deepEqual(out[0].results, (await post('/rerank', lines[0])).json, 'an array answer is wrapped as {id, results}');
      assert.equal(out[1].id, 7, 'the Cohere answer carries the record id');
      assert.equal(out[1].results[0].id, 'p');
      assert.ok(Array.isArray(out[2]), 'a record without id keeps its plain answer');
      assert.deepEqual(out[3], { error: '`texts` is empty: send at least one text to rerank', error_type: 'Empty', id: 'bad' });
    });
  });

  describe('usage', () => {
    it('gives tokens in the Cohere and Jina blocks and in headers for bare-array answers, the same count everywhere', async () => {
      const tei = await post('/rerank', { query: QUERY, texts: DOCS }, { 'cache-control': 'no-cache' });
      const tokens = Number(tei.headers.get('x-input-tokens'));
      assert.ok(tokens > DOCS.length * 3, `${tokens} tokens`);
      assert.equal(tei.headers.get('x-scored-pairs'), String(DOCS.length));
      const co = await post('/v1/rerank', { query: QUERY, documents: DOCS });
      const out = co.json as CohereOut;
      assert.equal(out.meta.tokens.input_tokens, tokens);
      assert.equal(out.usage.total_tokens, tokens);
      assert.equal(out.meta.billed_units.search_units, 1);
      assert.equal(co.headers.get('x-input-tokens'), String(tokens), 'the same count on a cache hit');
      const many = (await post('/v1/rerank', { query: QUERY, documents: Array.from({ length: 150 }, (_, i) => `doc ${i}`) })).json as CohereOut;
      assert.equal(many.meta.billed_units.search_units, 2, 'one unit per 100 documents');
    });
  });

  describe('many queries in one call', () => {
    const QUERIES = [QUERY, 'Where is the Great Wall?', 'How do plants make energy?'];
    it('gives one ranked list per query, in query order, each the same as a single-query call', async () => {
      const docs = DOCS.map((text, i) => ({ id: `d${i}`, text }));
      const r = await post('/rerank/multi', { queries: QUERIES, documents: docs, top_n: 3 });
      assert.equal(r.status, 200, r.text);
      const out = r.json as { results: Array<{ query_index: number; results: CohereOut['results'] }>; usage: { total_tokens: number }; meta: { billed_units: { search_units: number } } };
      assert.deepEqual(out.results.map((x) => x.query_index), [0, 1, 2]);
      let tokens = 0;
      for (const [q, query] of QUERIES.entries()) {
        const single = await post('/v1/rerank', { query, documents: docs, top_n: 3 }, { 'cache-control': 'no-cache' });
        const one = single.json as CohereOut;
        assert.deepEqual(out.results[q]!.results, one.results, `query ${q}`);
        tokens += one.usage.total_tokens;
      }
      assert.equal(out.usage.total_tokens, tokens, 'the same tokens as separate calls');
      assert.equal(out.meta.billed_units.search_units, 3);
      const inv = await post('/invocations', { queries: QUERIES, documents: docs, top_n: 3 });
      assert.deepEqual((inv.json as typeof out).results, out.results, 'the same shape on /invocations');
      assert.equal((await post('/rerank/multi', { queries: [], documents: DOCS })).json.error_type, 'Empty');
      assert.equal((await post('/rerank/multi', { queries: 'one', documents: DOCS })).status, 422);
    });
  });

  describe('result cache', () => {
    before(async () => {
      // The model is hashed after /ping says 200; the cache turns on when that is done.
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const info = (await (await fetch(`${s.url}/info`)).json()) as { result_cache: { max_mb?: number } };
        if (info.result_cache.max_mb !== undefined) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail('the result cache did not turn on within 30 s of ready');
    });
    const cacheCounts = async (): Promise<{ hits: number; misses: number }> => {
      const { samples } = await scrape(s.url);
      return { hits: sampleValue(samples, 'reranker_result_cache_hits_total') ?? 0, misses: sampleValue(samples, 'reranker_result_cache_misses_total') ?? 0 };
    };
    const delta = async (f: () => Promise<unknown>): Promise<{ hits: number; misses: number }> => {
      const a = await cacheCounts();
      await f();
      const b = await cacheCounts();
      return { hits: b.hits - a.hits, misses: b.misses - a.misses };
    };

    it('answers a repeated pair from the cache with the identical score, across dialects', async () => {
      const texts = DOCS.map((d) => `${d} (cache test 1)`);
      const body = { query: QUERY, texts, raw_scores: true };
      let first: Ranked = [];
      assert.deepEqual(await delta(async () => (first = (await post('/rerank', body)).json)), { hits: 0, misses: texts.length });
      let second: Ranked = [];
      assert.deepEqual(await delta(async () => (second = (await post('/rerank', body)).json)), { hits: texts.length, misses: 0 });
      assert.deepEqual(second, first, 'bit-identical scores');
      let fresh: Ranked = [];
      assert.deepEqual(await delta(async () => (fresh = (await post('/rerank', body, { 'cache-control': 'no-cache' })).json)), { hits: 0, misses: 0 }, 'Cache-Control: no-cache bypasses');
      assert.deepEqual(fresh, first, 'the cached score is the score the model gives');
      let co: CohereOut | undefined;
      assert.deepEqual(await delta(async () => (co = (await post('/v1/rerank', { query: QUERY, documents: texts })).json)), { hits: texts.length, misses: 0 }, 'shared with the Cohere shape');
      const activated = ((await post('/rerank', { query: QUERY, texts }, { 'cache-control': 'no-cache' })).json as Ranked);
      assert.deepEqual(co!.results.map((r) => [r.index, r.relevance_score]), activated.map((r) => [r.index, r.score]), 'logits are cached, the activation applies after');
    });

    it('misses on every option that changes a score', async () => {
      const texts = [`${DOCS[1]} (cache test 2)`];
      const base = { query: QUERY, texts };
      await post('/rerank', base);
      assert.deepEqual(await delta(() => post('/rerank', base)), { hits: 1, misses: 0 });
      const variants: Array<[string, object]> = [
        ['another query', { ...base, query: `${QUERY}?` }],
        ['another document', { ...base, texts: [`${texts[0]}.`] }],
        ['truncate=false', { ...base, truncate: false }],
        ['truncation_direction=left', { ...base, truncation_direction: 'left' }],
        ['long_documents=chunk', { ...base, long_documents: 'chunk' }],
        ['chunk_stride', { ...base, long_documents: 'chunk', chunk_stride: 3 }],
        ['max_chunks_per_doc', { query: QUERY, documents: texts, max_chunks_per_doc: 2 }],
      ];
      for (const [what, body] of variants) {
        const route = 'documents' in body ? '/v1/rerank' : '/rerank';
        assert.deepEqual(await delta(() => post(route, body)), { hits: 0, misses: 1 }, what);
        assert.deepEqual(await delta(() => post(route, body)), { hits: 1, misses: 0 }, `${what}, again`);
      }
    });

    it('refuses a request over MAX_CLIENT_BATCH_SIZE before any cache work (no lookup is counted)', async () => {
      const max = ((await (await fetch(`${s.url}/info`)).json()) as { limits: { max_client_batch_size: number } }).limits.max_client_batch_size;
      const texts = Array.from({ length: max + 1 }, (_, i) => `oversized request document ${i}`);
      let r: { status: number; json: { error_type?: string; error?: string } } | undefined;
      assert.deepEqual(await delta(async () => (r = await post('/rerank', { query: QUERY, texts }))), { hits: 0, misses: 0 });
      assert.equal(r!.status, 422);
      assert.match(r!.json.error ?? '', /MAX_CLIENT_BATCH_SIZE/);
    });

    it('keeps chunked results whole: the winning window\'s offsets come back on a hit', async () => {
      const long = `${'filler words here. '.repeat(300)}Paris is the capital of France. ${'more filler. '.repeat(100)}`;
      const body = { query: QUERY, texts: [long, DOCS[0]], long_documents: 'chunk', return_chunk_offsets: true, raw_scores: true };
      const first = await post('/rerank', body);
      const second = await post('/rerank', body);
      assert.deepEqual(second.json, first.json);
      assert.equal(second.headers.get('x-scored-pairs'), first.headers.get('x-scored-pairs'), 'windows are counted the same');
      assert.equal(second.headers.get('x-input-tokens'), first.headers.get('x-input-tokens'));
      const info = (await (await fetch(`${s.url}/info`)).json()) as { model: { onnx_sha256: string }; result_cache: { entries: number } };
      assert.match(info.model.onnx_sha256, /^[0-9a-f]{64}$/);
      assert.ok(info.result_cache.entries > 0);
    });
  });
});
