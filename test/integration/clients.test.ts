/**
 * The real client libraries from npm, pointed at the real server (demo model) on 127.0.0.1: the
 * cohere-ai SDK (v1 and v2 rerank), LangChain's CohereRerank, the SageMaker runtime client through
 * the /endpoints/:name/invocations facade, and plain fetch following TEI's documented examples.
 * Every one must give the same ranking and the same scores as a direct /rerank call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CohereRerank } from '@langchain/cohere';
import { Document } from '@langchain/core/documents';
import { CohereClient, CohereClientV2 } from 'cohere-ai';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'What is the capital of France?';
const DOCS = [
  'The Great Wall of China is visible from space.',
  'Paris is the capital and largest city of France.',
  'Photosynthesis converts light energy into chemical energy.',
  'France is a country in Western Europe; its capital is Paris.',
  'The stock market closed higher today.',
];

type Ranked = Array<{ index: number; score: number }>;

describe('real clients against the server (demo model)', () => {
  let s: TestServer;
  let direct: Ranked;

  before(async () => {
    const dir = await ensureModel({ preset: 'demo' });
    s = await startServer({ env: { DEMO_MODEL_DIR: dir } });
    const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS });
    assert.equal(r.status, 200, r.text);
    direct = r.json as Ranked;
    assert.equal(direct[0]!.index, 1, 'the Paris document ranks first');
  });
  after(async () => {
    await s?.stop();
  });

  /** Same order and (float-exact) scores as the direct call, cut to topN. */
  function assertSameRanking(got: Array<{ index: number; relevanceScore: number }>, topN = DOCS.length): void {
    assert.deepEqual(
      got.map((r) => ({ index: r.index, score: r.relevanceScore })),
      direct.slice(0, topN),
    );
  }

  it('cohere-ai CohereClient.rerank (v1) with topN and returnDocuments', async () => {
    const co = new CohereClient({ token: 'local-dummy-token', environment: s.url });
    const r = await co.rerank({ model: 'rerank-english-v3.0', query: QUERY, documents: DOCS, topN: 3, returnDocuments: true });
    assertSameRanking(r.results, 3);
    for (const item of r.results) assert.equal(item.document?.text, DOCS[item.index]);
    assert.equal(r.meta?.billedUnits?.searchUnits, 1);
    assert.ok((r.meta?.tokens?.inputTokens ?? 0) > 0);
    assert.ok(r.id);

    const objects = await co.rerank({ query: QUERY, documents: DOCS.map((text, i) => ({ text, id: `doc-${i}` })), returnDocuments: true });
    assertSameRanking(objects.results);
    for (const item of objects.results) assert.deepEqual({ ...item.document }, { text: DOCS[item.index], id: `doc-${item.index}` });

    const plain = await co.rerank({ query: QUERY, documents: DOCS });
    assertSameRanking(plain.results);
    assert.equal(plain.results[0]!.document, undefined, 'no documents unless asked (v1 default false)');
  });

  it('cohere-ai CohereClientV2.rerank with topN', async () => {
    const co = new CohereClientV2({ token: 'local-dummy-token', baseUrl: s.url });
    const r = await co.rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS, topN: 2 });
    assertSameRanking(r.results, 2);
    const all = await co.rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS, maxTokensPerDoc: 4096 });
    assertSameRanking(all.results);
  });

  it('LangChain CohereRerank with a CohereClient pointed at the server', async () => {
    const client = new CohereClient({ token: 'local-dummy-token', environment: s.url });
    // @langchain/cohere types its client against its own cohere-ai 7 copy; v8's rerank is the same call.
    const lcClient = client as unknown as NonNullable<ConstructorParameters<typeof CohereRerank>[0]>['client'];
    const reranker = new CohereRerank({ client: lcClient, model: 'rerank-english-v3.0', topN: 3 });
    const ranked = await reranker.rerank(DOCS, QUERY);
    assertSameRanking(ranked, 3);
    const docs = DOCS.map((pageContent, i) => new Document({ pageContent, metadata: { i } }));
    const compressed = await reranker.compressDocuments(docs, QUERY);
    assert.deepEqual(
      compressed.map((d) => [d.metadata.i, d.metadata.relevanceScore]),
      direct.slice(0, 3).map((r) => [r.index, r.score]),
    );
  });

  it('@aws-sdk/client-sagemaker-runtime InvokeEndpointCommand through /endpoints/:name/invocations', async () => {
    const sm = new SageMakerRuntimeClient({
      endpoint: s.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret' },
      maxAttempts: 1,
    });
    const out = await sm.send(
      new InvokeEndpointCommand({
        EndpointName: 'my-reranker',
        ContentType: 'application/json',
        Accept: 'application/json',
        CustomAttributes: 'top_n=2',
        Body: new TextEncoder().encode(JSON.stringify({ query: QUERY, texts: DOCS })),
      }),
    );
    assert.match(out.ContentType ?? '', /^application\/json/);
    assert.equal(out.CustomAttributes, 'top_n=2', 'custom attributes come back');
    assert.equal(out.InvokedProductionVariant, 'AllTraffic');
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.Body)), direct.slice(0, 2));

    // Cohere's shape through the same facade, and CSV in and out.
    const cohere = await sm.send(new InvokeEndpointCommand({ EndpointName: 'my-reranker', ContentType: 'application/json', Body: JSON.stringify({ query: QUERY, documents: DOCS }) }));
    const body = JSON.parse(new TextDecoder().decode(cohere.Body)) as { results: Array<{ index: number; relevance_score: number }> };
    assertSameRanking(body.results.map((r) => ({ index: r.index, relevanceScore: r.relevance_score })));
    const csv = await sm.send(
      new InvokeEndpointCommand({ EndpointName: 'my-reranker', ContentType: 'text/csv', Accept: 'text/csv', Body: DOCS.map((d) => `"${QUERY}","${d}"`).join('\n') }),
    );
    const scores = new TextDecoder().decode(csv.Body).trim().split('\n').map(Number);
    for (const r of direct) assert.equal(scores[r.index], r.score);

    // A container error reaches the SDK as SageMaker reports it: a ModelError with the original status.
    await assert.rejects(
      sm.send(new InvokeEndpointCommand({ EndpointName: 'my-reranker', ContentType: 'application/json', Body: JSON.stringify({ nope: true }) })),
      (e: Error & { OriginalStatusCode?: number; OriginalMessage?: string; $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, 'ModelError');
        assert.equal(e.$metadata?.httpStatusCode, 424);
        assert.equal(e.OriginalStatusCode, 422);
        assert.match(e.OriginalMessage ?? '', /accepted/);
        return true;
      },
    );
  });

  it("plain fetch following TEI's documented examples (/rerank, /predict)", async () => {
    // curl 127.0.0.1:8080/rerank -X POST -d '{"query": "...", "texts": [...]}' -H 'Content-Type: application/json'
    const rerank = await fetch(`${s.url}/rerank`, { method: 'POST', body: JSON.stringify({ query: QUERY, texts: DOCS }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(rerank.status, 200);
    assert.deepEqual(await rerank.json(), direct);
    // curl 127.0.0.1:8080/predict -X POST -d '{"inputs":"I like you."}' -H 'Content-Type: application/json'
    const one = await fetch(`${s.url}/predict`, { method: 'POST', body: JSON.stringify({ inputs: 'I like you.' }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(one.status, 200);
    const oneBody = (await one.json()) as Array<{ score: number; label: string }>;
    assert.equal(oneBody.length, 1);
    assert.equal(oneBody[0]!.label, 'LABEL_0');
    // A batch of pairs: one list per pair, each pair scored like /rerank scores it.
    const batch = await fetch(`${s.url}/predict`, {
      method: 'POST',
      body: JSON.stringify({ inputs: DOCS.map((d) => [QUERY, d]) }),
      headers: { 'Content-Type': 'application/json' },
    });
    const rows = (await batch.json()) as Array<Array<{ score: number; label: string }>>;
    for (const r of direct) assert.equal(rows[r.index]![0]!.score, r.score);
  });
});
