/**
 * The API shapes beyond TEI against the real server (demo model): Cohere v1/v2 and Jina rerank,
 * Hugging Face toolkit pairs on /invocations, the dialect rule on /invocations (JSON, JSON Lines,
 * CSV), max_tokens_per_doc, and the SageMaker runtime facade's wire format.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'What is the capital of France?';
const DOCS = ['The Great Wall of China is visible from space.', 'Paris is the capital and largest city of France.', 'Photosynthesis converts light energy into chemical energy.'];

type Ranked = Array<{ index: number; score: number }>;
type CohereBody = { id: string; results: Array<{ index: number; relevance_score: number; document?: Record<string, unknown> }>; meta: Record<string, any>; usage: { total_tokens: number } };

describe('API shapes (demo model)', () => {
  let s: TestServer;
  let direct: Ranked;
  before(async () => {
    const dir = await ensureModel({ preset: 'demo' });
    s = await startServer({ env: { DEMO_MODEL_DIR: dir, MAX_INPUT_LENGTH: '128' } });
    direct = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS })).json as Ranked;
  });
  after(async () => {
    await s?.stop();
  });

  const asRanked = (b: CohereBody): Ranked => b.results.map((r) => ({ index: r.index, score: r.relevance_score }));

  it('/v1/rerank (Cohere v1 and Jina): ranking, top_n, return_documents, meta and usage', async () => {
    const r = await postJson(`${s.url}/v1/rerank`, { model: 'jina-reranker-v2-base-multilingual', query: QUERY, documents: DOCS, top_n: 2, return_documents: true });
    assert.equal(r.status, 200, r.text);
    const b = r.json as CohereBody & { model: string };
    assert.deepEqual(asRanked(b), direct.slice(0, 2));
    assert.deepEqual(b.results[0]!.document, { text: DOCS[1] });
    assert.match(b.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(b.meta.api_version, { version: '1' });
    assert.deepEqual(b.meta.billed_units, { search_units: 1 });
    assert.ok(b.meta.tokens.input_tokens > 0);
    assert.equal(b.usage.total_tokens, b.meta.tokens.input_tokens);
    assert.equal(b.model, 'jina-reranker-v2-base-multilingual');
    const bare = (await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: DOCS })).json as CohereBody;
    assert.equal(bare.results.length, DOCS.length);
    assert.equal(bare.results[0]!.document, undefined, 'return_documents defaults to false');
  });

  it('/v1/rerank object documents: text by default, rank_fields as "field: value" lines, the object comes back', async () => {
    const docs = DOCS.map((text, i) => ({ text, title: i === 1 ? 'France' : 'Other', id: i }));
    const byText = (await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: docs, return_documents: true })).json as CohereBody;
    assert.deepEqual(asRanked(byText), direct);
    assert.deepEqual(byText.results[0]!.document, docs[1]);
    const byTitle = (await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: docs, rank_fields: ['title'] })).json as CohereBody;
    const expected = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: docs.map((d) => `title: ${d.title}`) })).json as Ranked;
    assert.deepEqual(asRanked(byTitle), expected);
    const noText = await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: [{ title: 'x' }] });
    assert.equal(noText.status, 422);
    assert.match(noText.json.error, /documents\.0 .*rank_fields/);
  });

  it('/v2/rerank: string documents, no document in results, null options read as absent', async () => {
    const r = await postJson(`${s.url}/v2/rerank`, { model: 'rerank-v3.5', query: QUERY, documents: DOCS, top_n: null, max_tokens_per_doc: null });
    assert.equal(r.status, 200, r.text);
    const b = r.json as CohereBody;
    assert.deepEqual(asRanked(b), direct);
    assert.equal(b.results[0]!.document, undefined);
    assert.deepEqual(b.meta.api_version, { version: '2' });
    const objects = await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: [{ text: 'x' }] });
    assert.equal(objects.status, 422, 'v2 documents are strings');
    assert.equal((await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: [] })).status, 400);
  });

  it('max_tokens_per_doc cuts documents to whole words within the budget', async () => {
    const long = `${DOCS[0]} ${DOCS[1]}`;
    const cut = (await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: [long], max_tokens_per_doc: 10 })).json as CohereBody;
    const first = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: [DOCS[0]] })).json as Ranked;
    assert.equal(cut.results[0]!.relevance_score, first[0]!.score, 'the first sentence is 10 tokens: the Paris sentence is cut off');
    // 9 tokens end inside "space." (space + .): the split word is dropped, not cut in half.
    const split = (await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: [long], max_tokens_per_doc: 9 })).json as CohereBody;
    const words = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: ['The Great Wall of China is visible from'] })).json as Ranked;
    assert.equal(split.results[0]!.relevance_score, words[0]!.score);
    const whole = (await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: [long], max_tokens_per_doc: 4096 })).json as CohereBody;
    const full = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: [long] })).json as Ranked;
    assert.equal(whole.results[0]!.relevance_score, full[0]!.score);
    const bad = await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: DOCS, max_tokens_per_doc: 0 });
    assert.equal(bad.status, 422);
  });

  it('/invocations: HF toolkit pairs give one {label, score} per input in input order; /predict keeps TEI\'s nesting', async () => {
    const pairs = DOCS.map((d) => [QUERY, d]);
    const r = await postJson(`${s.url}/invocations`, { inputs: pairs });
    assert.equal(r.status, 200, r.text);
    const out = r.json as Array<{ label: string; score: number }>;
    assert.equal(out.length, DOCS.length);
    for (const d of direct) assert.deepEqual(out[d.index], { label: 'LABEL_0', score: d.score });
    const objects = (await postJson(`${s.url}/invocations`, { inputs: DOCS.map((d) => ({ text: QUERY, text_pair: d })) })).json;
    assert.deepEqual(objects, out);
    const single = (await postJson(`${s.url}/invocations`, { inputs: { text: QUERY, text_pair: DOCS[1] } })).json;
    assert.deepEqual(single, out[1]);
    const topK = (await postJson(`${s.url}/invocations`, { inputs: pairs, parameters: { top_k: null, function_to_apply: 'none' } })).json as Array<Array<{ score: number }>>;
    const raw = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true })).json as Ranked;
    for (const d of raw) assert.equal(topK[d.index]![0]!.score, d.score);
    const predict = (await postJson(`${s.url}/predict`, { inputs: pairs })).json as Array<Array<{ score: number }>>;
    assert.ok(Array.isArray(predict[0]), '/predict answers a list per pair');
    const bad = await postJson(`${s.url}/invocations`, { inputs: [{ text: QUERY, text_pair: 3 }] });
    assert.equal(bad.status, 422);
    assert.match(bad.json.error, /inputs\.0/);
  });

  it('/invocations picks the dialect per JSON body and per JSON Lines record; no match is a 422 listing the shapes', async () => {
    const cohere = (await postJson(`${s.url}/invocations`, { query: QUERY, documents: DOCS })).json as CohereBody;
    assert.deepEqual(asRanked(cohere), direct);
    const lines = [{ query: QUERY, texts: DOCS }, { query: QUERY, documents: DOCS }, { inputs: [[QUERY, DOCS[1]]] }, { inputs: [QUERY, DOCS[1]] }, { nope: 1 }];
    const r = await postJson(`${s.url}/invocations`, lines.map((l) => JSON.stringify(l)).join('\n'), { 'content-type': 'application/jsonlines' });
    assert.equal(r.status, 200, r.text);
    const out = r.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(out.length, lines.length);
    assert.deepEqual(out[0], direct);
    assert.deepEqual(asRanked(out[1]), direct);
    assert.deepEqual(out[2], [{ label: 'LABEL_0', score: direct[0]!.score }]);
    assert.deepEqual(out[3], [{ score: direct[0]!.score, label: 'LABEL_0' }]);
    assert.equal(out[4].error_type, 'Validation');
    const none = await postJson(`${s.url}/invocations`, { question: QUERY });
    assert.equal(none.status, 422);
    for (const shape of ['TEI rerank', 'Cohere / Jina rerank', 'Hugging Face toolkit pairs', 'TEI predict']) assert.ok(none.json.error.includes(shape), none.json.error);
  });

  it('/invocations with Accept: text/csv gives scores in input order for every dialect', async () => {
    const csv = async (body: unknown): Promise<number[]> => {
      const r = await postJson(`${s.url}/invocations`, body, { accept: 'text/csv' });
      assert.equal(r.status, 200, r.text);
      return r.text.trim().split(',').map(Number);
    };
    const inOrder = [...direct].sort((a, b) => a.index - b.index).map((d) => d.score);
    assert.deepEqual(await csv({ query: QUERY, texts: DOCS }), inOrder);
    // top_n keeps the input-order columns: the left-out documents' cells are empty.
    const topOne = await postJson(`${s.url}/invocations`, { query: QUERY, documents: DOCS, top_n: 1 }, { accept: 'text/csv' });
    assert.equal(topOne.status, 200, topOne.text);
    const cells = topOne.text.trim().split(',');
    assert.equal(cells.length, DOCS.length);
    assert.equal(Number(cells[direct[0]!.index]), direct[0]!.score);
    assert.deepEqual(cells.filter((c) => c === '').length, DOCS.length - 1);
    assert.deepEqual(await csv({ inputs: DOCS.map((d) => [QUERY, d]) }), inOrder);
    // TEI predict: one score per input (a one-label model), not its label.
    assert.deepEqual(await csv({ inputs: [QUERY, DOCS[0]] }), [inOrder[0]]);
  });

  it('/endpoints/:name/invocations: same answers as /invocations, variant header, ModelError on failure', async () => {
    const body = { query: QUERY, documents: DOCS };
    const attrs = { 'x-amzn-sagemaker-custom-attributes': 'top_n=1' };
    const a = await postJson(`${s.url}/endpoints/my-endpoint/invocations`, body, attrs);
    const b = await postJson(`${s.url}/invocations`, body, attrs);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(asRanked(a.json), asRanked(b.json));
    assert.equal(a.json.results.length, 1);
    assert.equal(a.headers.get('x-amzn-invoked-production-variant'), 'AllTraffic');
    assert.equal(a.headers.get('x-amzn-sagemaker-custom-attributes'), 'top_n=1');
    const err = await postJson(`${s.url}/endpoints/my-endpoint/invocations`, '', {});
    assert.equal(err.status, 424);
    assert.equal(err.headers.get('x-amzn-errortype'), 'ModelError');
    assert.equal(err.json.ErrorCode, 'CLIENT_ERROR_FROM_MODEL');
    assert.equal(err.json.OriginalStatusCode, 400);
    assert.equal(JSON.parse(err.json.OriginalMessage).error_type, 'Empty');
    assert.equal((await fetch(`${s.url}/ping`)).status, 200, 'still healthy');
  });
});
