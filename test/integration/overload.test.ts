/**
 * Overload and disconnects against the real server (minilm-l2, one single-threaded inference
 * worker, so admitted requests take seconds): with MAX_CONCURRENT_REQUESTS=64 pairs, every route
 * and dialect refuses work beyond the limit with 429 Overloaded while the admitted requests are
 * still unanswered, concurrent requests are admitted exactly as far as they fit, the server is back
 * at full capacity as soon as the load is gone, and clients that disconnect mid-request (fetch
 * aborts, destroyed sockets, mid-body hang-ups, JSON Lines and chunked-window requests) leave no
 * queued pairs and no permits behind. throughput.test.ts covers the single-request basics.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeWorkload } from '../../scripts/dev/workload';
import { ensureModel } from '../helpers/models';
import { metric, waitFor } from '../helpers/metrics';
import { postJson, startServer, type TestServer } from '../helpers/server';

const LIMIT = 64;

/** Documents long enough to fill the 512-token window: each admitted pair is real work. */
const LONG = makeWorkload({ requests: 12, seed: 5 })
  .flatMap((r) => r.texts)
  .map((t) => `${t} ${t} ${t}`);
const SHORT = Array.from({ length: LIMIT }, (_, i) => `short document ${i}`);
const QUERY = 'what is it about';

