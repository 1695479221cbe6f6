/**
 * Metrics and logs as an operator sees them: the real server, real HTTP, /metrics scraped before and
 * after a known mix of requests (successes, a 422, a 429, a client that disconnects, a timeout), and
 * the server's own stdout/stderr lines parsed as JSON.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeWorkload } from '../../scripts/dev/workload';
import { ensureModel } from '../helpers/models';
import { sampleValue, scrape, waitFor, type Samples } from '../helpers/metrics';
import { postJson, startServer, type TestServer } from '../helpers/server';

const MARKER = 'zqxmarker7731'; // a word no log line may hold at info level
const SECRET = 'obsSecretKey/9f3Kq+TESTONLY';
const LIMIT = 128; // MAX_CONCURRENT_REQUESTS, in pairs

/** A sample's value; 0 when the metric has no sample yet (a labelled counter before its first increment). */
const value = (samples: Samples, name: string, labels: Record<string, string> = {}): number => sampleValue(samples, name, labels) ?? 0;

function jsonLines(logs: readonly string[]): Array<Record<string, any>> {
  return logs.map((l) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      assert.fail(`a log line that is not JSON: ${l}`);
    }
  });
}

describe('observability: metrics and logs after successes, 422, 429, a dropped client', () => {
  let s: TestServer;
  const long = makeWorkload({ requests: 30, seed: 5 }).flatMap((r) => r.texts);
  // ~300 tokens each: a couple of seconds of work for LIMIT - 8 pairs on the 2-layer model.
  const big = long.slice(0, LIMIT - 8).map((t) => `${t} ${t}`);
  const docs = [`${MARKER} paris is the capital of france`, `berlin ${MARKER} germany`, 'the great wall of china'];
  let before0: Samples;
  let after1: Samples;
  let afterText: string;

  before(async () => {
    assert.equal(big.length, LIMIT - 8);
    s = await startServer({
      env: { MODEL_DIR: await ensureModel({ preset: 'minilm-l2' }), MAX_CONCURRENT_REQUESTS: String(LIMIT), AWS_SECRET_ACCESS_KEY: SECRET, AWS_ACCESS_KEY_ID: 'AKIATESTONLY', LOG_LEVEL: 'info' },
    });
    before0 = (await scrape(s.url)).samples;

    // 3 successes, one carrying the SageMaker inference id.
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${s.url}/rerank`, { query: `where is ${MARKER}`, texts: docs }, i === 0 ? { 'X-Amzn-SageMaker-Inference-Id': 'obs-inf-42' } : {});
      assert.equal(r.status, 200, r.text);
    }
    // 1 validation failure (the marker is in the body; the error is answered, not logged).
    const bad = await postJson(`${s.url}/rerank`, { query: MARKER, texts: MARKER });
    assert.equal(bad.status, 422, bad.text);

    // 1 success that holds the permits, and 1 request refused with 429 meanwhile.
    let bigDone = false;
    const first = postJson(`${s.url}/rerank`, { query: 'what is it about', texts: big }).finally(() => (bigDone = true));
    await waitFor('the big request to be admitted', async () => value((await scrape(s.url)).samples, 'reranker_pairs_in_flight') === big.length);
    const refused = await postJson(`${s.url}/rerank`, { query: MARKER, texts: long.slice(0, 10) });
    assert.equal(bigDone, false, 'the refusal came while the admitted request was still running');
    assert.equal(refused.status, 429, refused.text);
    assert.equal((await first).status, 200);
    await waitFor('the permits to be released', async () => value((await scrape(s.url)).samples, 'reranker_pairs_in_flight') === 0);

    // 1 client that disconnects mid-request.
    const controller = new AbortController();
    const sent = fetch(`${s.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', texts: big }), signal: controller.signal }).catch((e: unknown) => e);
    await waitFor('the request to be admitted', async () => value((await scrape(s.url)).samples, 'reranker_pairs_in_flight') === big.length);
    controller.abort();
    assert.ok((await sent) instanceof Error, 'the request was aborted');
    await waitFor('the dropped request to be counted', async () => value((await scrape(s.url)).samples, 'reranker_request_failure_total', { reason: 'dropped' }) > 0);
    await waitFor('the permits to be released', async () => value((await scrape(s.url)).samples, 'reranker_pairs_in_flight') === 0);

    ({ samples: after1, text: afterText } = await scrape(s.url));
    // The log lines travel through a pipe: wait for the last ones to arrive here.
    await waitFor('the request log lines', async () => s.logs.filter((l) => l.includes('"msg":"request"') && l.includes('"route":"/rerank"')).length >= 7);
  });
  after(async () => {
    await s?.stop();
  });

  const delta = (name: string, labels: Record<string, string> = {}): number => value(after1, name, labels) - value(before0, name, labels);

  it('counts requests, successes and failures by reason', () => {
    const route = { route: '/rerank' };
    assert.equal(delta('reranker_requests_total', route), 7);
    assert.equal(delta('reranker_request_success_total', route), 4);
    assert.equal(delta('reranker_request_failure_total', { ...route, reason: 'validation' }), 1);
    assert.equal(delta('reranker_request_failure_total', { ...route, reason: 'overloaded' }), 1);
    assert.equal(delta('reranker_request_failure_total', { ...route, reason: 'dropped' }), 1);
    for (const reason of ['inference', 'timeout', 'unavailable']) assert.equal(delta('reranker_request_failure_total', { ...route, reason }), 0, reason);
    assert.equal(delta('reranker_http_requests_total', { ...route, status: '200' }), 4);
    assert.equal(delta('reranker_http_requests_total', { ...route, status: '422' }), 1);
    assert.equal(delta('reranker_http_requests_total', { ...route, status: '429' }), 1);
    assert.equal(delta('reranker_http_requests_total', { ...route, status: '499' }), 1);
  });

  it('observes durations, pairs and tokens', () => {
    assert.equal(delta('reranker_http_request_seconds_count', { route: '/rerank' }), 7);
    assert.ok(delta('reranker_http_request_seconds_sum', { route: '/rerank' }) > 0);
    // Stage timings exist for the requests that were scored to the end.
    for (const stage of ['tokenization', 'queue', 'inference', 'total']) assert.equal(delta('reranker_request_stage_seconds_count', { stage }), 4, stage);
    assert.ok(delta('reranker_request_stage_seconds_sum', { stage: 'inference' }) > 0);
    assert.equal(delta('reranker_request_pairs_count'), 4);
    assert.equal(delta('reranker_request_pairs_sum'), 3 * docs.length + big.length);
    // Every pair of the successes ran; some of the dropped request's pairs may have run too.
    assert.ok(delta('reranker_pair_tokens_count') >= 3 * docs.length + big.length);
    assert.ok(delta('reranker_pair_tokens_sum') > 200 * big.length, 'the long pairs are a few hundred tokens each');
    assert.ok(delta('reranker_batches_total') > 0);
    assert.equal(delta('reranker_batch_tokens_count'), delta('reranker_batches_total'));
    assert.equal(delta('reranker_batch_tokens_sum'), delta('reranker_batch_padded_tokens_total'));
    assert.ok(delta('reranker_batch_pairs_count') > 0);
  });

  it('shows the model, its device, its load time, the queue and the process', () => {
    assert.match(afterText, /^reranker_model_info\{[^}]*device="cpu"[^}]*\} 1$/m);
    assert.match(afterText, /^reranker_model_info\{[^}]*task="reranker"[^}]*family="bert"/m);
    assert.ok(value(after1, 'reranker_model_load_seconds', { phase: 'total' }) > 0);
    assert.ok(value(after1, 'reranker_model_load_seconds', { phase: 'engine' }) > 0);
    assert.ok(value(after1, 'reranker_model_load_seconds', { phase: 'total' }) >= value(after1, 'reranker_model_load_seconds', { phase: 'warmup' }));
    assert.equal(value(after1, 'reranker_queued_pairs'), 0);
    assert.ok(after1.has('reranker_nodejs_eventloop_lag_seconds'));
    assert.ok(value(after1, 'reranker_process_cpu_seconds_total') > 0);
    assert.ok(after1.has('reranker_model_download_bytes_total'));
  });

  it('names every metric under the reranker_ prefix', () => {
    const names = new Set<string>();
    for (const line of afterText.split('\n')) {
      if (line === '') continue;
      const m = line.startsWith('#') ? /^# (?:HELP|TYPE) (\S+)/.exec(line) : /^([^{\s]+)/.exec(line);
      assert.ok(m, line);
      names.add(m[1]!);
    }
    assert.ok(names.size > 30);
    const other = [...names].filter((n) => !n.startsWith('reranker_'));
    assert.deepEqual(other, []);
  });

  it('logs one JSON line per request with route, status, pairs, tokens, stage times and the inference id', () => {
    const lines = jsonLines(s.logs);
    const requests = lines.filter((l) => l.msg === 'request' && l.route === '/rerank');
    assert.equal(requests.length, 7);
    const tagged = requests.filter((l) => l.inference_id === 'obs-inf-42');
    assert.equal(tagged.length, 1);
    const t = tagged[0]!;
    assert.equal(t.level, 'info');
    assert.equal(t.component, 'http');
    assert.equal(t.method, 'POST');
    assert.equal(t.status, 200);
    assert.equal(t.pairs, docs.length);
    assert.ok(Number.isInteger(t.tokens) && t.tokens > docs.length * 3, `tokens: ${t.tokens}`);
    for (const k of ['tokenization_ms', 'queue_ms', 'inference_ms', 'engine_ms', 'total_ms']) assert.ok(typeof t[k] === 'number' && t[k] >= 0, k);
    assert.ok(t.total_ms >= t.engine_ms, 'the whole request includes the engine time');
    assert.ok(!Number.isNaN(Date.parse(t.time)));
    assert.equal(t.error_type, undefined);

    const byStatus = (status: number): Record<string, any> => {
      const hit = requests.filter((l) => l.status === status);
      assert.equal(hit.length, 1, `one ${status} line`);
      return hit[0]!;
    };
    assert.deepEqual([byStatus(422).error_type, byStatus(422).reason], ['Validation', 'validation']);
    assert.deepEqual([byStatus(429).error_type, byStatus(429).reason], ['Overloaded', 'overloaded']);
    assert.equal(byStatus(499).reason, 'dropped');
    assert.equal(byStatus(499).pairs, undefined, 'no pairs were answered');
    const bigLine = requests.find((l) => l.pairs === big.length);
    assert.ok(bigLine && bigLine.status === 200 && bigLine.tokens > 200 * big.length);
  });

  it('logs a start-up summary: source, spec, device, workers, limits, load times', () => {
    const ready = jsonLines(s.logs).filter((l) => l.msg === 'ready');
    assert.equal(ready.length, 1);
    const r = ready[0]!;
    assert.equal(r.model.source, 'model_dir');
    assert.deepEqual([r.spec.task, r.spec.family, r.spec.activation, typeof r.spec.max_input_length], ['reranker', 'bert', 'sigmoid', 'number']);
    assert.equal(r.device, 'cpu');
    assert.ok(r.inference_workers >= 1 && r.intra_op_threads >= 1 && r.tokenizer_workers === 1);
    assert.equal(r.limits.max_concurrent_pairs, LIMIT);
    assert.equal(r.limits.max_batch_tokens, 512, 'the CPU default (README)');
    assert.equal(r.limits.max_payload_mb, 6);
    assert.equal(r.limits.request_timeout_s, 55);
    assert.ok(r.load_ms.total > 0);
  });

  it('keeps request text and secrets out of the logs', () => {
    assert.ok(s.logs.length > 10);
    assert.ok(!s.logs.some((l) => l.includes(MARKER)), 'request text was logged at info level');
    assert.ok(!s.logs.some((l) => l.includes(SECRET) || l.includes('obsSecretKey')), 'AWS_SECRET_ACCESS_KEY was logged');
  });
});

