/**
 * Faults against the real server, without mocks:
 * - a session that throws: a model whose word-embedding table is smaller than its tokenizer's
 *   vocabulary (a real export mistake) fails in ONNX Runtime's Gather for texts with higher token
 *   ids; that request gets a 424, the next ones are served.
 * - a worker that dies: FAULT_INJECTION=worker-exit:FILE makes the inference worker call
 *   process.exit inside its thread (one crash per file, or a crash loop while the file says
 *   `always`); in-flight requests get 424/503 (never a hang or a 500), the worker is restarted and
 *   counted, /ping is 503 while none is alive and 200 after, and scores come back identical;
 *   a crash loop backs off and ends unhealthy with one log line instead of looping.
 * - corrupt model files at start-up: exit code 1 and one 'start-up failed' line naming the file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyToTemp, ensureModel } from '../helpers/models';
import { metric } from '../helpers/metrics';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'warm up the engine';
const TEXTS = Array.from({ length: 8 }, (_, i) => `document ${i} about warm weather and ${'engines '.repeat(i + 1)}`);
type Ranked = Array<{ index: number; score: number }>;

async function ping(s: TestServer): Promise<{ status: number; body: string }> {
  const r = await fetch(`${s.url}/ping`);
  return { status: r.status, body: await r.text() };
}

/** Polls until pred holds; the test's own timeout bounds it. */
async function until<T>(probe: () => Promise<T>, pred: (v: T) => boolean, everyMs = 20): Promise<T> {
  for (;;) {
    const v = await probe();
    if (pred(v)) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const waitLog = (s: TestServer, re: RegExp): Promise<string> =>
  until(
    async () => s.logs.find((l) => re.test(l)),
    (l) => l !== undefined,
  ) as Promise<string>;

describe('a session that throws for some inputs', () => {
  let s: TestServer;
  before(async () => {
    // 5000 rows: "warm", "up" and the special tokens fit (the warm-up passes); "gunners" (29000) does not.
    const dir = await ensureModel({ preset: 'tiny', vocabSize: 5000 });
    s = await startServer({ env: { MODEL_DIR: dir, INFERENCE_WORKERS: '1' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('answers that request with a 424 Backend error; the server stays healthy and serves the next one', async () => {
    const good = { query: 'warm up', texts: ['warm up', 'up'] };
    const before = await postJson(`${s.url}/rerank`, good);
    assert.equal(before.status, 200, before.text);
    const bad = await postJson(`${s.url}/rerank`, { query: 'warm up', texts: ['the gunners warm up'] });
    assert.equal(bad.status, 424, bad.text);
    assert.equal(bad.json.error_type, 'Backend');
    assert.match(bad.json.error, /the model failed on this batch: .*Gather.*out of data bounds/);
    assert.equal((await ping(s)).status, 200);
    const again = await postJson(`${s.url}/rerank`, good);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, before.json);
    assert.equal(await metric(s.url, 'reranker_inference_worker_restarts_total'), 0);
  });

  it('fails only the request with the bad input when it shares batches with other requests', async () => {
    const good = { query: 'warm up', texts: ['warm up', 'up'] };
    const alone = await postJson(`${s.url}/rerank`, good);
    // A long request keeps the one worker busy so the others queue up and are batched with its pairs.
    const busy = { query: 'warm up', texts: Array.from({ length: 300 }, (_, i) => `warm up ${'up '.repeat(i % 7)}`) };
    const [big, bad, small] = await Promise.all([
      postJson(`${s.url}/rerank`, busy),
      postJson(`${s.url}/rerank`, { query: 'warm up', texts: ['warm up', 'the gunners warm up', 'up'] }),
      postJson(`${s.url}/rerank`, good),
    ]);
    assert.equal(bad.status, 424, bad.text);
    assert.equal(big.status, 200, big.text);
    assert.equal((big.json as Ranked).length, 300);
    assert.equal(small.status, 200, small.text);
    assert.deepEqual(small.json, alone.json);
  });
});

describe('an inference worker that dies', () => {
  let s: TestServer;
  let tmp: string;
  let crashFile: string;
  let baseline: Ranked;
  const rerank = (): ReturnType<typeof postJson> => postJson(`${s.url}/rerank`, { query: QUERY, texts: TEXTS });

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reranker-faults-'));
    crashFile = path.join(tmp, 'crash');
    const dir = await ensureModel({ preset: 'tiny' });
    s = await startServer({ env: { MODEL_DIR: dir, INFERENCE_WORKERS: '1', FAULT_INJECTION: `worker-exit:${crashFile}` } });
    const r = await rerank();
    assert.equal(r.status, 200, r.text);
    baseline = r.json as Ranked;
  });
  after(async () => {
    await s?.stop();
    if (process.env.FAULTS_DEBUG) fs.writeFileSync(process.env.FAULTS_DEBUG, s.logs.join('\n'));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('fails the in-flight requests with 424/503 (no hang, no 500), restarts the worker, then scores as before', async () => {
    fs.writeFileSync(crashFile, 'once');
    const results = await Promise.all(Array.from({ length: 4 }, () => rerank()));
    for (const r of results) {
      assert.ok([200, 424, 503].includes(r.status), `status ${r.status}: ${r.text}`);
      if (r.status === 200) assert.deepEqual(r.json, baseline);
    }
    const backend = results.filter((r) => r.status === 424);
    assert.ok(backend.length >= 1, `the request whose batch was running gets a 424: ${results.map((r) => r.status).join(',')}`);
    for (const r of backend) {
      assert.equal(r.json.error_type, 'Backend');
      assert.match(r.json.error, /inference worker running this batch exited \(code 70\); it is being restarted and the request can be retried/);
    }
    for (const r of results.filter((x) => x.status === 503)) assert.match(r.json.error, /no inference worker is running.*restart/);
    assert.equal(fs.existsSync(crashFile), false, 'the worker consumed the fault file');

    await waitLog(s, /"msg":"inference worker restarted"/);
    assert.ok(s.logs.some((l) => l.includes('"msg":"inference worker died; starting a new one"') && /exited with code 70/.test(l)), s.logs.join('\n'));
    await until(() => ping(s), (p) => p.status === 200);
    assert.equal(await metric(s.url, 'reranker_inference_worker_restarts_total'), 1);
    assert.equal(await metric(s.url, 'reranker_inference_workers_live'), 1);
    const after = await rerank();
    assert.equal(after.status, 200, after.text);
    assert.deepEqual(after.json, baseline);
  });

  it('a crash loop: /ping says 503 while no worker is alive, and 200 once a restart sticks', async () => {
    const restartsBefore = await metric(s.url, 'reranker_inference_worker_restarts_total');
    fs.writeFileSync(crashFile, 'always');
    const r = await rerank();
    assert.equal(r.status, 424, r.text);
    // Every replacement dies at start now; the back-off between them (250 ms, 500 ms, ...) leaves /ping at 503.
    const down = await until(() => ping(s), (p) => p.status === 503);
    assert.match(down.body, /"error_type":"Unhealthy"/);
    assert.match(down.body, /no inference worker is running: restarting after a crash/);
    const refused = await rerank();
    assert.equal(refused.status, 503, refused.text);
    fs.rmSync(crashFile);
    await until(() => ping(s), (p) => p.status === 200);
    assert.ok((await metric(s.url, 'reranker_inference_worker_restarts_total')) >= restartsBefore + 1);
    const back = await rerank();
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.json, baseline);
  });

  it('a crash loop that does not end: gives up after 6 crashes in a row with one clear log line, /ping stays 503', async () => {
    const restartsBefore = await metric(s.url, 'reranker_inference_worker_restarts_total');
    fs.writeFileSync(crashFile, 'always');
    const r = await rerank();
    assert.equal(r.status, 424, r.text);
    const line = await waitLog(s, /"msg":"inference engine unhealthy: /);
    assert.match(line, /crashed 6 times in a row without finishing a batch .*not restarting it again; replace this instance/);
    assert.equal(s.logs.filter((l) => l.includes('inference engine unhealthy')).length, 1);
    assert.equal(await metric(s.url, 'reranker_inference_worker_restarts_total'), restartsBefore + 5);
    fs.rmSync(crashFile);
    const p = await ping(s);
    assert.equal(p.status, 503);
    assert.match(p.body, /not restarting it again/);
    const refused = await rerank();
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error_type, 'Unhealthy');
    assert.equal(await metric(s.url, 'reranker_inference_worker_restarts_total'), restartsBefore + 5, 'no restarts after giving up');
  });
});

describe('corrupt model files at start-up', () => {
  let base: string;
  before(async () => {
    base = await ensureModel({ preset: 'tiny' });
  });

  const cases: Array<[string, string, (dir: string) => void, RegExp]> = [
    ['model.onnx truncated to half its size', 'model.onnx', (d) => {
      const f = path.join(d, 'model.onnx');
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
    }, /is not a readable ONNX model .*truncated or corrupt: export or download it again/],
    ['model.onnx of random bytes', 'model.onnx', (d) => {
      // A fixed pseudo-random pattern: the same bytes on every run.
      const buf = Buffer.alloc(100_000);
      let x = 12345;
      for (let i = 0; i < buf.length; i++) buf[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
      fs.writeFileSync(path.join(d, 'model.onnx'), buf);
    }, /is not a readable ONNX model .*truncated or corrupt: export or download it again/],
    ['tokenizer.json that is not JSON', 'tokenizer.json', (d) => fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"version": "1.0", "model": {'), /tokenizer\.json in .* is not valid JSON .*copy the model's original tokenizer\.json there again/],
  ];
  for (const [name, file, damage, fix] of cases) {
    it(`${name}: exit code 1 and one 'start-up failed' line that names the file and the fix`, async () => {
      const dir = copyToTemp(base);
      try {
        damage(dir);
        const s = await startServer({ env: { MODEL_DIR: dir }, waitReady: false });
        const code = await s.exited;
        assert.equal(code, 1, s.logs.join('\n'));
        const lines = s.logs.filter((l) => l.includes('start-up failed'));
        assert.equal(lines.length, 1, s.logs.join('\n'));
        assert.ok(lines[0]!.includes(path.join(dir)) && lines[0]!.includes(file), lines[0]);
        assert.match(lines[0]!, fix);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
