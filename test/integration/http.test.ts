/**
 * The HTTP contract of the serving core, against the real server process serving the demo model:
 * readiness, TEI shapes, /info, /metrics, and a clear 4xx for every bad input with the server
 * staying healthy afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'What is the capital of France?';
const TEXTS = [
  'The Great Wall of China is visible from space.',
  'Paris is the capital and largest city of France.',
  'Photosynthesis converts light energy into chemical energy.',
  'The stock market closed higher today.',
];

describe('HTTP contract (demo model)', () => {
  let s: TestServer;
  before(async () => {
    const dir = await ensureModel({ preset: 'demo' });
    s = await startServer({ env: { DEMO_MODEL_DIR: dir, MAX_PAYLOAD_MB: '1', MAX_INPUT_LENGTH: '64' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('GET and POST /ping answer 200 with an empty body when ready', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await fetch(`${s.url}/ping`, { method });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), '');
    }
  });

  it('/rerank puts the Paris document first, sorted by score, with texts and timing headers', async () => {
    const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: TEXTS, return_text: true });
    assert.equal(r.status, 200);
    const items = r.json as Array<{ index: number; score: number; text: string }>;
    assert.equal(items[0]!.index, 1);
    assert.equal(items[0]!.text, TEXTS[1]);
    assert.equal(items.length, TEXTS.length);
    for (let i = 1; i < items.length; i++) assert.ok(items[i - 1]!.score >= items[i]!.score);
    for (const it of items) assert.ok(it.score > 0 && it.score < 1, 'sigmoid scores');
    for (const h of ['x-tokenization-time', 'x-queue-time', 'x-inference-time', 'x-total-time']) {
      assert.ok(Number(r.headers.get(h)) >= 0, `${h}: ${r.headers.get(h)}`);
    }
    const noText = await postJson(`${s.url}/rerank`, { query: QUERY, texts: TEXTS });
    assert.equal((noText.json as Array<Record<string, unknown>>)[0]!.text, undefined);
  });

  it('/invocations answers the TEI rerank shape the same way, and media type parameters are accepted', async () => {
    const direct = await postJson(`${s.url}/rerank`, { query: QUERY, texts: TEXTS });
    const inv = await postJson(`${s.url}/invocations`, { query: QUERY, texts: TEXTS }, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(inv.status, 200);
    assert.deepEqual(inv.json, direct.json);
  });

  it('raw_scores returns logits (outside 0..1) and top_n cuts the list', async () => {
    const raw = await postJson(`${s.url}/rerank`, { query: QUERY, texts: TEXTS, raw_scores: true, top_n: 2 });
    const items = raw.json as Array<{ score: number }>;
    assert.equal(items.length, 2);
    assert.ok(items.some((x) => x.score < 0 || x.score > 1));
  });

  it('/predict takes a text, a pair, and a batch', async () => {
    const one = await postJson(`${s.url}/predict`, { inputs: [QUERY, TEXTS[1]] });
    assert.equal(one.status, 200);
    assert.equal((one.json as Array<{ label: string }>)[0]!.label, 'LABEL_0');
    const batch = await postJson(`${s.url}/predict`, { inputs: [[QUERY, TEXTS[1]], [QUERY, TEXTS[0]]] });
    const rows = batch.json as Array<Array<{ score: number }>>;
    assert.equal(rows.length, 2);
    assert.ok(rows[0]![0]!.score > rows[1]![0]!.score);
    const single = await postJson(`${s.url}/predict`, { inputs: 'just one text' });
    assert.equal(single.status, 200, single.text);
  });

  it('truncation: long pairs are cut by default; truncate=false is a 422 naming the limit', async () => {
    const long = 'paris capital france '.repeat(200);
    const ok = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [long] });
    assert.equal(ok.status, 200);
    const bad = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [long], truncate: false });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error_type, 'Validation');
    assert.match(bad.json.error, /64/);
  });

  it('GET /info shows the decided spec with evidence, the device and the demo flag', async () => {
    const info = (await (await fetch(`${s.url}/info`)).json()) as any;
    assert.equal(info.phase, 'ready');
    assert.equal(info.model.demo, true);
    assert.equal(info.spec.task, 'reranker');
    assert.equal(info.spec.maxInputLength, 64);
    assert.ok(info.spec.evidence.some((e: { field: string; source: string }) => e.field === 'task' && e.source.startsWith('onnx:')));
    assert.equal(info.device.provider, 'cpu');
    assert.equal(info.limits.max_payload_mb, 1);
  });

  it('GET /metrics exposes request and stage metrics', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(text, /reranker_http_requests_total/);
    assert.match(text, /reranker_request_stage_seconds_bucket\{le="[^"]+",stage="inference"\}/);
    assert.match(text, /reranker_batch_padded_tokens_total \d+/);
  });

  const BAD: Array<[string, () => Promise<Response>, number, string]> = [
    ['empty body', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }), 400, 'Empty'],
    ['empty texts', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', texts: [] }) }), 400, 'Empty'],
    ['invalid JSON', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' }), 422, 'Validation'],
    ['texts not strings', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', texts: [1, 2] }) }), 422, 'Validation'],
    ['missing query', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['a'] }) }), 422, 'Validation'],
    ['bad truncation_direction', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', texts: ['a'], truncation_direction: 'up' }) }), 422, 'Validation'],
    ['unknown body shape on /invocations', () => fetch(`${s.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hello: 'world' }) }), 422, 'Validation'],
    ['unsupported media type', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<q/>' }), 415, 'UnsupportedMediaType'],
    ['body over the payload limit', () => fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', texts: ['x'.repeat(1024 * 1024 + 10)] }) }), 413, 'PayloadTooLarge'],
    ['unknown route', () => fetch(`${s.url}/nope`), 404, 'NotFound'],
  ];
  for (const [name, send, status, type] of BAD) {
    it(`${name} -> ${status} ${type}, and the server stays healthy`, async () => {
      const r = await send();
      assert.equal(r.status, status);
      const body = (await r.json()) as { error: string; error_type: string };
      assert.equal(body.error_type, type);
      assert.ok(body.error.length > 5 && body.error.length < 600, `clear, short message: ${body.error}`);
      assert.equal((await fetch(`${s.url}/ping`)).status, 200);
    });
  }
});

describe('readiness', () => {
  it('a missing model ends the process non-zero with one clear line naming what was tried', async () => {
    const s = await startServer({ env: { MODEL_DIR: '/nonexistent/model' }, waitReady: false });
    const code = await s.exited;
    assert.equal(code, 1);
    const line = s.logs.find((l) => l.includes('start-up failed'));
    assert.ok(line, s.logs.join('\n'));
    assert.match(line!, /nonexistent/);
  });
});

describe('device selection (no GPU here)', () => {
  it('DEVICE=cuda refuses to start without CUDA, with one clear line', async () => {
    const s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), DEVICE: 'cuda' }, waitReady: false });
    assert.equal(await s.exited, 1);
    const line = s.logs.find((l) => l.includes('start-up failed'));
    assert.match(line ?? s.logs.join('\n'), /DEVICE=cuda but the CUDA/);
  });

  it('DEVICE=auto falls back to CPU with one log line and /info says why', async () => {
    const s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), DEVICE: 'auto' } });
    try {
      const info = (await (await fetch(`${s.url}/info`)).json()) as { device: { requested: string; provider: string; fallback_reason?: string } };
      assert.equal(info.device.requested, 'auto');
      assert.equal(info.device.provider, 'cpu');
      assert.match(info.device.fallback_reason ?? '', /CUDA/);
      assert.equal(s.logs.filter((l) => l.includes('running on CPU')).length, 1);
    } finally {
      await s.stop();
    }
  });
});