describe('overload: MAX_CONCURRENT_REQUESTS=64 pairs (minilm-l2, one slow worker)', () => {
  let s: TestServer;
  const gauges = async (): Promise<string> => `queued_pairs=${await metric(s.url, 'reranker_queued_pairs')}, pairs_in_flight=${await metric(s.url, 'reranker_pairs_in_flight')}`;
  before(async () => {
    assert.ok(LONG.length >= LIMIT);
    s = await startServer({
      env: { MODEL_DIR: await ensureModel({ preset: 'minilm-l2' }), MAX_CONCURRENT_REQUESTS: String(LIMIT), INFERENCE_WORKERS: '1', INTRA_OP_THREADS: '1' },
    });
  });
  after(async () => {
    await s?.stop();
  });

  it('every route and dialect answers 429 Overloaded while the admitted pairs are still unanswered, then serves at once', async () => {
    let bigDone = false;
    const big = postJson(`${s.url}/rerank`, { query: QUERY, texts: LONG.slice(0, LIMIT) }).finally(() => (bigDone = true));
    await waitFor('the full-limit request to be admitted', async () => (await metric(s.url, 'reranker_pairs_in_flight')) === LIMIT, 30_000, gauges);

    const json = { 'content-type': 'application/json' };
    const refused: Array<[string, string, string, Record<string, string>]> = [
      ['/rerank', '/rerank', JSON.stringify({ query: QUERY, texts: ['a'] }), json],
      ['/rerank long_documents=chunk', '/rerank', JSON.stringify({ query: QUERY, texts: ['a'], long_documents: 'chunk' }), json],
      ['/predict', '/predict', JSON.stringify({ inputs: [['q', 'd']] }), json],
      ['/v1/rerank', '/v1/rerank', JSON.stringify({ query: QUERY, documents: [{ text: 'a' }] }), json],
      ['/v2/rerank', '/v2/rerank', JSON.stringify({ query: QUERY, documents: ['a'] }), json],
      ['/invocations TEI rerank', '/invocations', JSON.stringify({ query: QUERY, texts: ['a'] }), json],
      ['/invocations Cohere', '/invocations', JSON.stringify({ query: QUERY, documents: ['a'] }), json],
      ['/invocations HF pairs', '/invocations', JSON.stringify({ inputs: [['q', 'd']] }), json],
      ['/invocations TEI predict', '/invocations', JSON.stringify({ inputs: 'a' }), json],
      // An overloaded server fails the whole batch request (SageMaker retries it), not one line.
      ['/invocations JSON Lines', '/invocations', `${JSON.stringify({ query: QUERY, texts: ['a'] })}\n${JSON.stringify({ inputs: [['q', 'd']] })}\n`, { 'content-type': 'application/jsonlines' }],
      ['/invocations CSV', '/invocations', 'q,d\nq2,d2\n', { 'content-type': 'text/csv' }],
    ];
    for (const [name, path, body, headers] of refused) {
      const r = await fetch(`${s.url}${path}`, { method: 'POST', headers, body });
      const out = (await r.json()) as { error: string; error_type: string };
      assert.equal(r.status, 429, `${name}: ${JSON.stringify(out)}`);
      assert.equal(out.error_type, 'Overloaded', name);
      assert.match(out.error, /at capacity \(\d+ of 64 pairs in flight\); retry with backoff/, name);
    }
    // The runtime facade wraps it the way SageMaker does: 424 ModelError carrying the 429.
    const facade = await postJson(`${s.url}/endpoints/my-endpoint/invocations`, { query: QUERY, texts: ['a'] });
    assert.equal(facade.status, 424, facade.text);
    assert.equal(facade.headers.get('x-amzn-errortype'), 'ModelError');
    assert.equal(facade.json.OriginalStatusCode, 429);
    assert.match(facade.json.OriginalMessage, /Overloaded/);

    assert.equal(bigDone, false, `all ${refused.length + 1} refusals came while the admitted request was still unanswered`);
    const first = await big;
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.length, LIMIT);

    // Recovery is immediate: no wait, no backoff, and the whole capacity is there again.
    const next = await postJson(`${s.url}/rerank`, { query: QUERY, texts: ['a', 'b'] });
    assert.equal(next.status, 200, next.text);
    const full = await postJson(`${s.url}/rerank`, { query: QUERY, texts: SHORT });
    assert.equal(full.status, 200, full.text);
  });

  it('concurrent requests are admitted as far as they fit; the rest are refused before any admitted one is answered', async () => {
    const PER = 20; // 3 fit in 64 pairs, the 4th would make 80
    const finished: Array<{ i: number; status: number }> = [];
    const all = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const r = await postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: LONG.slice(i * 2, i * 2 + PER) });
        finished.push({ i, status: r.status });
        return r;
      }),
    );
    for (const r of all) assert.ok(r.status === 200 || r.status === 429, r.text);
    const ok = finished.filter((f) => f.status === 200);
    const refused = finished.filter((f) => f.status === 429);
    assert.equal(ok.length, Math.floor(LIMIT / PER), `admitted: ${JSON.stringify(finished)}`);
    assert.equal(refused.length, 8 - ok.length);
    const firstOk = finished.findIndex((f) => f.status === 200);
    assert.ok(finished.slice(firstOk).every((f) => f.status === 200), `every 429 came before the first 200: ${JSON.stringify(finished)}`);
    for (const r of all.filter((x) => x.status === 429)) assert.equal(r.json.error_type, 'Overloaded');

    await waitFor('the permits to be released', async () => (await metric(s.url, 'reranker_pairs_in_flight')) === 0, 10_000, gauges);
    const again = await postJson(`${s.url}/rerank`, { query: QUERY, texts: SHORT });
    assert.equal(again.status, 200, again.text);
  });

  it('clients that disconnect mid-request leave no queued pairs and no permits behind (three rounds)', async (t) => {
    for (let round = 1; round <= 3; round++) {
      const controllers: AbortController[] = [];
      const aborted: Array<Promise<unknown>> = [];
      const start = (path: string, body: string, contentType = 'application/json'): void => {
        const c = new AbortController();
        controllers.push(c);
        aborted.push(fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body, signal: c.signal }).then((r) => r.text()).catch((e: unknown) => e));
      };
      // 36 + 8 + the windows of one long document + 3 x 2 raw: admitted together, under the limit.
      for (let k = 0; k < 3; k++) start('/rerank', JSON.stringify({ query: QUERY, texts: LONG.slice(k * 12, k * 12 + 12) }));
      start('/invocations', `${JSON.stringify({ query: QUERY, texts: LONG.slice(40, 44) })}\n${JSON.stringify({ inputs: LONG.slice(44, 48).map((d) => [QUERY, d]) })}\n`, 'application/jsonlines');
      start('/v1/rerank', JSON.stringify({ query: QUERY, documents: [LONG.slice(50, 54).join(' ')], long_documents: 'chunk' }));

      // Raw sockets: full requests then a hang-up, and hang-ups in the middle of a body.
      const sockets: net.Socket[] = [];
      const body = JSON.stringify({ query: QUERY, texts: LONG.slice(56, 58) });
      for (let k = 0; k < 3; k++) {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(`POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
        sock.on('error', () => undefined);
        sockets.push(sock);
      }
      for (let k = 0; k < 5; k++) {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(`POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n${body.slice(0, 50)}`));
        sock.on('error', () => undefined);
        sockets.push(sock);
      }

      await waitFor('the requests to be admitted and queued', async () => (await metric(s.url, 'reranker_pairs_in_flight')) >= 36 && (await metric(s.url, 'reranker_queued_pairs')) > 0, 30_000, gauges);
      const atAbort = await gauges();
      for (const c of controllers) c.abort();
      for (const sock of sockets) sock.destroy();
      for (const r of await Promise.all(aborted)) assert.ok(r instanceof Error, `round ${round}: the request was aborted, not answered: ${String(r).slice(0, 200)}`);

      await waitFor(
        `round ${round}: reranker_queued_pairs and reranker_pairs_in_flight to return to 0 after ${controllers.length + sockets.length} disconnects`,
        async () => (await metric(s.url, 'reranker_queued_pairs')) === 0 && (await metric(s.url, 'reranker_pairs_in_flight')) === 0,
        30_000,
        gauges,
      );
      t.diagnostic(`round ${round}: at the abort ${atAbort}; back to 0`);

      // Every permit came back: a request of exactly the limit is admitted and served.
      const full = await postJson(`${s.url}/rerank`, { query: QUERY, texts: SHORT });
      assert.equal(full.status, 200, `round ${round}: ${full.text}`);
      assert.equal(full.json.length, LIMIT);
    }
    assert.equal(s.proc.exitCode, null, 'the server is still running');
  });
});
