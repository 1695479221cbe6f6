/**
 * CloudWatch EMF and OpenTelemetry against the real server:
 * - METRICS_EMF=true: stdout stays one JSON object per line (pino's lines and EMF lines never
 *   interleave), every EMF line satisfies the specification, carries the SageMaker dimensions, and
 *   counts exactly the pairs and failures the test sent.
 * - OTEL_EXPORTER_OTLP_ENDPOINT: the real OTel SDK exports to an OTLP/HTTP receiver in this test,
 *   which decodes the JSON payload: the S3 model download at start-up, the request span with the
 *   SageMaker inference id and the caller's trace id, its tokenize / queue wait / inference
 *   children, and inference batch spans.
 * - Unset: neither the OTel SDK nor its exporter is loaded.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { emfProblems } from '../helpers/emfSpec';
import { ensureModel } from '../helpers/models';
import { CLI, ROOT } from '../helpers/paths';
import { removeTempDirs, startS3rver } from '../helpers/s3rver';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'what is a panda?';
const TEXTS = ['The giant panda is a bear native to China.', 'Paris is the capital of France.', 'Pandas eat bamboo.'];

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('CloudWatch EMF lines on stdout', () => {
  let server: TestServer | undefined;
  after(async () => void (await server?.stop()));

  it('are valid EMF, never interleave with log lines, and count what was sent', async () => {
    const dir = await ensureModel({ preset: 'demo' });
    server = await startServer({ env: { MODEL_DIR: dir, METRICS_EMF: 'true', METRICS_EMF_INTERVAL: '0.25', ENDPOINT_NAME: 'rerank-test', VARIANT_NAME: 'AllTraffic', LOG_LEVEL: 'info' } });
    const s = server;
    for (let i = 0; i < 5; i++) assert.equal((await postJson(`${s.url}/invocations`, { query: QUERY, texts: TEXTS }, { 'x-amzn-sagemaker-inference-id': `id-${i}` })).status, 200);
    assert.equal((await postJson(`${s.url}/invocations`, { query: QUERY, texts: [] })).status >= 400, true);
    assert.equal((await postJson(`${s.url}/invocations`, '{"query": ')).status >= 400, true);
    // Wait until two lines after the traffic have been written (the second shows nothing twice).
    const mark = s.stdout.length;
    await waitFor('two EMF lines after the requests', () => (s.stdout.slice(mark).filter((l) => l.includes('"_aws"')).length >= 2 ? true : undefined));
    assert.equal(await s.stop(), 0);

    const emf: Array<Record<string, any>> = [];
    for (const line of s.stdout) {
      assert.doesNotThrow(() => JSON.parse(line), `stdout line is not one JSON object: ${line.slice(0, 200)}`);
      if (!line.includes('"_aws"')) continue;
      assert.deepEqual(emfProblems(line), [], line);
      assert.ok(Buffer.byteLength(line) < 4096, `EMF line of ${Buffer.byteLength(line)} bytes`);
      emf.push(JSON.parse(line));
    }
    assert.ok(emf.length >= 3, `${emf.length} EMF lines`);
    const directive = emf[0]!._aws.CloudWatchMetrics[0];
    assert.equal(directive.Namespace, 'SageMakerReranker');
    assert.deepEqual(directive.Dimensions, [['EndpointName', 'VariantName', 'Model']]);
    assert.equal(emf[0]!.EndpointName, 'rerank-test');
    assert.equal(emf[0]!.VariantName, 'AllTraffic');
    assert.equal(emf[0]!.Model, path.basename(dir));
    const total = (name: string): number => emf.reduce((n, d) => n + (typeof d[name] === 'number' ? d[name] : 0), 0);
    // Lines start when the model is ready: warm-up batches are not counted, the requests are.
    assert.equal(total('PairsScored'), 5 * TEXTS.length);
    assert.equal(total('RequestsSucceeded'), 5);
    assert.equal(total('RequestsFailedValidation'), 2);
    assert.equal(total('RequestsFailed'), 2);
    const busy = emf.find((d) => d.PairsScored > 0)!;
    for (const m of ['PairsPerSecond', 'PaddingEfficiency', 'BatchFill', 'InferenceLatencyP50', 'InferenceLatencyP99', 'RequestLatencyP99', 'QueuedPairs', 'PairsInFlight']) assert.equal(typeof busy[m], 'number', m);
    assert.ok(busy.PaddingEfficiency > 0 && busy.PaddingEfficiency <= 100);
    assert.equal(emf.at(-1)!.QueuedPairs, 0);
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** An OTLP/HTTP receiver: POST /v1/traces with the JSON encoding; keeps the decoded spans. */
async function otlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; resources: unknown[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const resources: unknown[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      assert.equal(req.url, '/v1/traces');
      assert.match(String(req.headers['content-type']), /application\/json/);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of body.resourceSpans) {
        resources.push(rs.resource);
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, spans, resources, close: () => new Promise((r) => server.close(() => r())) };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

describe('OpenTelemetry tracing', () => {
  after(removeTempDirs);

  it('exports start-up, request, stage and batch spans over OTLP/HTTP with the inference id', async () => {
    const dir = await ensureModel({ preset: 'demo' });
    const s3 = await startS3rver({ buckets: ['models'] });
    const receiver = await otlpReceiver();
    let server: TestServer | undefined;
    try {
      const up = spawn(process.execPath, [CLI, 'upload', dir, 's3://models/demo/'], { env: { PATH: process.env.PATH ?? '', AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' } });
      assert.equal((await once(up, 'exit'))[0], 0);
      server = await startServer({
        env: {
          MODEL_URI: 's3://models/demo/',
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_REGION: 'us-east-1',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_SERVICE_NAME: 'reranker-under-test',
          OTEL_BSP_SCHEDULE_DELAY: '100',
        },
      });
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const r = await postJson(`${server.url}/invocations`, { query: QUERY, texts: TEXTS }, { 'x-amzn-sagemaker-inference-id': 'inf-42', traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      assert.equal(r.status, 200);
      const request = await waitFor('the request span', () => receiver.spans.find((x) => x.name === 'POST /invocations'));
      assert.equal(request.traceId, traceId, 'the caller’s trace continues');
      assert.equal(request.parentSpanId, '00f067aa0ba902b7');
      assert.equal(attr(request, 'sagemaker.inference_id'), 'inf-42');
      assert.equal(attr(request, 'http.response.status_code'), 200);
      assert.equal(attr(request, 'reranker.pairs'), TEXTS.length);
      const children = await waitFor('three stage spans', () => {
        const c = receiver.spans.filter((x) => x.parentSpanId === request.spanId);
        return c.length >= 3 ? c : undefined;
      });
      assert.deepEqual(children.map((c) => c.name).sort(), ['inference', 'queue wait', 'tokenize']);
      const ns = (v: string): bigint => BigInt(v);
      for (const c of children) {
        assert.equal(c.traceId, traceId);
        assert.equal(attr(c, 'sagemaker.inference_id'), 'inf-42');
        assert.ok(ns(c.startTimeUnixNano) >= ns(request.startTimeUnixNano) && ns(c.endTimeUnixNano) <= ns(request.endTimeUnixNano), `${c.name} lies inside the request`);
      }
      const resolve = receiver.spans.find((x) => x.name === 'model resolve');
      assert.ok(resolve, 'start-up span');
      assert.equal(attr(resolve, 'model.source'), 's3');
      assert.equal(attr(resolve, 'model.uri'), 's3://models/demo/');
      const batch = await waitFor('an inference batch span', () => receiver.spans.find((x) => x.name === 'inference batch' && attr(x, 'reranker.batch.pairs') === TEXTS.length));
      assert.ok(Number(attr(batch, 'reranker.batch.real_tokens')) > 0);
      assert.match(JSON.stringify(receiver.resources[0]), /reranker-under-test/);
      // /ping is not traced.
      assert.ok(!receiver.spans.some((x) => x.name.includes('/ping')));
    } finally {
      await server?.stop();
      await receiver.close();
      await s3.dispose();
    }
  });

  it('loads no @opentelemetry module when OTEL_EXPORTER_OTLP_ENDPOINT is unset, and the SDK when set', () => {
    const probe = (env: Record<string, string>): string[] => {
      const script = `
        const { loadConfig, settingsOf } = require(${JSON.stringify(path.join(ROOT, 'dist/src/config.js'))});
        const { startObservability } = require(${JSON.stringify(path.join(ROOT, 'dist/src/observability.js'))});
        const { ServerState } = require(${JSON.stringify(path.join(ROOT, 'dist/src/http/state.js'))});
        require(${JSON.stringify(path.join(ROOT, 'dist/src/main.js'))});
        const o = startObservability(settingsOf(loadConfig(process.env)).observability, new ServerState(), 'test');
        const loaded = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry')).map((k) => k.split('@opentelemetry/')[1].split('/')[0]);
        process.stdout.write(JSON.stringify([...new Set(loaded)]) + '\\n');
        o.stop().then(() => process.exit(0));`;
      const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env }, encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[];
    };
    // prom-client itself requires @opentelemetry/api when it is installed (optional exemplars);
    // the SDK, the exporter and their dependencies must stay unloaded.
    assert.deepEqual(probe({}).filter((m) => m !== 'api'), []);
    const on = probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    for (const m of ['api', 'sdk-trace-base', 'exporter-trace-otlp-http']) assert.ok(on.includes(m), `${m} loaded: ${on.join(', ')}`);
  });
});
