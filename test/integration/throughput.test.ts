/**
 * Cross-request batching, backpressure and client disconnects against the real server process.
 *
 * These use the 2-layer MiniLM-shaped model, not the tiny one: batching across requests only shows
 * when inference is slower than tokenization (so a queue forms), and the tiny model runs a batch
 * faster than the tokenizer produces one. Workload texts come from the seeded bench workload.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeWorkload } from '../../scripts/dev/workload';
import { ensureModel } from '../helpers/models';
import { metric, waitFor } from '../helpers/metrics';
import { postJson, rerankRawScores as scores, startServer, type TestServer } from '../helpers/server';

describe('throughput: batching across requests, disconnects (minilm-l2, 2 inference workers)', () => {
  let s: TestServer;
  // DEVICE=cpu's default on 2 cores: two single-threaded sessions (config.ts engineThreads).
  const WORKERS = 2;
  before(async () => {
    s = await startServer({ env: { MODEL_DIR: await ensureModel({ preset: 'minilm-l2' }), INFERENCE_WORKERS: String(WORKERS), INTRA_OP_THREADS: '1' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('many concurrent requests get the scores each gets alone, and batches span requests', async (t) => {
    // 8 short documents each (~300 tokens a request, well under a batch's budget) and one
    // tokenization chunk per request, so fewer batches than requests can only mean batches that
    // hold pairs of several requests.
    const reqs = makeWorkload({ requests: 24, seed: 7 }).map((r) => ({ query: r.query, texts: r.texts.slice(0, 8).map((t) => t.split(' ').slice(0, 25).join(' ')) }));
    const batches0 = await metric(s.url, 'reranker_batches_total');
    const single0 = await metric(s.url, 'reranker_batch_requests_bucket', { le: '1' });
    const all0 = await metric(s.url, 'reranker_batch_requests_count');
    const run0 = await metric(s.url, 'reranker_batch_run_seconds_sum');
    const t0 = performance.now();
    const together = await Promise.all(reqs.map((r) => scores(s.url, r.query, r.texts)));
    const wall = (performance.now() - t0) / 1000;
    const batches = (await metric(s.url, 'reranker_batches_total')) - batches0;
    // Each inference worker runs one batch at a time, so run times add up to at most workers x wall
    // time: a batch's clock must not start while it waits behind another (x-inference-time).
    const run = (await metric(s.url, 'reranker_batch_run_seconds_sum')) - run0;
    assert.ok(run <= WORKERS * wall, `batch run times add up to ${run.toFixed(3)} s in ${wall.toFixed(3)} s with ${WORKERS} workers`);
    t.diagnostic(`${reqs.length} concurrent requests ran in ${batches} batches`);
    const shared = (await metric(s.url, 'reranker_batch_requests_count')) - all0 - ((await metric(s.url, 'reranker_batch_requests_bucket', { le: '1' })) - single0);
    t.diagnostic(`${shared} of them held pairs of several requests`);
    assert.ok(shared >= 1, `${batches} batches for ${reqs.length} concurrent requests, none holding pairs of two requests: no batching across requests`);

    // Under load a batch waits behind another inside a worker (queue time), and batches of one
    // request run on both workers at once (counted once): inference time never exceeds the total.
    for (const { headers } of together) {
      assert.ok(Number(headers.get('x-inference-time')) <= Number(headers.get('x-total-time')), `inference ${headers.get('x-inference-time')} > total ${headers.get('x-total-time')}`);
    }

    for (const [i, r] of reqs.entries()) {
      const alone = await scores(s.url, r.query, r.texts);
      together[i]!.scores.forEach((x, j) => {
        assert.ok(Math.abs(x - alone.scores[j]!) <= 1e-5, `request ${i} doc ${j}: ${x} concurrently vs ${alone.scores[j]} alone`);
      });
    }
  });

  it('timing headers are present and consistent: total = tokenization + queue + inference', async () => {
    const [r] = makeWorkload({ requests: 1, seed: 3 });
    const { headers } = await scores(s.url, r!.query, r!.texts);
    const h = (name: string): number => Number(headers.get(name));
    for (const name of ['x-tokenization-time', 'x-queue-time', 'x-inference-time', 'x-total-time']) {
      assert.ok(Number.isFinite(h(name)) && h(name) >= 0, `${name}: ${headers.get(name)}`);
    }
    assert.ok(h('x-inference-time') > 0);
    assert.ok(h('x-total-time') >= h('x-inference-time'));
    assert.ok(h('x-total-time') >= h('x-tokenization-time'));
    // The headers are rounded to 0.01 ms each.
    assert.ok(Math.abs(h('x-tokenization-time') + h('x-queue-time') + h('x-inference-time') - h('x-total-time')) <= 0.05);
  });

  it('a client that disconnects mid-request: its queued pairs leave the queue and are never run', async (t) => {
    const docs = makeWorkload({ requests: 80, seed: 11 })
      .flatMap((r) => r.texts)
      .slice(0, 1500);
    assert.equal(docs.length, 1500);
    const pairs0 = await metric(s.url, 'reranker_batch_pairs_sum');
    const batches0 = await metric(s.url, 'reranker_batches_total');
    const controller = new AbortController();
    const sent = fetch(`${s.url}/rerank`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'what is it about', texts: docs }),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    // Abort once inference has begun and the queue holds pairs: the request is really mid-flight.
    await waitFor('the first batch of the big request', async () => (await metric(s.url, 'reranker_batches_total')) > batches0 && (await metric(s.url, 'reranker_queued_pairs')) > 0);
    const queuedAtAbort = await metric(s.url, 'reranker_queued_pairs');
    controller.abort();
    assert.ok((await sent) instanceof Error, 'the request was aborted');

    await waitFor('the queue to empty', async () => (await metric(s.url, 'reranker_queued_pairs')) === 0 && (await metric(s.url, 'reranker_pairs_in_flight')) === 0);
    const ran = (await metric(s.url, 'reranker_batch_pairs_sum')) - pairs0;
    t.diagnostic(`${queuedAtAbort} pairs queued at the abort; ${ran} of ${docs.length} pairs were run`);
    assert.ok(queuedAtAbort > 0);
    assert.ok(ran < docs.length / 2, `${ran} of ${docs.length} pairs were run after the client left`);

    // The server is still healthy and serves the next request.
    const ok = await postJson(`${s.url}/rerank`, { query: 'q', texts: ['a', 'b'] });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('throughput: backpressure (MAX_CONCURRENT_REQUESTS=64 pairs)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { MODEL_DIR: await ensureModel({ preset: 'minilm-l2' }), MAX_CONCURRENT_REQUESTS: '64' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('answers 429 Overloaded at once beyond the limit, and recovers when the load is gone', async () => {
    const long = makeWorkload({ requests: 8, seed: 5 }).flatMap((r) => r.texts);
    const big = long.slice(0, 60).map((t) => `${t} ${t}`); // ~300 tokens each: a second or so of work
    let bigDone = false;
    const first = postJson(`${s.url}/rerank`, { query: 'what is it about', texts: big }).finally(() => (bigDone = true));
    await waitFor('the big request to be admitted', async () => (await metric(s.url, 'reranker_pairs_in_flight')) === 60);

    const refused = await postJson(`${s.url}/rerank`, { query: 'q', texts: long.slice(0, 10) });
    assert.equal(bigDone, false, 'the refusal came while the admitted request was still running');
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.error_type, 'Overloaded');

    assert.equal((await first).status, 200);
    await waitFor('the permits to be released', async () => (await metric(s.url, 'reranker_pairs_in_flight')) === 0);
    const again = await postJson(`${s.url}/rerank`, { query: 'q', texts: long.slice(0, 10) });
    assert.equal(again.status, 200, again.text);

    // A request that could never fit is a 422 (retrying would not help), not a 429.
    assert.ok(long.length >= 65);
    const never = await postJson(`${s.url}/rerank`, { query: 'q', texts: long.slice(0, 65) });
    assert.equal(never.status, 422, never.text);
  });
});
