/**
 * Model artifacts against a real S3 HTTP server (s3rver): upload then download round trips,
 * cache reuse, precedence of sources, and the error messages users see.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as tar from 'tar-stream';
import { resolveModel } from '../../src/artifacts/resolveModel';
import { uploadModel } from '../../src/artifacts/upload';
import { loadConfig, settingsOf, type ArtifactOptions } from '../../src/config';
import { configureLog } from '../../src/log';
import { makeFakeModel, s3rverClient, sha256Tree, removeTempDirs, startS3rver, tempDir, type S3rverHandle } from '../helpers/s3rver';

let s3: S3rverHandle;
const tmp = tempDir;

before(async () => {
  configureLog('error');
  s3 = await startS3rver({ buckets: ['models'] });
});
after(async () => {
  await s3.dispose();
  removeTempDirs();
});

/** The artifacts part's own settings, as the server gives them. */
function config(uri: string | undefined, env: Record<string, string> = {}): ArtifactOptions {
  return settingsOf(loadConfig({
    ...(uri ? { MODEL_URI: uri } : {}),
    SM_MODEL_DIR: tmp('sm-empty-'),
    MODEL_CACHE_DIR: tmp('cache-'),
    DEMO_MODEL_DIR: path.join(os.tmpdir(), 'no-demo-here'),
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    // small parts so a few MB exercise ranged, parallel GETs and multipart uploads
    S3_MULTIPART_THRESHOLD_MB: '1',
    S3_PART_SIZE_MB: '5',
    ...env,
  })).artifacts;
}

const objectGets = (bucket: string, prefix: string): number =>
  s3.requests.filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.url.startsWith(`/${bucket}/${prefix}`) && !r.url.includes('list-type')).length;

test('prefix round trip: upload a folder, download it by MODEL_URI, every file identical', async () => {
  const model = makeFakeModel({ onnxBytes: 12 * 1024 * 1024, extra: { 'onnx/model_quantized.onnx': 700_000, 'sub/dir/vocab.txt': 1000, 'empty.txt': 0 } });
  const cfg = config(undefined);
  const up = await uploadModel(model, 's3://models/rr', { tar: false, client: s3.client, s3: cfg.s3 });
  assert.deepEqual(up, { uri: 's3://models/rr/', files: 6, bytes: Object.keys(sha256Tree(model)).reduce((a, f) => a + fs.statSync(path.join(model, f)).size, 0) });

  const phases: string[] = [];
  const r = await resolveModel(config(up.uri), { s3Client: s3.client, onPhase: (p) => phases.push(p) });
  assert.equal(r.source, 's3');
  assert.equal(r.uri, 's3://models/rr/');
  assert.match(r.reason, /MODEL_URI is set .* holds no model; downloaded 12\.\d MB/);
  assert.deepEqual(sha256Tree(r.dir), sha256Tree(model));
  assert.deepEqual(phases, ['listing', 'downloading']);
  const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(r.dir), 'manifest.json'), 'utf8'));
  assert.equal(manifest.verified['rr/onnx/model.onnx'], 'MD5 (ETag)');
  assert.ok(!fs.existsSync(path.join(path.dirname(r.dir), 'partial')), 'the temp folder is gone once renamed into place');
});

test('tar.gz round trip: files at the archive root; and a tarball with one top-level folder', async () => {
  const model = makeFakeModel({ onnxBytes: 6 * 1024 * 1024, extra: { 'special_tokens_map.json': 100 } });
  const up = await uploadModel(model, 's3://models/tarred/', { tar: true, client: s3.client, s3: config(undefined).s3 });
  assert.equal(up.uri, 's3://models/tarred/model.tar.gz');
  const r = await resolveModel(config(up.uri), { s3Client: s3.client });
  assert.deepEqual(sha256Tree(r.dir), sha256Tree(model));

  // tar czf model.tar.gz my-model/  (the layout SageMaker does not expect, but users upload)
  const pack = tar.pack();
  for (const rel of Object.keys(sha256Tree(model))) {
    pack.entry({ name: `my-model/${rel}` }, fs.readFileSync(path.join(model, rel)));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'nested/model.tar.gz', Body: zlib.gzipSync(Buffer.concat(chunks)) }));
  const nested = await resolveModel(config('s3://models/nested/model.tar.gz'), { s3Client: s3.client });
  assert.equal(path.basename(nested.dir), 'model');
  assert.deepEqual(sha256Tree(nested.dir), sha256Tree(model));
});

test('restart with the same artifacts reuses the cache without fetching any object', async () => {
  const model = makeFakeModel({ onnxBytes: 2 * 1024 * 1024 });
  await uploadModel(model, 's3://models/cached/', { tar: false, client: s3.client, s3: config(undefined).s3 });
  const cfg = config('s3://models/cached/');
  const first = await resolveModel(cfg, { s3Client: s3.client });
  const manifestPath = path.join(path.dirname(first.dir), 'manifest.json');
  const mtimes = (): number[] => [manifestPath, path.join(first.dir, 'onnx/model.onnx')].map((p) => fs.statSync(p).mtimeMs);
  const before1 = mtimes();
  const gets = objectGets('models', 'cached/');
  const phases: string[] = [];
  const second = await resolveModel(cfg, { s3Client: s3.client, onPhase: (p) => phases.push(p) });
  assert.equal(second.dir, first.dir);
  assert.match(second.reason, /the cached copy matches S3/);
  assert.deepEqual(phases, ['listing', 'cached']);
  assert.equal(objectGets('models', 'cached/'), gets, 'only the listing, no GetObject or HeadObject');
  assert.deepEqual(mtimes(), before1);

  // a damaged cache (file cut short) is noticed and fetched again
  fs.truncateSync(path.join(first.dir, 'onnx/model.onnx'), 1000);
  const third = await resolveModel(cfg, { s3Client: s3.client });
  assert.ok(objectGets('models', 'cached/') > gets);
  assert.deepEqual(sha256Tree(third.dir), sha256Tree(model));

  // S3 unreachable, cache complete: serve the cached copy
  const dead = s3rverClient('http://127.0.0.1:9');
  const offline = await resolveModel(cfg, { s3Client: dead });
  assert.equal(offline.dir, first.dir);
});

