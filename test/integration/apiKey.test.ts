/**
 * API_KEY against the real server: every route but /ping, /health and /execution-parameters needs
 * the bearer key; a missing or wrong key is a JSON 401 Unauthorized, counted in /metrics; keys come
 * from API_KEY (comma-separated) and API_KEY_FILE; the cohere-ai SDK's token works as a key; a key
 * never appears in the logs. Without API_KEY nothing changes (the other test files).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CohereClient } from 'cohere-ai';
import { ensureModel } from '../helpers/models';
import { sampleValue, scrape } from '../helpers/metrics';
import { postJson, startServer, type TestServer } from '../helpers/server';

const KEY_A = 'key-a-7f3c9e1d2b';
const KEY_B = 'key-b-55aa01';
const KEY_FILE = 'key-from-file-0c1d';
const BODY = { query: 'capital of France', texts: ['Paris is the capital of France.', 'Bananas are yellow.'] };
const auth = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });

describe('API_KEY', () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    const model = await ensureModel({ preset: 'demo' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apikey-'));
    fs.writeFileSync(path.join(dir, 'keys'), `${KEY_FILE}\n`);
    s = await startServer({ env: { DEMO_MODEL_DIR: model, API_KEY: `${KEY_A},${KEY_B}`, API_KEY_FILE: path.join(dir, 'keys'), LOG_LEVEL: 'debug' } });
  });
  after(async () => {
    await s?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the health checks open', async () => {
    for (const p of ['/ping', '/health', '/execution-parameters']) assert.equal((await fetch(s.url + p)).status, 200, p);
  });

  it('answers a missing key and a wrong key with a JSON 401 Unauthorized on every other route', async () => {
    const routes: Array<[string, unknown]> = [['/rerank', BODY], ['/v1/rerank', { query: 'q', documents: ['d'] }], ['/v2/rerank', { query: 'q', documents: ['d'] }], ['/predict', { inputs: 'x' }], ['/invocations', BODY]];
    for (const [route, body] of routes) {
      for (const headers of [{}, auth('wrong-key'), auth(KEY_A + 'x'), { authorization: KEY_A }, { authorization: `Basic ${KEY_A}` }]) {
        const r = await postJson(s.url + route, body, headers);
        assert.equal(r.status, 401, `${route} ${JSON.stringify(headers)}`);
        assert.equal(r.json.error_type, 'Unauthorized');
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
        assert.ok(!r.text.includes(KEY_A), 'the key is not echoed');
      }
    }
    for (const p of ['/info', '/metrics']) assert.equal((await fetch(s.url + p)).status, 401, p);
  });

  it('leaves the UI pages and the OpenAPI document they render open (no data in them)', async () => {
    for (const p of ['/', '/docs', '/ui/playground.js', '/docs/swagger-ui-bundle.js', '/openapi.json']) assert.equal((await fetch(s.url + p)).status, 200, p);
    assert.equal((await fetch(`${s.url}/ui/other.js`)).status, 401, 'only the named files');
  });

  it('accepts each configured key, from API_KEY and from API_KEY_FILE, with the scheme in any case', async () => {
    for (const headers of [auth(KEY_A), auth(KEY_B), auth(KEY_FILE), { authorization: `bearer ${KEY_B}` }]) {
      const r = await postJson(`${s.url}/rerank`, BODY, headers);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json[0].index, 0);
    }
    assert.equal((await fetch(`${s.url}/info`, { headers: auth(KEY_A) })).status, 200);
  });

  it('works with the cohere-ai SDK, whose token is sent as the bearer key', async () => {
    const ok = new CohereClient({ token: KEY_B, environment: s.url });
    const r = await ok.rerank({ query: 'capital of France', documents: BODY.texts });
    assert.equal(r.results[0]!.index, 0);
    const bad = new CohereClient({ token: 'nope', environment: s.url });
    await assert.rejects(bad.rerank({ query: 'q', documents: ['d'] }), (e: { statusCode?: number }) => e.statusCode === 401);
  });

  it('counts rejected calls in /metrics and never logs a key', async () => {
    const before = (await scrapeWith(s.url)).samples;
    const missingBefore = sampleValue(before, 'reranker_auth_rejected_total', { reason: 'missing' }) ?? 0;
    const invalidBefore = sampleValue(before, 'reranker_auth_rejected_total', { reason: 'invalid' }) ?? 0;
    await postJson(`${s.url}/rerank`, BODY);
    await postJson(`${s.url}/rerank`, BODY, auth('guess-1'));
    await postJson(`${s.url}/rerank`, BODY, auth('guess-2'));
    const now = (await scrapeWith(s.url)).samples;
    assert.equal(sampleValue(now, 'reranker_auth_rejected_total', { reason: 'missing' }), missingBefore + 1);
    assert.equal(sampleValue(now, 'reranker_auth_rejected_total', { reason: 'invalid' }), invalidBefore + 2);
    assert.ok(sampleValue(now, 'reranker_request_failure_total', { route: '/rerank', reason: 'unauthorized' })! >= 3);
    const logs = s.logs.join('\n');
    assert.ok(logs.includes('"route":"/rerank"'), 'requests are logged');
    for (const k of [KEY_A, KEY_B, KEY_FILE, 'guess-1']) assert.ok(!logs.includes(k), `key ${k} in the logs`);
  });
});

/** /metrics itself needs the key. */
async function scrapeWith(url: string): Promise<Awaited<ReturnType<typeof scrape>>> {
  const r = await fetch(`${url}/metrics`, { headers: auth(KEY_A) });
  assert.equal(r.status, 200);
  const text = await r.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return { text, samples };
}

describe('UI=false and RESULT_CACHE_MB=0', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), UI: 'false', RESULT_CACHE_MB: '0' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('serves no pages and keeps no scores', async () => {
    for (const p of ['/', '/docs', '/ui/playground.js', '/docs/swagger-ui-bundle.js']) assert.equal((await fetch(s.url + p)).status, 404, p);
    await postJson(`${s.url}/rerank`, BODY);
    await postJson(`${s.url}/rerank`, BODY);
    const { samples } = await scrape(s.url);
    assert.equal(sampleValue(samples, 'reranker_result_cache_hits_total') ?? 0, 0);
    assert.equal(sampleValue(samples, 'reranker_result_cache_misses_total') ?? 0, 0);
    const info = (await (await fetch(`${s.url}/info`)).json()) as { result_cache: unknown; ui: boolean; auth: string };
    assert.deepEqual(info.result_cache, { enabled: false });
    assert.equal(info.ui, false);
    assert.equal(info.auth, 'none');
  });
});
