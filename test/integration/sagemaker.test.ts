/**
 * The SageMaker contract, driven the way SageMaker local mode drives a container: run
 * `container/serve serve` as a child process with /opt/ml/model pointed elsewhere (SM_MODEL_DIR),
 * poll /ping, read /execution-parameters, split JSON Lines and CSV files into MultiRecord payloads
 * under MaxPayloadInMB, POST each to /invocations, assemble the .out file, and check it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { metric, waitFor } from '../helpers/metrics';
import { ensureModel } from '../helpers/models';
import { ROOT } from '../helpers/paths';
import { postJson, startServer, type TestServer } from '../helpers/server';

const SERVE = [path.join(ROOT, 'container', 'serve'), 'serve'];
const QUERY = 'What is the capital of France?';
const DOCS = ['Paris is the capital and largest city of France.', 'The Great Wall of China is visible from space.', 'Berlin is the capital of Germany.', 'Photosynthesis converts light energy, "quoted", into chemical energy.'];

/** SageMaker's MultiRecord packing: whole lines, each payload at most maxBytes. */
function splitMultiRecord(lines: string[], maxBytes: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const l of lines) {
    const add = l + '\n';
    if (cur && Buffer.byteLength(cur + add) > maxBytes) {
      out.push(cur);
      cur = '';
    }
    cur += add;
  }
  if (cur) out.push(cur);
  return out;
}

async function invoke(url: string, body: string, contentType: string, accept: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string | null }> {
  const r = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': contentType, accept, ...headers }, body });
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
}

