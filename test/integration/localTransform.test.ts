/**
 * A batch transform job run locally against s3rver and two real server processes (two
 * "instances"): the job lists the input prefix, spreads the objects over both servers, packs
 * MultiRecord mini-batches under MaxPayloadInMB (a 1.2 MB object needs two), takes the per-server
 * concurrency from /execution-parameters, joins each answer to its input record and keeps only the
 * id and the scores (JoinSource=Input with InputFilter and OutputFilter), and writes .out files.
 * Each output score must equal what a direct request for that record returns; each server's own
 * /metrics must show the requests it served. Also: `invoke --endpoint-url` against a real server.
 */
import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { after, before, describe, it } from 'node:test';
import { metric, sampleValue, scrape } from '../helpers/metrics';
import { ensureModel } from '../helpers/models';
import { runScriptAsync } from '../helpers/sagemakerScripts';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver';
import { postJson, startServer, type TestServer } from '../helpers/server';

interface Rec {
  id: string;
  query: string;
  texts: string[];
}

const words = ['panda', 'bamboo', 'river', 'capital', 'mountain', 'France', 'bear', 'forest', 'city', 'tea'];
const sentence = (i: number, n: number): string => Array.from({ length: n }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ');

function records(prefix: string, n: number, textWords: number, texts = 2): Rec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, query: `where does the ${words[i % words.length]} live?`, texts: Array.from({ length: texts }, (_, t) => sentence(i + t, textWords)) }));
}