test('precedence: MODEL_DIR, then a model in /opt/ml/model, then MODEL_URI, then the demo', async () => {
  const local = makeFakeModel({ onnxBytes: 10 });
  const sm = makeFakeModel({ onnxBytes: 10 });
  const gets = s3.requests.length;
  const a = await resolveModel(config('s3://models/none/', { MODEL_DIR: local, SM_MODEL_DIR: sm }), { s3Client: s3.client });
  assert.deepEqual([a.source, a.dir], ['model_dir', local]);
  assert.match(a.reason, /MODEL_DIR is set; MODEL_URI=s3:\/\/models\/none\/ is not used/);
  const b = await resolveModel(config('s3://models/none/', { SM_MODEL_DIR: sm }), { s3Client: s3.client });
  assert.deepEqual([b.source, b.dir], ['sagemaker', sm]);
  assert.equal(s3.requests.length, gets, 'S3 is not contacted when the model is already there (network isolation)');
  await assert.rejects(resolveModel(config(undefined, { MODEL_DIR: tmp('nomodel-') })), /MODEL_DIR=.* holds no model/);
  // A MODEL_DIR that is not there is named as such, not as "holds no model".
  await assert.rejects(resolveModel(config(undefined, { MODEL_DIR: path.join(local, 'no-such-folder') })), /MODEL_DIR=.*no-such-folder does not exist\. Fix MODEL_DIR/);
  const demo = await resolveModel(config(undefined, { DEMO_MODEL_DIR: local }));
  assert.equal(demo.source, 'demo');
  await assert.rejects(resolveModel(config(undefined)), /no model to serve: set MODEL_URI/);

  // SageMaker laid out a prefix that holds only model.tar.gz: it is extracted into the cache
  const smTar = tmp('sm-tar-');
  const up = await uploadModel(local, 's3://models/smtar/', { tar: true, client: s3.client, s3: config(undefined).s3 });
  const tarball = fs.readFileSync(s3.objectPath('models', new URL(up.uri).pathname.slice(1)));
  fs.writeFileSync(path.join(smTar, 'model.tar.gz'), tarball);
  const c = await resolveModel(config(undefined, { SM_MODEL_DIR: smTar }));
  assert.equal(c.source, 'sagemaker');
  assert.deepEqual(sha256Tree(c.dir), sha256Tree(local));
  // ... and the same when MODEL_URI names a prefix that holds only model.tar.gz
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'only-tar/model.tar.gz', Body: tarball }));
  const d = await resolveModel(config('s3://models/only-tar/'), { s3Client: s3.client });
  assert.deepEqual(sha256Tree(d.dir), sha256Tree(local));
});

test('error messages: wrong credentials, missing key, missing bucket, empty prefix, not a model', async () => {
  const wrong = s3rverClient(s3.endpoint, { accessKeyId: 'WRONG', secretAccessKey: 'nope' });
  await assert.rejects(resolveModel(config('s3://models/rr/'), { s3Client: wrong }), (e: Error) => {
    assert.match(e.message, /HTTP 403 InvalidAccessKeyId/);
    assert.match(e.message, /AWS_ACCESS_KEY_ID/);
    assert.doesNotMatch(e.message, /WRONG|nope/, 'credentials never appear');
    return true;
  });
  await assert.rejects(resolveModel(config('s3://models/missing/model.tar.gz'), { s3Client: s3.client }), /S3 object does not exist: HeadObject s3:\/\/models\/missing\/model\.tar\.gz/);
  await assert.rejects(resolveModel(config('s3://no-such-bucket/model.tar.gz'), { s3Client: s3.client }), /S3 bucket "no-such-bucket" does not exist/);
  await assert.rejects(resolveModel(config('s3://no-such-bucket/m/'), { s3Client: s3.client }), /S3 bucket "no-such-bucket" does not exist: ListObjectsV2/);
  await assert.rejects(resolveModel(config('s3://models/empty/'), { s3Client: s3.client }), /no objects under s3:\/\/models\/empty\/ .*reranker upload/);
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'notes/readme.txt', Body: 'hello' }));
  await assert.rejects(resolveModel(config('s3://models/notes/'), { s3Client: s3.client }), /s3:\/\/models\/notes\/ \(downloaded to .*\) does not hold a model: missing tokenizer\.json and an \.onnx file \(at the root or in onnx\//);
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'bad/model.tar.gz', Body: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7]) }));
  await assert.rejects(resolveModel(config('s3://models/bad/model.tar.gz'), { s3Client: s3.client }), /archive model\.tar\.gz is not a valid gzip stream/);
  const dead = s3rverClient('http://127.0.0.1:9');
  await assert.rejects(resolveModel(config('s3://models/rr/', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }), { s3Client: dead }), /cannot reach S3: ListObjectsV2 s3:\/\/models\/rr\/ \(ECONNREFUSED, endpoint http:\/\/127\.0\.0\.1:9\)/);
});