describe('batch transform through container/serve', () => {
  let s: TestServer;
  let optMl: string;
  before(async () => {
    // The model SageMaker would have extracted into /opt/ml/model.
    optMl = fs.mkdtempSync(path.join(os.tmpdir(), 'opt-ml-model-'));
    fs.cpSync(await ensureModel({ preset: 'demo' }), optMl, { recursive: true });
    s = await startServer({
      command: SERVE,
      env: { SM_MODEL_DIR: optMl, SAGEMAKER_BATCH: 'True', SAGEMAKER_MAX_PAYLOAD_IN_MB: '1', SAGEMAKER_BATCH_STRATEGY: 'MULTI_RECORD', SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '2' },
    });
  });
  after(async () => {
    await s?.stop();
    fs.rmSync(optMl, { recursive: true, force: true });
  });

  it('serves the model SageMaker placed in /opt/ml/model and reports execution parameters', async () => {
    const info = (await (await fetch(`${s.url}/info`)).json()) as { model: { source: string; dir: string } };
    assert.equal(info.model.source, 'sagemaker');
    assert.equal(info.model.dir, optMl);
    const r = await fetch(`${s.url}/execution-parameters`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { MaxConcurrentTransforms: 2, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 1 });
  });

  it('a JSON Lines file split into MultiRecord payloads gives one output line per input line, in order', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      if (i === 17) lines.push('{"query": "broken json"'); // a bad record
      else if (i === 42) lines.push(JSON.stringify({ query: QUERY, texts: [] }));
      else lines.push(JSON.stringify({ query: `${QUERY} ${i}`, texts: [DOCS[i % 4]!, DOCS[(i + 1) % 4]!, 'x'.repeat(300 + i)] }));
    }
    const payloads = splitMultiRecord(lines, 64 * 1024); // several mini-batches
    assert.ok(payloads.length > 2);
    const outParts: string[] = [];
    for (const [k, p] of payloads.entries()) {
      // SageMaker sends MultiRecord JSON Lines as application/json when the job says so: both must work.
      const r = await invoke(s.url, p, k % 2 ? 'application/json' : 'application/jsonlines', 'application/jsonlines');
      assert.equal(r.status, 200, r.text.slice(0, 300));
      outParts.push(r.text);
    }
    const out = outParts.join('').split('\n').filter((l, i, a) => !(i === a.length - 1 && l === ''));
    assert.equal(out.length, lines.length, 'one output line per input line');
    const bad = JSON.parse(out[17]!) as { error: string; error_type: string };
    assert.equal(bad.error_type, 'Validation');
    assert.equal((JSON.parse(out[42]!) as { error_type: string }).error_type, 'Empty');
    for (const i of [0, 1, 250, 599]) {
      const expected = await postJson(`${s.url}/rerank`, JSON.parse(lines[i]!));
      assert.deepEqual(JSON.parse(out[i]!), expected.json, `line ${i}`);
    }
  });

  it('a CSV file of query,document rows gives one score per row in CSV, with a header row kept', async () => {
    const rows = ['query,document', ...DOCS.map((d) => `"${QUERY}","${d.replace(/"/g, '""')}"`), 'only-one-field', `${QUERY},Paris is in France`];
    const r = await invoke(s.url, rows.join('\r\n') + '\r\n', 'text/csv', 'text/csv');
    assert.equal(r.status, 200, r.text);
    assert.match(r.type ?? '', /text\/csv/);
    const out = r.text.trimEnd().split('\n');
    assert.equal(out.length, rows.length);
    assert.equal(out[0], 'score');
    assert.match(out[5]!, /^"?error: Validation: CSV line 6 has 1 fields/);
    const direct = (await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS })).json as Array<{ index: number; score: number }>;
    for (const { index, score } of direct) assert.ok(Math.abs(Number(out[index + 1]) - score) < 1e-9, `row ${index + 1}`);
    const asJsonLines = await invoke(s.url, rows.slice(1, 3).join('\n'), 'text/csv', 'application/jsonlines');
    const parsed = asJsonLines.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { score: number });
    assert.equal(parsed.length, 2);
    assert.ok(parsed[0]!.score > parsed[1]!.score);
  });

  it('a body over MaxPayloadInMB gets 413 with a clear message', async () => {
    const big = JSON.stringify({ query: QUERY, texts: ['y'.repeat(1024 * 1024)] });
    const r = await invoke(s.url, big, 'application/json', 'application/json');
    assert.equal(r.status, 413);
    assert.match(JSON.parse(r.text).error, /1 MiB/);
  });

  it('custom attributes change the response: raw_scores, top_n, and they are echoed back', async () => {
    const body = JSON.stringify({ query: QUERY, texts: DOCS });
    const plain = JSON.parse((await invoke(s.url, body, 'application/json; charset=utf-8', 'application/json')).text) as Array<{ score: number }>;
    const r = await fetch(`${s.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Amzn-SageMaker-Custom-Attributes': 'raw_scores=true;top_n=2', 'X-Amzn-SageMaker-Inference-Id': 'inf-123', 'X-Unknown-Header': 'ignored' }, body });
    const custom = (await r.json()) as Array<{ score: number }>;
    assert.equal(custom.length, 2);
    assert.equal(plain.length, 4);
    assert.ok(Math.abs(1 / (1 + Math.exp(-custom[0]!.score)) - plain[0]!.score) < 1e-9, 'logit of the same best document');
    assert.equal(r.headers.get('x-amzn-sagemaker-custom-attributes'), 'raw_scores=true;top_n=2');
    await new Promise((x) => setTimeout(x, 50));
    assert.ok(s.logs.some((l) => l.includes('"inference_id":"inf-123"')), 'the inference id is in the request log line');
  });
});

describe('BATCH_STRICT and shutdown', () => {
  it('BATCH_STRICT=true fails the request on the first bad record, naming it', async () => {
    const s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), BATCH_STRICT: 'true' } });
    try {
      const lines = [JSON.stringify({ query: QUERY, texts: DOCS }), '{"nope": 1}'].join('\n');
      const r = await invoke(s.url, lines, 'application/jsonlines', 'application/jsonlines');
      assert.equal(r.status, 422);
      assert.match(JSON.parse(r.text).error, /^record 2: /);
    } finally {
      await s.stop();
    }
  });

  it('REQUEST_TIMEOUT answers a slow request with 504 Timeout and drops its queued pairs; the server stays healthy', async () => {
    const dir = await ensureModel({ preset: 'minilm-l2' });
    const s = await startServer({ env: { MODEL_DIR: dir, MAX_PAYLOAD_MB: '20', REQUEST_TIMEOUT: '0.5' } });
    try {
      const texts = Array.from({ length: 200 }, (_, i) => `document ${i} ` + 'lorem ipsum dolor sit amet consectetur '.repeat(40));
      const t0 = Date.now();
      const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts });
      assert.equal(r.status, 504, r.text.slice(0, 200));
      assert.equal(r.json.error_type, 'Timeout');
      assert.match(r.json.error, /REQUEST_TIMEOUT=0.5s/);
      assert.ok(Date.now() - t0 < 5000, 'answered near the deadline, not after all the work');
      assert.equal((await fetch(`${s.url}/ping`)).status, 200);
      // Batches already inside the engine finish; the rest of the request's pairs were dropped,
      // so a small request is served again once those few batches are done.
      let ok = await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS });
      for (let i = 0; i < 20 && ok.status === 504; i++) {
        await new Promise((x) => setTimeout(x, 500));
        ok = await postJson(`${s.url}/rerank`, { query: QUERY, texts: DOCS });
      }
      assert.equal(ok.status, 200);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      const pairsRun = Number(/reranker_batch_pairs_sum (\d+)/.exec(metrics)?.[1]);
      assert.ok(pairsRun < texts.length, `only ${pairsRun} of ${texts.length} pairs of the timed-out request were run`);
    } finally {
      await s.stop();
    }
  });

  it('SIGTERM during a slow request: it finishes, /ping says 503 while draining, and the process exits 0', async () => {
    const dir = await ensureModel({ preset: 'minilm-l2' });
    // A drain window wide enough for a loaded CI machine (the default 25 s was not always).
    const s = await startServer({ command: SERVE, env: { MODEL_DIR: dir, MAX_PAYLOAD_MB: '20', SHUTDOWN_TIMEOUT: '180' } });
    const texts = Array.from({ length: 80 }, (_, i) => `document ${i} ` + 'lorem ipsum dolor sit amet consectetur '.repeat(40));
    const slow = postJson(`${s.url}/rerank`, { query: QUERY, texts });
    // SIGTERM once the server holds the request (its pairs admitted), not after a fixed wait: on a
    // loaded machine 400 ms was not always enough to upload 250 KB, and a connection whose request
    // the server has not read yet is idle to it (closed on drain, as it should be).
    await waitFor('the slow request admitted', async () => (await metric(s.url, 'reranker_pairs_in_flight')) > 0, 30_000);
    s.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    const ping = await fetch(`${s.url}/ping`).then((r) => r.status, () => 'refused');
    const res = await slow;
    const code = await s.exited;
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.equal((res.json as unknown[]).length, texts.length);
    assert.equal(ping, 503);
    assert.equal(code, 0);
    assert.ok(s.logs.some((l) => l.includes('SIGTERM received')));
  });
});