describe('observability: a request past REQUEST_TIMEOUT, at LOG_LEVEL=debug', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { MODEL_DIR: await ensureModel({ preset: 'minilm-l2' }), MAX_PAYLOAD_MB: '20', REQUEST_TIMEOUT: '0.5', LOG_LEVEL: 'debug', AWS_SECRET_ACCESS_KEY: SECRET } });
  });
  after(async () => {
    await s?.stop();
  });

  it('counts it as a timeout and logs error_type Timeout; still no text or secret in the logs', async () => {
    const texts = Array.from({ length: 200 }, (_, i) => `${MARKER} ${i} ` + 'lorem ipsum dolor sit amet consectetur '.repeat(40));
    const r = await postJson(`${s.url}/rerank`, { query: 'q', texts });
    assert.equal(r.status, 504, r.text.slice(0, 200));
    const { samples } = await scrape(s.url);
    assert.equal(value(samples, 'reranker_request_failure_total', { route: '/rerank', reason: 'timeout' }), 1);
    assert.equal(value(samples, 'reranker_request_success_total', { route: '/rerank' }), 0);
    await waitFor('the request log line', async () => s.logs.some((l) => l.includes('"status":504')));
    const line = jsonLines(s.logs).find((l) => l.msg === 'request' && l.status === 504);
    assert.ok(line, s.logs.join('\n'));
    assert.deepEqual([line.error_type, line.reason], ['Timeout', 'timeout']);
    // This build logs no request text even at debug: there is nothing to find.
    assert.ok(!s.logs.some((l) => l.includes(MARKER) || l.includes(SECRET)));
  });
});