describe('local-transform: a two-instance batch transform job against s3rver', () => {
  let s3: S3rverHandle;
  const servers: TestServer[] = [];
  const input: Record<string, Rec[]> = {
    'in/a/small1.jsonl': records('s1', 5, 12),
    'in/a/small2.jsonl': records('s2', 3, 8, 3),
    // About 1.2 MB: above one MB, so MaxPayloadInMB=1 needs two mini-batches for it.
    'in/big.jsonl': records('big', 600, 330, 1),
  };

  before(async () => {
    const dir = await ensureModel({ preset: 'demo' });
    s3 = await startS3rver({ buckets: ['jobs'] });
    for (const [key, recs] of Object.entries(input)) {
      await s3.client.send(new PutObjectCommand({ Bucket: 'jobs', Key: key, Body: recs.map((r) => JSON.stringify(r)).join('\n') + '\n' }));
    }
    await s3.client.send(new PutObjectCommand({ Bucket: 'jobs', Key: 'other/not-input.jsonl', Body: '{"id":"x"}\n' }));
    const env = { MODEL_DIR: dir, SAGEMAKER_BATCH: 'true', SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '2', SAGEMAKER_MAX_PAYLOAD_IN_MB: '6' };
    servers.push(...(await Promise.all([startServer({ env }), startServer({ env })])));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await s3?.dispose();
  });

  const jobArgs = (): string[] => [
    '--input', 's3://jobs/in/',
    '--output', 's3://jobs/out/',
    '--endpoint', servers[0]!.url,
    '--endpoint', servers[1]!.url,
    '--max-payload-mb', '1',
    '--input-filter', '$["query","texts"]',
    '--join-source', 'Input',
    '--output-filter', '$["id","SageMakerOutput"]',
    '--s3-endpoint-url', s3.endpoint,
  ];
  const S3_KEYS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

  it('--dry-run prints the plan and sends nothing to the servers or to S3', async () => {
    const r = await runScriptAsync('local-transform', [...jobArgs(), '--dry-run'], S3_KEYS);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual(summary.plan.map((p: { input: string; endpoint: string }) => [p.input, p.endpoint]), [
      ['s3://jobs/in/a/small1.jsonl', servers[0]!.url],
      ['s3://jobs/in/a/small2.jsonl', servers[1]!.url],
      ['s3://jobs/in/big.jsonl', servers[0]!.url],
    ]);
    const big = summary.plan[2].miniBatches as Array<{ records: number; bytes: number }>;
    assert.ok(big.length >= 2 && big.every((b) => b.bytes <= 1024 * 1024), JSON.stringify(big));
    assert.equal(big.reduce((n, b) => n + b.records, 0), 600);
    // No scoring request reached either server (the counter has no sample before its first one).
    for (const s of servers) assert.equal(sampleValue((await scrape(s.url)).samples, 'reranker_requests_total', { route: '/invocations' }) ?? 0, 0);
    assert.equal((await s3.client.send(new ListObjectsV2Command({ Bucket: 'jobs', Prefix: 'out/' }))).KeyCount, 0);
  });

  it('writes one joined, filtered line per record to OBJECT.out, with the scores a direct request gives', async () => {
    const r = await runScriptAsync('local-transform', jobArgs(), S3_KEYS);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.objects, 3);
    assert.equal(summary.records, 608);
    assert.equal(summary.maxConcurrentTransforms, 2, 'from /execution-parameters');
    assert.equal(summary.batchStrategy, 'MultiRecord');
    assert.deepEqual(summary.outputs, ['s3://jobs/out/a/small1.jsonl.out', 's3://jobs/out/a/small2.jsonl.out', 's3://jobs/out/big.jsonl.out']);
    const [a, b] = servers.map((s) => summary.perEndpoint[s.url]);
    assert.deepEqual([a.objects, b.objects], [2, 1], 'objects spread by key: 0 and 2 to the first, 1 to the second');
    assert.ok(a.requests >= 3, `the 1.2 MB object took ${a.requests - 1} requests`);
    for (const s of [a, b]) assert.ok(s.largestRequestBytes <= 1024 * 1024, `${s.largestRequestBytes} bytes in one request`);

    // Each server counted the requests it served: both "instances" worked.
    for (const [i, s] of servers.entries()) assert.equal(await metric(s.url, 'reranker_requests_total', { route: '/invocations' }), [a, b][i].requests);

    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'jobs', Prefix: 'out/' }));
    assert.equal(listed.KeyCount, 3);
    for (const [key, recs] of Object.entries(input)) {
      const out = await (await s3.client.send(new GetObjectCommand({ Bucket: 'jobs', Key: `out/${key.slice(3)}.out` }))).Body!.transformToString();
      const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; SageMakerOutput: unknown });
      assert.deepEqual(lines.map((l) => l.id), recs.map((x) => x.id), `${key}: ids in input order`);
      assert.deepEqual(Object.keys(lines[0]!).sort(), ['SageMakerOutput', 'id']);
      // Fidelity: the same record sent alone gives the same answer.
      for (const i of [0, recs.length - 1]) {
        const direct = await postJson(`${servers[1]!.url}/invocations`, { query: recs[i]!.query, texts: recs[i]!.texts });
        assert.equal(direct.status, 200);
        const got = JSON.stringify(lines[i]!.SageMakerOutput, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(5)) : v));
        const want = JSON.stringify(direct.json, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(5)) : v));
        assert.equal(got, want, `${key} record ${i}`);
      }
    }
  });

  it('fails the job naming the object when a record is above MaxPayloadInMB', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: 'jobs', Key: 'huge/one.jsonl', Body: JSON.stringify({ id: 'h', query: 'q', texts: ['x '.repeat(600_000)] }) + '\n' }));
    const r = await runScriptAsync('local-transform', ['--input', 's3://jobs/huge/', '--output', 's3://jobs/huge-out/', '--endpoint', servers[0]!.url, '--max-payload-mb', '1', '--s3-endpoint-url', s3.endpoint], { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /s3:\/\/jobs\/huge\/one\.jsonl: record 1 is \d+ bytes, above MaxPayloadInMB/);
  });

  it('invoke --endpoint-url calls a local server through the SageMaker Runtime SDK with no AWS account', async () => {
    const r = await runScriptAsync('invoke', ['--endpoint-name', 'local', '--endpoint-url', servers[0]!.url, '--query', 'where does the panda live?', '--text', 'panda bamboo forest', '--text', 'capital city']);
    assert.equal(r.status, 0, r.stderr);
    const direct = await postJson(`${servers[0]!.url}/invocations`, { query: 'where does the panda live?', texts: ['panda bamboo forest', 'capital city'] });
    assert.deepEqual(JSON.parse(r.stdout), direct.json);
  });
});
